"""Determinism: the same input always gets the same result, whichever path or worker decides it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from archer.reward import compute_score, shutdown

CASES = [
    ("\\boxed{25}", "025"),
    ("\\boxed{\\frac{1}{2}}", "0.5"),
    ("\\boxed{0.05}", "0.5"),
    ("\\boxed{(x+1)^2}", "x^2+2x+1"),
    ("\\boxed{\\sqrt{18}}", "3\\sqrt{2}"),
    ("\\boxed{2\\sqrt{3}}", "3\\sqrt{2}"),
    ("\\boxed{\\left(3, \\frac{\\pi}{2}\\right)}", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("\\boxed{\\{1,2\\}}", "\\{2,1\\}"),
    ("\\boxed{x \\in [1,2]}", "[1,2]"),
    ("\\boxed{\\text{Devon}}", "\\text{Devon}"),
    ("\\boxed{\\frac{\\sqrt{3}}{3}}", "\\frac{1}{\\sqrt{3}}"),
    ("\\boxed{e^{i\\pi}}", "-1"),  # math-verify does not evaluate this: consistently wrong
    ("<think>\\boxed{1}</think>\\boxed{2}", "2"),
    ("no box", "2"),
]


def _grade_all():
    return [compute_score("math", r, g, timeout_s=20) for r, g in CASES]


def test_repeated_runs_agree():
    first = _grade_all()
    for _ in range(3):
        assert _grade_all() == first


def test_fresh_workers_agree():
    first = _grade_all()
    shutdown()
    assert _grade_all() == first


def test_threads_agree_with_sequential():
    sequential = _grade_all()
    with ThreadPoolExecutor(max_workers=8) as ex:
        threaded = list(ex.map(lambda case: compute_score("math", case[0], case[1], timeout_s=20), CASES * 3))
    assert threaded == sequential * 3


def test_expected_verdicts():
    verdicts = [r["acc"] for r in _grade_all()]
    assert verdicts == [True, True, False, True, True, False, True, True, True, True, True, False, True, False]
