"""Fixes for verl 0.9.1's vLLM rollout on vLLM's CPU build (0.24), loaded only in the vLLM rehearsal.

:mod:`archer.smoke.backend` calls :func:`install` only when ``ARCHER_SMOKE_ROLLOUT=vllm`` (set by
``SMOKE_ROLLOUT=vllm bash scripts/run_aspo_{math,code}.sh --smoke``, archer/smoke/cpu_settings.py); a GPU
run, and the default smoke run, never import this module (tests/test_smoke_vllm_patch_isolation.py).
Each patch is installed when its module is imported (:func:`archer.plugin.post_import.when_imported`):

1. ``vllm.model_executor.layers.linear.UnquantizedLinearMethod.process_weights_after_loading`` and
   ``vllm.model_executor.layers.vocab_parallel_embedding.UnquantizedEmbeddingMethod
   .process_weights_after_loading``. On the CPU platform both call ``dispatch_cpu_unquantized_gemm``, which
   repacks the weight into a oneDNN handle captured by ``layer.cpu_linear``; the linear layers' version then
   replaces ``layer.weight`` by an empty tensor. verl's weight sync (``update_weights_from_ipc`` ->
   ``model.load_weights``) writes into ``layer.weight`` in place, so it fails ("Attempted to load weight
   (torch.Size([128, 128])) into parameter (torch.Size([0]))"), and the LM head would keep computing with
   the start weights packed into its handle. The replacement keeps ``layer.weight`` and sets
   ``layer.cpu_linear`` to ``F.linear`` on the live weight: the rehearsal tests verl's weight-sync
   plumbing, not vLLM's CPU GEMM kernels.
2. ``verl.workers.rollout.vllm_rollout.bucketed_weight_transfer.BucketedWeightSender._init_socket``: the
   sender's ZMQ REQ socket waits for each bucket's acknowledgement with a blocking ``recv()``; when the
   receiving vLLM worker fails, nothing ever answers and the trainer hangs. The replacement gives the
   socket a receive / send timeout (:data:`TIMEOUT_ENV`, default :data:`DEFAULT_TIMEOUT_S` s) and no linger.
3. ``verl.workers.rollout.vllm_rollout.vllm_rollout.ServerAdapter.update_weights``: when the transfer
   fails (the timeout above, or any error), the wrapper collects what the rollout server's
   ``update_weights_from_ipc`` raised and raises :class:`RolloutWeightSyncError` naming it, so the run
   ends with that error instead of hanging.

Fault injection for the rehearsal's negative controls (:data:`FAULT_ENV`, never set by a launcher):
``prepacked_linears`` leaves fix 1 out (the weight sync fails as it does without it);
``stale_rollout`` lets the first weight sync through (the rollout starts from the trainer's start weights)
and drops every later one (the rollout keeps sampling from the start policy), so
``training/rollout_probs_diff_max`` must exceed the rehearsal's bound.
"""

from __future__ import annotations

import asyncio
import logging
import os
from types import ModuleType

from archer.plugin.post_import import when_imported

logger = logging.getLogger(__name__)

FAULT_ENV = "ARCHER_SMOKE_FAULT"
FAULTS = ("prepacked_linears", "stale_rollout")
TIMEOUT_ENV = "ARCHER_SMOKE_WEIGHT_SYNC_TIMEOUT"
DEFAULT_TIMEOUT_S = 60.0
SERVER_ERROR_WAIT_S = 30.0  # how long to wait for the server's own error once the transfer failed
_MARK = "__archer_smoke_vllm_cpu__"


class RolloutWeightSyncError(RuntimeError):
    """The weight sync from the trainer to a vLLM rollout server failed; the message names the cause."""


def fault() -> str:
    value = os.environ.get(FAULT_ENV, "")
    if value and value not in FAULTS:
        raise ValueError(f"{FAULT_ENV}={value!r}: use one of {', '.join(FAULTS)} (or leave it unset)")
    return value


def timeout_s() -> float:
    raw = os.environ.get(TIMEOUT_ENV, "")
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT_S
    except ValueError:
        raise ValueError(f"{TIMEOUT_ENV}={raw!r} is not a number of seconds") from None
    if value <= 0:
        raise ValueError(f"{TIMEOUT_ENV}={raw!r} must be > 0")
    return value


def _replace(owner: type, name: str, new) -> None:
    if not callable(getattr(owner, name, None)):
        raise AttributeError(f"{owner.__module__}.{owner.__qualname__}.{name} is gone: archer/smoke/vllm_cpu.py "
                             "targets vLLM 0.24 / verl 0.9.1")
    new.__wrapped__ = getattr(owner, name)
    setattr(new, _MARK, True)
    setattr(owner, name, new)


