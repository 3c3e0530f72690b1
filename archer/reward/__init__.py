"""Rule-based rewards for archer (math answers and sandboxed code), usable as verl's custom reward function::

    reward.custom_reward_function.path=pkg://archer.reward
    reward.custom_reward_function.name=compute_score

Importing this package is cheap: no verl, no sympy. The math checker's worker processes start on the
first answer that needs a symbolic comparison. See docs/reward_math.md.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if __name__ != "archer.reward":
    # Loaded by file path (verl's `custom_reward_function.path=/.../archer/reward/__init__.py`) under a
    # synthetic module name: make the real package importable so the absolute imports below resolve.
    _root = str(Path(__file__).resolve().parents[2])
    if _root not in sys.path:
        sys.path.insert(0, _root)

__all__ = ["compute_score", "grader_stats", "timeout_count", "shutdown"]


def compute_score(
    data_source: Any,
    solution_str: Any,
    ground_truth: Any,
    extra_info: dict | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Score one response.

    Returns a dict with ``score`` (float), ``acc`` (bool), ``pred`` (extracted answer or None),
    ``repetition_ratio``, ``response_has_answer`` and ``grader_timeout``. ``kwargs`` are the grader's
    options (verl passes ``reward.custom_reward_function.reward_kwargs`` here). An unknown
    ``data_source`` raises ValueError; code sources go to the sandboxed code grader (archer.reward.code.grader).
    """
    from archer.reward.dispatch import compute_score as _dispatch

    return _dispatch(data_source, solution_str, ground_truth, extra_info, **kwargs)


def grader_stats() -> dict[str, int]:
    """Math grader counters of this process (graded, fast, symbolic, timeouts, crashes, too_long)."""
    from archer.reward.math.grader import grader_stats as _stats

    return _stats()


def timeout_count() -> int:
    """Number of math answers whose symbolic check hit the timeout in this process."""
    from archer.reward.math.grader import timeout_count as _count

    return _count()


def shutdown() -> None:
    """Kill the grader worker processes now (also done automatically at interpreter exit)."""
    from archer.reward.math.pool import shutdown_pools

    shutdown_pools()
