"""pass@k equals exact enumeration over k-subsets, stays accurate for large n, and rejects bad arguments."""

from __future__ import annotations

import itertools
import math
import re
from fractions import Fraction

import pytest

from archer.eval import avg_at_k, pass_at_k


def enumerated_pass_at_k(n: int, c: int, k: int) -> Fraction:
    """Fraction of all k-subsets of n samples (the first c correct) that hold a correct sample."""
    subsets = list(itertools.combinations(range(n), k))
    return Fraction(sum(1 for s in subsets if any(i < c for i in s)), len(subsets))


@pytest.mark.parametrize("n", range(1, 9))
def test_pass_at_k_equals_enumeration_of_all_subsets(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert pass_at_k(n, c, k) == pytest.approx(float(enumerated_pass_at_k(n, c, k)), abs=1e-12), (n, c, k)


def test_pass_at_k_hand_values():
    assert pass_at_k(4, 0, 4) == 0.0
    assert pass_at_k(4, 1, 4) == 1.0
    assert pass_at_k(4, 1, 1) == pytest.approx(0.25)
    assert pass_at_k(4, 2, 2) == pytest.approx(1 - 1 / 6)  # C(2,2)/C(4,2) = 1/6 of pairs miss
    assert pass_at_k(64, 3, 8) == pytest.approx(1 - math.comb(61, 8) / math.comb(64, 8), rel=1e-12)


def test_pass_at_k_is_accurate_for_large_n():
    # exact rational value with Python's big integers, compared with the float product form
    for n, c, k in [(1024, 1, 1), (1024, 1, 512), (1024, 3, 100), (1024, 1000, 10), (4096, 7, 2048)]:
        exact = 1 - Fraction(math.comb(n - c, k), math.comb(n, k))
        assert pass_at_k(n, c, k) == pytest.approx(float(exact), rel=1e-12, abs=1e-15)
    assert pass_at_k(1024, 1, 1) == pytest.approx(1 / 1024, rel=1e-12)  # tiny values keep relative precision


@pytest.mark.parametrize(
    "args, fragment",
    [((4, 5, 2), "0 <= c <= n"), ((4, -1, 2), "0 <= c <= n"), ((4, 2, 0), "1 <= k <= n"),
     ((4, 2, 5), "1 <= k <= n"), ((0, 0, 1), "n (samples) must be >= 1")],
)
def test_pass_at_k_rejects_out_of_range_arguments(args, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        pass_at_k(*args)


def test_pass_at_k_rejects_non_integers():
    with pytest.raises(TypeError, match="k must be an int"):
        pass_at_k(4, 1, 2.0)


def test_avg_at_k_is_mean_accuracy_and_rejects_no_samples():
    assert avg_at_k([True, False, False, True]) == 0.5
    with pytest.raises(ValueError, match="no samples"):
        avg_at_k([])