def _live_weight_linear(self, layer) -> None:
    """Fix 1: keep ``layer.weight``; compute with it at call time."""
    import torch.nn.functional as F

    layer.cpu_linear = F.linear


def patch_linear(module: ModuleType) -> None:
    _replace(module.UnquantizedLinearMethod, "process_weights_after_loading", _live_weight_linear)


def patch_embedding(module: ModuleType) -> None:
    _replace(module.UnquantizedEmbeddingMethod, "process_weights_after_loading",
             lambda self, layer: _live_weight_linear(self, layer))


def patch_sender(module: ModuleType) -> None:
    """Fix 2: a bounded wait for the receiver's acknowledgements."""
    original = module.BucketedWeightSender._init_socket

    def _init_socket(self):
        import zmq

        original(self)
        ms = int(timeout_s() * 1000)
        self.socket.setsockopt(zmq.RCVTIMEO, ms)
        self.socket.setsockopt(zmq.SNDTIMEO, ms)
        self.socket.setsockopt(zmq.LINGER, 0)

    _replace(module.BucketedWeightSender, "_init_socket", _init_socket)


async def _server_error(futures: list) -> str:
    """What the rollout server's pending calls raised (or that they did not answer)."""
    parts = []
    for method, future in futures:
        try:
            await asyncio.wait_for(future, timeout=SERVER_ERROR_WAIT_S)
            parts.append(f"{method} on the rollout server returned without error")
        except asyncio.TimeoutError:
            parts.append(f"{method} on the rollout server did not answer within {SERVER_ERROR_WAIT_S:.0f} s")
        except Exception as exc:  # noqa: BLE001  the server's error, to be named
            parts.append(f"{method} on the rollout server raised {type(exc).__name__}: {_last_line(exc)}")
    return "; ".join(parts) or "no server call was pending"


def _last_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    # a RayTaskError's message is the remote traceback: its last lines name the error
    tail = [line for line in text if line.strip()][-3:]
    return " | ".join(line.strip() for line in tail) or repr(exc)


async def _drain(weights) -> int:
    """Consume the trainer's weight stream (FSDP gathers inside it on every rank) without sending it."""
    from verl.workers.rollout.utils import ensure_async_iterator

    count = 0
    async for _name, _tensor in ensure_async_iterator(weights):
        count += 1
    return count


def patch_server_adapter(module: ModuleType) -> None:
    """Fix 3 (and the ``stale_rollout`` fault): loud weight-sync failures."""
    cls = module.ServerAdapter
    original = cls.update_weights
    state = {"syncs": 0}

    async def update_weights(self, weights, global_steps=None, wire_format="named_tensors", **kwargs):
        state["syncs"] += 1
        if fault() == "stale_rollout" and state["syncs"] > 1:
            dropped = await _drain(weights)
            logger.warning("%s=stale_rollout: dropped weight sync %d (%d tensors); the rollout keeps the start "
                           "weights", FAULT_ENV, state["syncs"], dropped)
            if self._has_server and global_steps is not None and self._ensure_server_handle():
                await self.server_handle.set_global_steps.remote(global_steps)
            return None
        futures: list = []
        execute = self._execute_method

        async def keep_pending(method, non_block=False, **kw):
            future = await execute(method, non_block=non_block, **kw)
            if non_block and future is not None:
                futures.append((method, future))
            return future

        self._execute_method = keep_pending
        try:
            return await original(self, weights, global_steps=global_steps, wire_format=wire_format, **kwargs)
        except Exception as exc:
            detail = await _server_error(futures)
            raise RolloutWeightSyncError(
                f"weight sync to vLLM rollout replica {self.replica_rank} failed at global step {global_steps} "
                f"({type(exc).__name__}: {exc or 'no acknowledgement within the timeout'}; {TIMEOUT_ENV}="
                f"{timeout_s():g} s): {detail}") from exc
        finally:
            del self._execute_method

    _replace(cls, "update_weights", update_weights)


def install() -> None:
    """Register every fix (each runs when its module is imported); ``prepacked_linears`` leaves fix 1 out."""
    fault()  # a bad value fails here, loudly, in every process
    if fault() != "prepacked_linears":
        when_imported("vllm.model_executor.layers.linear", patch_linear)
        when_imported("vllm.model_executor.layers.vocab_parallel_embedding", patch_embedding)
    when_imported("verl.workers.rollout.vllm_rollout.bucketed_weight_transfer", patch_sender)
    when_imported("verl.workers.rollout.vllm_rollout.vllm_rollout", patch_server_adapter)
