"""Reduce the per-sample reward extra info of one training batch to scalar metrics.

verl 0.9.1 turns the reward dict's extra keys into metrics only during validation
(``val-core/<source>/acc/mean@N``, ``val-aux/<source>/<key>/...``); the training step logs just the
score/reward tensors. This helper is for a trainer hook that wants e.g. ``reward/repetition_ratio/mean``
in the training logs as well. Pure Python: works on lists or numpy arrays.

Names that cannot be confused with verl's own:

* the grader's ``score`` is logged as ``reward/grader_score/*``: archer's score *before* verl's DAPO
  overlong penalty. verl's ``critic/score/mean`` is the sequence score *after* it (the reward the
  advantages are computed from); the two differ exactly where responses ran into the overlong buffer.
* code-only keys (``passed``, ``total``, ``code_timeout``, ``sandbox_wait_s``) are reduced over the
  samples that were graded against code tests (``total > 0``); a batch without one logs none of them,
  instead of a math batch's meaningless zeros.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from archer.reward.dispatch import RESULT_DEFAULTS

NUMERIC_KEYS = tuple(k for k, v in RESULT_DEFAULTS.items() if isinstance(v, (bool, float, int)))
# result key -> metric name, where the key's own name would read like one of verl's metrics
METRIC_NAMES = {"score": "grader_score"}
# keys that only code samples fill; reduced over the samples with code tests (total > 0)
CODE_ONLY_KEYS = frozenset({"passed", "total", "code_timeout", "sandbox_wait_s"}) & frozenset(NUMERIC_KEYS)


def metric_name(key: str, prefix: str = "reward/") -> str:
    return f"{prefix}{METRIC_NAMES.get(key, key)}"


def _code_rows(extra: Mapping[str, Iterable]) -> list[bool] | None:
    """Which samples were graded against code tests, from ``total``; None when ``total`` is absent."""
    if "total" not in extra:
        return None
    return [v is not None and float(v) > 0 for v in extra["total"]]


def reward_extra_metrics(
    extra: Mapping[str, Iterable],
    prefix: str = "reward/",
    on_error: Callable[[str, Exception], None] | None = None,
) -> dict[str, float]:
    """``{f"{prefix}{name}/mean": ...}`` (and ``/max`` for non-boolean keys) over the batch.

    ``extra`` maps a key to its per-sample values, as verl stores them (``batch.non_tensor_batch[key]``).
    Only the numeric keys of the reward schema are reduced; None values (a data source that has no
    value for a key) are skipped. A key whose values cannot be reduced is skipped, reported to
    ``on_error(key, exc)`` when given (else raised).
    """
    extra = {k: list(v) for k, v in extra.items()}
    code_rows = _code_rows(extra)
    out: dict[str, float] = {}
    for key in NUMERIC_KEYS:
        if key not in extra:
            continue
        values = extra[key]
        if key in CODE_ONLY_KEYS and code_rows is not None and len(code_rows) == len(values):
            values = [v for v, is_code in zip(values, code_rows) if is_code]
        values = [v for v in values if v is not None]
        if not values:
            continue
        try:
            nums = [float(v) for v in values]
        except (TypeError, ValueError) as exc:
            if on_error is None:
                raise
            on_error(key, exc)
            continue
        name = metric_name(key, prefix)
        out[f"{name}/mean"] = sum(nums) / len(nums)
        if not isinstance(RESULT_DEFAULTS[key], bool):
            out[f"{name}/max"] = max(nums)
    return out
