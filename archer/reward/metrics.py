"""Reduce the per-sample reward extra info of one training batch to scalar metrics.

verl 0.9.1 turns the reward dict's extra keys into metrics only during validation
(``val-core/<source>/acc/mean@N``, ``val-aux/<source>/<key>/...``); the training step logs just the
score/reward tensors. This helper is for a trainer hook that wants e.g. ``reward/repetition_ratio/mean``
in the training logs as well. Pure Python: works on lists or numpy arrays.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from archer.reward.dispatch import RESULT_DEFAULTS

NUMERIC_KEYS = tuple(k for k, v in RESULT_DEFAULTS.items() if isinstance(v, (bool, float, int)))


def reward_extra_metrics(extra: Mapping[str, Iterable], prefix: str = "reward/") -> dict[str, float]:
    """``{f"{prefix}{key}/mean": ...}`` (and ``/max`` for non-boolean keys) over the batch.

    ``extra`` maps a key to its per-sample values, as verl stores them (``batch.non_tensor_batch[key]``).
    Only the numeric keys of the reward schema are reduced; None values (a data source that has no
    value for a key) are skipped.
    """
    out: dict[str, float] = {}
    for key in NUMERIC_KEYS:
        if key not in extra:
            continue
        values = [v for v in extra[key] if v is not None]
        if not values:
            continue
        nums = [float(v) for v in values]
        out[f"{prefix}{key}/mean"] = sum(nums) / len(nums)
        if not isinstance(RESULT_DEFAULTS[key], bool):
            out[f"{prefix}{key}/max"] = max(nums)
    return out
