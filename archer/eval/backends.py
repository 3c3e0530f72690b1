"""Generation backends behind one small interface.

    backend = make_backend("vllm" | "transformers", model_dir, **options)
    texts = backend.generate(prompt_ids, n, params, seeds)   # list (per prompt) of n response strings
    backend.close()

Prompts are token-id lists (the chat template is applied, and tokenized without adding special tokens
again, by the caller: archer.eval.pipeline), so both backends see exactly the same input. Responses are
decoded without special tokens.

- ``vllm`` (default; GPU): ``vllm.LLM`` + one ``SamplingParams(n=1, temperature, top_p, max_tokens,
  seed)`` per *sample*, built by ``archer.eval.requests.build_requests`` (each sample its own seed; greedy:
  one request, its text repeated). Imported lazily; the request building is tested without vLLM.
- ``transformers`` (any device): ``model.generate`` with ``do_sample``, ``num_return_sequences=n``, one
  prompt at a time, ``torch.manual_seed(seeds[i])`` before prompt i, so a problem's samples depend only
  on its seed (not on batching, sharding or resume). Slow, meant for tests and small smoke runs.

``seeds[i]`` is prompt i's ``archer.eval.requests.problem_seed``; ``max_tokens`` (optional, one per
prompt) caps prompts that would not fit the context (``archer.eval.requests.check_lengths``).
"""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from archer.eval.errors import EvalInputError

logger = logging.getLogger(__name__)

__all__ = ["SamplingConfig", "Backend", "VllmBackend", "TransformersBackend", "make_backend", "BACKENDS"]


@dataclass(frozen=True)
class SamplingConfig:
    temperature: float = 0.8
    top_p: float = 0.95
    max_tokens: int = 32768

    def __post_init__(self):
        if not self.temperature >= 0:
            raise EvalInputError(f"--temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise EvalInputError(f"--top-p must be in (0, 1], got {self.top_p}")
        if self.max_tokens < 1:
            raise EvalInputError(f"--max-tokens must be >= 1, got {self.max_tokens}")


class Backend(Protocol):
    name: str

    def generate(self, prompts: list[list[int]], n: int, params: SamplingConfig, seeds: list[int],
                 max_tokens: list[int] | None = None) -> list[list[str]]:
        ...

    def close(self) -> None:
        ...


class VllmBackend:
    """vLLM offline inference (``vllm.LLM``)."""

    name = "vllm"

    def __init__(self, model_dir: str | Path, *, tensor_parallel_size: int = 1, gpu_memory_utilization: float = 0.9,
                 max_model_len: int | None = None, dtype: str = "auto", seed: int = 0, enforce_eager: bool = False,
                 tokenizer: str | Path | None = None, show_progress: bool = True):
        self.show_progress = show_progress
        try:
            from vllm import LLM
        except ImportError as exc:
            raise EvalInputError(
                f"backend 'vllm' needs the vllm package ({exc}); install it on the GPU node (requirements.txt) "
                "or use --backend transformers"
            ) from exc
        kwargs = dict(model=str(model_dir), tensor_parallel_size=tensor_parallel_size, dtype=dtype, seed=seed,
                      gpu_memory_utilization=gpu_memory_utilization, enforce_eager=enforce_eager)
        if tokenizer is not None:
            kwargs["tokenizer"] = str(tokenizer)
        if max_model_len is not None:
            kwargs["max_model_len"] = max_model_len
        self.llm = LLM(**kwargs)

    def generate(self, prompts, n, params, seeds, max_tokens=None):
        from vllm import SamplingParams

        from archer.eval.requests import assemble, build_requests, to_vllm

        requests = build_requests(prompts, n, temperature=params.temperature, top_p=params.top_p,
                                  max_tokens=max_tokens or params.max_tokens, seeds=seeds)
        outputs = self.llm.generate([{"prompt_token_ids": r.prompt_token_ids} for r in requests],
                                    to_vllm(requests, SamplingParams), use_tqdm=self.show_progress)
        return assemble(requests, [out.outputs[0].text for out in outputs], len(prompts), n)

    def close(self):
        del self.llm
        try:  # free the GPU for the next checkpoint (best effort; vLLM has no public teardown)
            from vllm.distributed.parallel_state import destroy_distributed_environment, destroy_model_parallel

            destroy_model_parallel()
            destroy_distributed_environment()
        except Exception as exc:  # noqa: BLE001
            logger.debug("vLLM teardown: %s", exc)
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:  # noqa: BLE001
            pass


class TransformersBackend:
    """Hugging Face ``model.generate`` on any torch device."""

    name = "transformers"

    def __init__(self, model_dir: str | Path, *, device: str = "auto", dtype: str = "auto", batch_size: int = 4,
                 tokenizer: str | Path | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        torch_dtype = "auto" if dtype == "auto" else getattr(torch, dtype, None)
        if torch_dtype is None:
            raise EvalInputError(f"--dtype {dtype!r} is not a torch dtype (e.g. auto, float32, bfloat16)")
        if batch_size < 1:
            raise EvalInputError(f"--batch-size must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(str(tokenizer or model_dir))
        self.model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch_dtype).to(self.device).eval()
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else self.tokenizer.eos_token_id
        if self.pad_id is None:
            raise EvalInputError(f"{model_dir}: tokenizer has neither a pad nor an eos token; cannot batch prompts")

    def generate(self, prompts, n, params, seeds, max_tokens=None):
        import torch

        greedy = params.temperature == 0
        out: list[list[str]] = []
        for i, prompt in enumerate(prompts):  # one prompt at a time: no padding, seeded per problem
            ids = torch.tensor([list(prompt)], dtype=torch.long, device=self.device)
            kwargs = dict(max_new_tokens=(max_tokens[i] if max_tokens else params.max_tokens), pad_token_id=self.pad_id,
                          attention_mask=torch.ones_like(ids))
            if greedy:  # identical samples: decode once, repeat
                kwargs.update(do_sample=False, num_return_sequences=1)
            else:
                kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=0,
                              num_return_sequences=n)
            torch.manual_seed(int(seeds[i]))
            with torch.no_grad():
                seqs = self.model.generate(input_ids=ids, **kwargs)
            texts = self.tokenizer.batch_decode(seqs[:, ids.shape[1]:].cpu(), skip_special_tokens=True)
            out.append(texts * n if greedy else texts)
        return out

    def close(self):
        del self.model
        gc.collect()


BACKENDS = {"vllm": VllmBackend, "transformers": TransformersBackend}


def make_backend(name: str, model_dir: str | Path, **options) -> Backend:
    """Build a backend; options not accepted by it are ignored (with a debug log)."""
    import inspect

    if name not in BACKENDS:
        raise EvalInputError(f"unknown backend {name!r}; known: {', '.join(BACKENDS)}")
    cls = BACKENDS[name]
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "model_dir"}
    dropped = {k for k, v in options.items() if k not in accepted and v is not None}
    if dropped:
        logger.warning("backend %s ignores option(s) %s", name, sorted(dropped))
    return cls(model_dir, **{k: v for k, v in options.items() if k in accepted and v is not None})
