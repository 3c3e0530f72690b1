"""A CPU rollout for verl: transformers generation behind verl's token-in / token-out server interface.

verl 0.9.1 has two rollout registries, and this module fills one entry in each (:func:`register`):

* ``verl.workers.rollout.replica.RolloutReplicaRegistry`` (looked up by the agent loop's
  ``LLMServerManager`` through ``get_rollout_replica_class``): :class:`TransformersReplica` launches one
  Ray actor, :class:`TransformersServer`, that the agent loop calls with ``generate(prompt_ids,
  sampling_params, ...)`` and that answers a ``TokenOutput`` (response token ids and their log-probs under
  the sampling distribution, like vLLM's). The wake-up / sleep / kv-cache / abort calls verl makes around
  generation are no-ops: there is no accelerator memory to free.
* ``verl.workers.rollout.base._ROLLOUT_REGISTRY[(name, "async")]`` (instantiated in every
  ``ActorRolloutRefWorker.init_model``): :class:`TrainerWeightSync`, the ``BaseRollout`` whose
  ``update_weights`` verl calls after each update (``CheckpointEngineManager.update_weights``, naive
  backend). It consumes the trainer's ``(name, tensor)`` stream on every rank (FSDP gathers inside it) and
  rank 0 of each replica loads the full state dict into that replica's server, so the next rollout
  samples from the updated policy.

Hybrid mode only (the FSDP workers own the trained weights); one server per replica, serialised by a
lock (CPU threads are the limit anyway). Sampling is reproducible: each request draws from a generator
seeded by (server seed, weight version, prompt, how many times this prompt was drawn at this weight
version), so the order in which the agent loop's concurrent requests arrive changes nothing but which of
a group's identical prompts gets which sample (tests/test_smoke_rollout_sampling_is_reproducible.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from typing import Any, Optional

import torch

ROLLOUT_NAME = "cpu_transformers"
logger = logging.getLogger(__name__)


def server_actor_name(replica_rank: int) -> str:
    """Ray actor name of a replica's server, unique per Ray job (several smoke runs may share a cluster)."""
    import ray

    return f"archer_smoke_rollout_{ray.get_runtime_context().get_job_id()}_{replica_rank}"


def _max_new_tokens(sampling_params: dict[str, Any], prompt_len: int, prompt_limit: int, response_limit: int) -> int:
    """verl's vLLM server rule: the request's max_tokens, capped by the response length and by the context
    left after the prompt (at least 1)."""
    cap = min(response_limit, prompt_limit + response_limit - prompt_len)
    asked = sampling_params.get("max_tokens") or sampling_params.get("max_new_tokens") or cap
    return max(1, min(int(asked), cap))


def request_seed(seed: int, weight_version: int, prompt_ids: tuple[int, ...], draw: int) -> int:
    """The torch seed of one request (see the module docstring)."""
    blob = f"{seed}/{weight_version}/{draw}/{','.join(map(str, prompt_ids))}".encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "little") & ((1 << 63) - 1)


class TransformersServer:
    """Ray actor: a causal LM on CPU serving verl's ``generate`` (token in, token out, with log-probs)."""

    def __init__(self, model_path: str, prompt_length: int, response_length: int, seed: int = 0):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(1)
        torch.manual_seed(seed)
        self.model = AutoModelForCausalLM.from_pretrained(model_path, torch_dtype=torch.float32).eval()
        tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.eos_token_id = tokenizer.eos_token_id
        self.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.prompt_length = prompt_length
        self.response_length = response_length
        self.lock = threading.Lock()
        self.seed = seed
        self.draws: dict[tuple[int, ...], int] = {}  # prompt -> samples drawn at the current weights
        self.global_steps: Optional[int] = None
        self.weight_updates = 0
        self.requests = 0

    def load_weights(self, state: dict[str, torch.Tensor], global_steps: Optional[int] = None) -> dict[str, Any]:
        """Replace the model's weights by the trainer's (names as in the HF model's state dict)."""
        with self.lock:
            own = self.model.state_dict()
            matched = {k: v.to(own[k].dtype) for k, v in state.items() if k in own}
            missing, _ = self.model.load_state_dict(matched, strict=False)
            self.global_steps = global_steps
            self.weight_updates += 1
            self.draws.clear()
        return {"loaded": len(matched), "missing": sorted(missing), "ignored": sorted(set(state) - set(own))}

    def stats(self) -> dict[str, int]:
        return {"weight_updates": self.weight_updates, "requests": self.requests}

    def _generate(self, prompt_ids: list[int], sampling_params: dict[str, Any]) -> tuple[list[int], Optional[list[float]]]:
        temperature = float(sampling_params.get("temperature", 1.0))
        top_p = float(sampling_params.get("top_p", 1.0))
        top_k = int(sampling_params.get("top_k", -1) or -1)
        want_log_probs = bool(sampling_params.get("logprobs", False))
        input_ids = torch.tensor([prompt_ids], dtype=torch.long)
        kwargs: dict[str, Any] = dict(
            max_new_tokens=_max_new_tokens(sampling_params, len(prompt_ids), self.prompt_length, self.response_length),
            eos_token_id=self.eos_token_id,
            pad_token_id=self.pad_token_id,
            attention_mask=torch.ones_like(input_ids),
            return_dict_in_generate=True,
            output_scores=want_log_probs,
        )
        if temperature > 0 and sampling_params.get("do_sample", True):
            kwargs.update(do_sample=True, temperature=temperature, top_p=top_p, top_k=max(top_k, 0))
        else:
            kwargs.update(do_sample=False)
        with self.lock, torch.no_grad():
            key = tuple(prompt_ids)
            draw = self.draws.get(key, 0)
            self.draws[key] = draw + 1
            torch.manual_seed(request_seed(self.seed, self.weight_updates, key, draw))
            out = self.model.generate(input_ids, **kwargs)
            self.requests += 1
        tokens = out.sequences[0, input_ids.shape[1]:].tolist()
        log_probs = None
        if want_log_probs:  # log-probs of the processed (tempered, truncated) distribution, as vLLM reports
            log_probs = [torch.log_softmax(s[0].float(), dim=-1)[t].item() for s, t in zip(out.scores, tokens)]
        if self.eos_token_id in tokens:  # EOS belongs to the response (as with vLLM); drop generate()'s padding
            end = tokens.index(self.eos_token_id) + 1
            tokens = tokens[:end]
            log_probs = log_probs[:end] if log_probs is not None else None
        return tokens, log_probs

    async def generate(self, prompt_ids, sampling_params, request_id=None, **kwargs):
        from verl.workers.rollout.replica import TokenOutput

        tokens, log_probs = await asyncio.to_thread(self._generate, list(prompt_ids), dict(sampling_params))
        return TokenOutput(
            token_ids=tokens,
            log_probs=log_probs,
            stop_reason="completed",
            num_preempted=0,
            extra_fields={"global_steps": self.global_steps},
        )

    # control plane verl calls around generation: nothing to do without accelerator memory
    async def wake_up(self):
        return None

    async def sleep(self):
        return None

    async def clear_kv_cache(self):
        return None

    async def release_kv_cache(self):
        return None

    async def resume_kv_cache(self):
        return None

    async def abort_all_requests(self, reject_request: bool = False):
        return {"aborted_count": 0, "request_ids": []}

    async def resume_generation(self):
        return None

    async def start_profile(self, **kwargs):
        return None

    async def stop_profile(self):
        return None


