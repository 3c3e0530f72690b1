"""avg@k and the unbiased pass@k estimator.

pass@k (Chen et al. 2021, "Evaluating Large Language Models Trained on Code"): with n samples of a problem
of which c are correct, the probability that at least one of k samples drawn without replacement is
correct is ``1 - C(n-c, k) / C(n, k)``. The ratio of binomials is evaluated as the product
``prod_{i=n-c+1}^{n} (1 - k/i)``, which never forms a large binomial, so it is exact to float precision
for any n (no overflow at n = 1024 and beyond).

verl's validation reports best@N (bootstrap maximum over subsets), which is not this estimator.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

__all__ = ["pass_at_k", "avg_at_k", "problem_pass_at_k"]


def _check_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if hasattr(value, "item") and not hasattr(value, "__len__"):  # numpy integer
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"pass_at_k: {name} must be an int, got {type(value).__name__} {value!r}")
    return value


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem with ``n`` samples of which ``c`` are correct, as a fraction in [0, 1].

    Requires ``0 <= c <= n`` and ``1 <= k <= n``; anything else raises ValueError naming the values.
    """
    n, c, k = _check_int("n", n), _check_int("c", c), _check_int("k", k)
    if n < 1:
        raise ValueError(f"pass_at_k: n (samples) must be >= 1, got n={n}")
    if not 0 <= c <= n:
        raise ValueError(f"pass_at_k: need 0 <= c <= n, got c={c}, n={n}")
    if not 1 <= k <= n:
        raise ValueError(f"pass_at_k: need 1 <= k <= n, got k={k}, n={n}")
    if n - c < k:  # every k-subset holds a correct sample
        return 1.0
    # C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k / i); summed in log space to keep precision
    log_fail = math.fsum(math.log1p(-k / i) for i in range(n - c + 1, n + 1))
    return 1.0 - math.exp(log_fail)


def avg_at_k(correct: Sequence[bool]) -> float:
    """Mean accuracy over one problem's samples (a fraction); ValueError for no samples."""
    if len(correct) == 0:
        raise ValueError("avg_at_k: no samples")
    return sum(1 for x in correct if x) / len(correct)


def problem_pass_at_k(correct: Iterable[bool], k: int | None = None) -> float:
    """pass@k of one problem from its per-sample correctness (k defaults to the number of samples)."""
    flags = list(correct)
    n = len(flags)
    return pass_at_k(n, sum(1 for x in flags if x), n if k is None else k)
