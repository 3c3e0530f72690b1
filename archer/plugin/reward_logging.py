"""Put the reward function's numeric extra keys into the *training-step* metrics.

verl 0.9.1 turns the reward dict's extra keys (``repetition_ratio``, ``response_has_answer``,
``grader_timeout``, ``passed``/``total``, ...; see :data:`archer.reward.dispatch.RESULT_DEFAULTS`) into
metrics only during validation. Where the keys live during training:

* v1 trainer (``trainer.use_v1: true``, the default), reward loop *not* colocated (agent-loop workers
  score each trajectory, ``verl/trainer/ppo/v1/agent_loop_tq.py``): per sample in the TransferQueue
  field ``extra_fields``, as ``extra_fields[i]["reward_extra_info"][key]``;
* v1 trainer, colocated reward (``PPOTrainer._compute_reward_colocate``): one TransferQueue field per
  extra key (``rm_output.meta_info["reward_extra_keys"]``);
* legacy trainer (``verl/trainer/ppo/ray_trainer.py``): ``batch.non_tensor_batch[key]`` right before
  ``compute_data_metrics``, which ignores them.

:func:`install` (called by :mod:`archer.plugin`, i.e. by ``import verl`` through our
plugin entry point) wraps ``PPOTrainer._compute_metrics`` (v1) and the ``compute_data_metrics`` name that
``ray_trainer`` calls (legacy) so that they also add ``reward/<key>/mean`` (and ``/max`` for non-boolean
keys) as reduced by :func:`archer.reward.metrics.reward_extra_metrics`. The trainer modules are heavy
(ray, TransferQueue), so they are not imported here: each is patched when (and if) something imports
it (:func:`archer.plugin.post_import.when_imported`), or at once if it is already imported. The added
metrics never break training: any failure is logged once and skipped.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from archer.plugin.post_import import when_imported
from archer.reward.metrics import NUMERIC_KEYS, metric_name, reward_extra_metrics
from archer.warn_once import warn_once

logger = logging.getLogger(__name__)

V1_TRAINER_MODULE = "verl.trainer.ppo.v1.trainer_base"
LEGACY_TRAINER_MODULE = "verl.trainer.ppo.ray_trainer"
EXTRA_FIELDS = "extra_fields"  # v1 TransferQueue field holding each sample's AgentLoopOutput.extra_fields
_MARK = "__archer_reward_logging__"

def _warn_once(key: str, message: str) -> None:
    warn_once(logger, "reward_logging:" + key, message)


# ---------------------------------------------------------------------------------------------- extraction


def _as_list(values: Any) -> list:
    """TransferQueue returns non-tensor fields as a tensordict LinkedList, a NonTensorStack or a numpy
    array; a tensor comes back as a tensor. Normalize to a plain list of Python scalars/objects."""
    if hasattr(values, "tolist") and not isinstance(values, list):
        try:
            values = values.tolist()
        except Exception:  # NonTensorStack.tolist may refuse; fall through to list()
            pass
    return list(values)


def extra_from_extra_fields(extra_fields: Sequence[Any]) -> dict[str, list]:
    """``{key: per-sample values}`` of the numeric reward keys found in ``extra_fields[i]["reward_extra_info"]``
    (None where a sample lacks the key)."""
    infos = [(ef.get("reward_extra_info") or {}) if isinstance(ef, Mapping) else {} for ef in extra_fields]
    keys = [k for k in NUMERIC_KEYS if any(k in info for info in infos)]
    return {k: [info.get(k) for info in infos] for k in keys}


def _select(values: list, mask: Sequence[bool] | None) -> list:
    if mask is None or len(mask) != len(values) or not any(mask):
        return values
    return [v for v, keep in zip(values, mask) if keep]


def reduce_reward_extra(extra: Mapping[str, Any], mask: Sequence[bool] | None = None) -> dict[str, float]:
    """:func:`reward_extra_metrics` of ``extra`` restricted to ``mask`` (kept rows; all rows when the mask
    keeps none, as verl's ``_compute_metrics`` does); a key that cannot be reduced is skipped with a
    warning, so one bad key does not hide the others."""
    rows: dict[str, list] = {}
    for key, values in extra.items():
        try:
            rows[key] = _select(_as_list(values), mask)
        except Exception as e:
            _warn_once(f"reduce:{key}", f"archer: reward/{key} not logged: cannot read its values ({e!r})")

    def skipped(key: str, e: Exception) -> None:
        _warn_once(f"reduce:{key}", f"archer: {metric_name(key)} not logged: cannot reduce its values ({e!r})")

    return reward_extra_metrics(rows, on_error=skipped)


def fetch_reward_extra(batch: Any, client: Any = None, kv_batch_get: Callable | None = None) -> dict[str, list]:
    """Per-sample numeric reward extra values of a v1 ``KVBatchMeta`` batch, read from TransferQueue.

    Prefers ``extra_fields[i]["reward_extra_info"]`` (reward computed in the agent loop); otherwise the
    top-level fields named like the keys (colocated reward). ``client``/``kv_batch_get`` default to
    ``transfer_queue.get_client()`` / ``transfer_queue.kv_batch_get``. Raises on TransferQueue errors.
    """
    if client is None or kv_batch_get is None:
        import transfer_queue as tq

        client = client if client is not None else tq.get_client()
        kv_batch_get = kv_batch_get if kv_batch_get is not None else tq.kv_batch_get
    keys, partition_id = list(batch.keys), batch.partition_id
    present = set(client.kv_retrieve_meta(keys=keys, partition_id=partition_id, create=False).field_names)

    if EXTRA_FIELDS in present:
        data = kv_batch_get(keys=keys, partition_id=partition_id, select_fields=[EXTRA_FIELDS])
        extra = extra_from_extra_fields(_as_list(data[EXTRA_FIELDS]))
        if extra:
            return extra

    top_level = [k for k in NUMERIC_KEYS if k in present]
    if not top_level:
        return {}
    data = kv_batch_get(keys=keys, partition_id=partition_id, select_fields=top_level)
    return {k: _as_list(data[k]) for k in top_level if k in data.keys()}


def v1_reward_metrics(batch: Any, **fetch_kwargs) -> dict[str, float]:
    """The ``reward/<key>/...`` metrics of a v1 batch, padding rows (``tags[i]["is_padding"]``) excluded."""
    mask = [not (tag or {}).get("is_padding", False) for tag in (batch.tags or [])] or None
    extra = fetch_reward_extra(batch, **fetch_kwargs)
    if not extra:
        _warn_once("v1:absent", "archer: no reward extra keys found in TransferQueue; reward/* not logged")
        return {}
    return reduce_reward_extra(extra, mask)


# ---------------------------------------------------------------------------------------------- wrappers


def wrap_compute_metrics(original: Callable) -> Callable:
    """Wrap v1 ``PPOTrainer._compute_metrics(self, batch, metrics, ...)``: after it, add the reward metrics."""
    if getattr(original, _MARK, False):
        return original

    @functools.wraps(original)
    def _compute_metrics(self, batch, metrics, *args, **kwargs):
        result = original(self, batch, metrics, *args, **kwargs)
        try:
            added = v1_reward_metrics(batch)
            metrics.update({k: v for k, v in added.items() if k not in metrics})
        except Exception as e:
            _warn_once("v1:error", f"archer: reward/* training metrics skipped: {e!r}")
        return result

    setattr(_compute_metrics, _MARK, True)
    return _compute_metrics


def wrap_compute_data_metrics(original: Callable) -> Callable:
    """Wrap ``compute_data_metrics(batch, use_critic)`` (as the legacy trainer calls it): also reduce the
    reward extra keys of ``batch.non_tensor_batch``."""
    if getattr(original, _MARK, False):
        return original

    @functools.wraps(original)
    def compute_data_metrics(*args, **kwargs):
        metrics = original(*args, **kwargs)
        try:
            batch = kwargs["batch"] if "batch" in kwargs else args[0]
            non_tensor = getattr(batch, "non_tensor_batch", None) or {}
            extra = {k: non_tensor[k] for k in NUMERIC_KEYS if k in non_tensor}
            if extra:
                added = reduce_reward_extra(extra)
                metrics.update({k: v for k, v in added.items() if k not in metrics})
        except Exception as e:
            _warn_once("legacy:error", f"archer: reward/* training metrics skipped: {e!r}")
        return metrics

    setattr(compute_data_metrics, _MARK, True)
    return compute_data_metrics


def _patch_v1(module) -> None:
    cls = getattr(module, "PPOTrainer", None)
    if cls is None or not hasattr(cls, "_compute_metrics"):
        _warn_once("v1:missing", f"archer: {V1_TRAINER_MODULE}.PPOTrainer._compute_metrics not found")
        return
    cls._compute_metrics = wrap_compute_metrics(cls.__dict__.get("_compute_metrics", cls._compute_metrics))


def _patch_legacy(module) -> None:
    fn = getattr(module, "compute_data_metrics", None)
    if fn is None:
        _warn_once("legacy:missing", f"archer: {LEGACY_TRAINER_MODULE}.compute_data_metrics not found")
        return
    module.compute_data_metrics = wrap_compute_data_metrics(fn)


_PATCHES: dict[str, Callable] = {V1_TRAINER_MODULE: _patch_v1, LEGACY_TRAINER_MODULE: _patch_legacy}


def install() -> None:
    """Patch the trainer modules already imported and hook those imported later. Idempotent."""
    for name, patch in _PATCHES.items():
        when_imported(name, patch)


def installed() -> bool:
    """Whether the v1 trainer's ``_compute_metrics`` carries the wrapper (imports the trainer module, which
    runs the hook)."""
    import importlib

    trainer = getattr(importlib.import_module(V1_TRAINER_MODULE), "PPOTrainer", None)
    return getattr(getattr(trainer, "_compute_metrics", None), _MARK, False)
