"""Build (once) and find the smoke run's offline assets: tokenizer, tiny model, data sets.

One directory per task and settings, ``${ARCHER_CACHE_DIR:-~/.cache/archer}/smoke/<task>-<digest>``, where
the digest covers :data:`BUILDER_VERSION` and every setting (so changing either builds a new directory and
a rerun with the same ones starts at once). Built in a temporary sibling directory and renamed into place,
under an exclusive file lock, so concurrent builders never see or write a half-built directory::

    <dir>/model/            Qwen2 causal LM (safetensors, fp32) + byte-level BPE tokenizer with a chat template
    <dir>/model_init/       the same model before the warm start (the reference for "weights changed")
    <dir>/data/train/<task>.parquet
    <dir>/data/eval/<benchmark>.parquet   the eval slice, under the archer.eval benchmark name
    <dir>/manifest.json     settings, lengths, warm-start report, build seconds

Nothing is downloaded: the tokenizer is trained here on the smoke texts and the model is random-init
(seeded), then warm-started (:mod:`archer.smoke.warm_start`) unless ``warm_start=False``.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from archer.smoke import problems as smoke_problems

BUILDER_VERSION = 2
SPECIAL_TOKENS = ["<|pad|>", "<|endoftext|>", "<|user|>", "<|assistant|>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ '<|' + m['role'] + '|>' + m['content'] }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)
# archer.eval reads only its registered benchmarks, DATA_DIR/eval/<name>.parquet with data_source == name:
# the smoke eval slice (the smoke problems) is written under a benchmark name of the same task
EVAL_BENCHMARK = {"math": "math500", "code": "livecodebench_v5"}
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class AssetSettings:
    task: str  # "math" | "code"
    train_problems: int
    response_length: int  # the training run's data.max_response_length
    vocab_size: int = 512
    hidden_size: int = 64
    layers: int = 2
    warm_start: bool = True
    warm_start_steps: int = 150
    warm_start_lr: float = 3e-3
    max_positions: int = 512
    seed: int = 0

    def digest(self) -> str:
        blob = json.dumps({"builder": BUILDER_VERSION, **dataclasses.asdict(self)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


DEFAULTS = {
    "math": AssetSettings(task="math", train_problems=8, response_length=32),
    "code": AssetSettings(task="code", train_problems=6, response_length=48, vocab_size=768, warm_start_steps=80),
}


def settings_for(task: str, *, warm_start: bool = True, warm_start_steps: Optional[int] = None,
                 hidden_size: Optional[int] = None) -> AssetSettings:
    """The task's defaults, with the warm start and the hidden size (vLLM's CPU attention needs a head size
    of at least 32: hidden 128 with the 4 heads; archer/smoke/cpu_settings.py) as asked."""
    if task not in DEFAULTS:
        raise ValueError(f"unknown smoke task {task!r}; known: {', '.join(DEFAULTS)}")
    base = DEFAULTS[task]
    return dataclasses.replace(base, warm_start=warm_start,
                               warm_start_steps=base.warm_start_steps if warm_start_steps is None else warm_start_steps,
                               hidden_size=base.hidden_size if hidden_size is None else hidden_size)


def cache_root() -> Path:
    return Path(os.path.expanduser(os.environ.get("ARCHER_CACHE_DIR") or "~/.cache/archer")) / "smoke"


def _log(msg: str) -> None:
    print(f"[smoke assets] {msg}", file=sys.stderr, flush=True)


def _problems(settings: AssetSettings) -> list[smoke_problems.Problem]:
    if settings.task == "math":
        return smoke_problems.math_problems(settings.train_problems, settings.seed)
    return smoke_problems.code_problems(settings.train_problems, settings.seed)


def _data_source(task: str) -> str:
    return smoke_problems.MATH_SOURCE if task == "math" else smoke_problems.CODE_SOURCE


def _tokenizer(texts: list[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<|pad|>", eos_token="<|endoftext|>")
    hf.chat_template = CHAT_TEMPLATE
    return hf


def _model(tokenizer, settings: AssetSettings, max_positions: int):
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=settings.hidden_size, intermediate_size=2 * settings.hidden_size,
        num_hidden_layers=settings.layers, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=max_positions, tie_word_embeddings=False,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.eos_token_id,
        torch_dtype="float32",
    )
    torch.manual_seed(settings.seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.bos_token_id = tokenizer.eos_token_id
    return model


def _write_parquet(rows: list[dict], path: Path) -> None:
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(path, index=False)


def _build(settings: AssetSettings, out: Path) -> dict:
    import torch

    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    start = time.monotonic()
    problems = _problems(settings)
    texts = [t for p in problems for t in (p.prompt, p.correct, p.wrong)] * 4
    _log(f"training a {settings.vocab_size}-token byte-level BPE tokenizer on {len(problems)} {settings.task} problems")
    trained = _tokenizer(texts, settings.vocab_size)
    # verl loads the tokenizer with AutoTokenizer from the model dir, where transformers picks the class from
    # config.json (Qwen2Tokenizer, which splits digits): save first, then count and train with what verl sees
    model = _model(trained, settings, max_positions=settings.max_positions)
    model.save_pretrained(out / "model_init")
    trained.save_pretrained(out / "model_init")
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(out / "model_init")
    from archer.smoke.warm_start import prompt_ids

    prompt_tokens = max(len(prompt_ids(tokenizer, p.prompt)) for p in problems)
    answer_tokens = max(len(tokenizer(r, add_special_tokens=False)["input_ids"]) + 1
                        for p in problems for r in (p.correct, p.wrong))
    if answer_tokens > settings.response_length:
        raise ValueError(f"smoke answers need {answer_tokens} tokens > response_length {settings.response_length}")
    prompt_length = 8 * ((prompt_tokens + 7) // 8)  # the run's data.max_prompt_length
    if prompt_length + settings.response_length > settings.max_positions:
        raise ValueError(f"prompt {prompt_length} + response {settings.response_length} tokens exceed the model's "
                         f"max_positions {settings.max_positions}")
    _log(f"random-init Qwen2: {settings.layers} layers, hidden {settings.hidden_size}, "
         f"{sum(p.numel() for p in model.parameters()):,} parameters; prompts <= {prompt_tokens} tokens")
    report = None
    if settings.warm_start:
        from archer.smoke.warm_start import warm_start

        _log(f"warm start: {settings.warm_start_steps} full-batch steps on correct / wrong answers")
        report = warm_start(model, tokenizer, problems, _data_source(settings.task), steps=settings.warm_start_steps,
                            lr=settings.warm_start_lr, seed=settings.seed, max_new_tokens=settings.response_length,
                            log=_log)
    model.save_pretrained(out / "model")
    tokenizer.save_pretrained(out / "model")

    task = settings.task
    ability = "math" if task == "math" else "code"
    _write_parquet(smoke_problems.rows(problems, _data_source(task), ability, "train"),
                   out / "data" / "train" / f"{task}.parquet")
    benchmark = EVAL_BENCHMARK[task]
    _write_parquet(smoke_problems.rows(problems, benchmark, ability, "test"), out / "data" / "eval" / f"{benchmark}.parquet")
    return {
        "settings": dataclasses.asdict(settings),
        "builder_version": BUILDER_VERSION,
        "model": str(out / "model"),
        "model_init": str(out / "model_init"),
        "data_dir": str(out / "data"),
        "train_file": str(out / "data" / "train" / f"{task}.parquet"),
        "eval_benchmark": benchmark,
        "eval_note": f"the {len(problems)} smoke training problems, written under archer.eval's {benchmark!r} name",
        "prompt_length": prompt_length,
        "response_length": settings.response_length,
        "warm_start": dataclasses.asdict(report) if report else None,
        "build_seconds": round(time.monotonic() - start, 2),
    }


def _relocate(manifest: dict, built: Path, final: Path) -> dict:
    return {k: v.replace(str(built), str(final)) if isinstance(v, str) else v for k, v in manifest.items()}


def ensure_assets(settings: AssetSettings, root: Optional[Path] = None) -> tuple[Path, dict, bool]:
    """(asset dir, manifest, built now?) for ``settings``: the cached directory, else built atomically."""
    root = Path(root) if root else cache_root()
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{settings.task}-{settings.digest()}"
    manifest_path = final / MANIFEST
    if manifest_path.is_file():
        return final, json.loads(manifest_path.read_text()), False
    with open(root / f".{final.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a concurrent builder finishes first; then we find its result
        if manifest_path.is_file():
            return final, json.loads(manifest_path.read_text()), False
        _log(f"building {final} (cached for reruns)")
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=root))
        try:
            manifest = _build(settings, tmp)
            manifest = _relocate(manifest, tmp, final)
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
            if final.exists():  # an incomplete directory of a crashed older builder (no manifest)
                shutil.rmtree(final)
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    _log(f"assets ready in {manifest['build_seconds']:.1f} s")
    return final, manifest, True