def _replica_class():
    """Built on first lookup: RolloutReplica's module imports Ray and verl's worker stack."""
    import ray

    from verl.workers.rollout.replica import RolloutReplica

    class TransformersReplica(RolloutReplica):
        """One :class:`TransformersServer` per replica."""

        async def launch_servers(self):
            model_path = getattr(self.model_config, "local_path", None) or self.model_config.path
            server = (
                ray.remote(TransformersServer)
                .options(name=server_actor_name(self.replica_rank), num_cpus=0, max_concurrency=self.max_concurrency)
                .remote(
                    model_path=model_path,
                    prompt_length=self.config.prompt_length,
                    response_length=self.config.response_length,
                    seed=self.replica_rank,
                )
            )
            await server.stats.remote()  # returns once the model is loaded
            self.servers = [server]
            self._server_handle = server
            self._server_address = f"archer-smoke-rollout-{self.replica_rank}"

    return TransformersReplica


def _weight_sync_class():
    """Built on first lookup, not at import: a Ray worker that unpickles :class:`TransformersServer`
    imports this module before verl, and verl's own import loads :mod:`archer.smoke.backend`, which
    imports this module again; a module-level verl import here would make that a circular import."""
    from verl.workers.rollout.base import BaseRollout

    class TrainerWeightSync(BaseRollout):
        """In each actor worker: hands the trainer's weights to the replica's :class:`TransformersServer`."""

        def __init__(self, config, model_config, device_mesh, *args, **kwargs):
            super().__init__(config, model_config, device_mesh, *args, **kwargs)
            import torch.distributed as dist

            replica_world = (
                self.config.tensor_model_parallel_size
                * self.config.data_parallel_size
                * self.config.pipeline_model_parallel_size
            )
            rank = dist.get_rank() if dist.is_initialized() else 0
            self.replica_rank = rank // replica_world
            self.is_replica_leader = rank % replica_world == 0

        async def resume(self, tags: list[str]):
            return None

        async def release(self):
            return None

        async def update_weights(self, weights, wire_format: str = "named_tensors", **kwargs):
            import ray

            if wire_format != "named_tensors":
                raise ValueError(f"{ROLLOUT_NAME} rollout takes full named tensors, got wire_format={wire_format!r}")
            state = {}
            for name, tensor in weights:  # every rank consumes the stream: FSDP all-gathers inside it
                if self.is_replica_leader:
                    state[name] = tensor.detach().to("cpu").clone()
            if not self.is_replica_leader:
                return
            server = ray.get_actor(server_actor_name(self.replica_rank))
            result = await server.load_weights.remote(state, kwargs.get("global_steps"))
            if result["missing"]:
                raise RuntimeError(f"weight sync left rollout weights unset: {result['missing']}")
            logger.info("weight sync to rollout replica %d: %d tensors", self.replica_rank, result["loaded"])

    TrainerWeightSync.__module__ = __name__
    TrainerWeightSync.__qualname__ = "TrainerWeightSync"
    return TrainerWeightSync


_LAZY: dict[str, type] = {}


def __getattr__(name: str):
    """``archer.smoke.rollout.TrainerWeightSync``, the path verl's rollout registry imports, built lazily."""
    if name == "TrainerWeightSync":
        if name not in _LAZY:
            _LAZY[name] = _weight_sync_class()
        return _LAZY[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register() -> None:
    """Make ``actor_rollout_ref.rollout.name=cpu_transformers`` known to both verl registries."""
    from verl.workers.rollout import base as rollout_base
    from verl.workers.rollout.replica import RolloutReplicaRegistry

    rollout_base._ROLLOUT_REGISTRY[(ROLLOUT_NAME, "async")] = f"{__name__}.TrainerWeightSync"
    RolloutReplicaRegistry.register(ROLLOUT_NAME, _replica_class)
