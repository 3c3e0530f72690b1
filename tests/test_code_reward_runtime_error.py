"""Exceptions, non-plain results and non-zero exits are runtime errors."""

from archer.reward.code.grader import compute_code_score
from code_reward_support import resp, stdin_gt, leftovers


def test_exception_is_runtime_error():
    r = compute_code_score("code", resp("x = int(input())\nprint(1 // (x - x))"), stdin_gt(("3", "1")))
    assert (r["score"], r["failure_kind"]) == (0.0, "runtime error")


def test_call_exception_and_missing_method():
    gt = {"tests": [{"input": "1", "output": "1", "testtype": "functional"}], "fn_name": "f"}
    assert compute_code_score("code", resp("class Solution:\n    def f(self, x):\n        raise KeyError(x)"), gt)["failure_kind"] == "runtime error"
    assert compute_code_score("code", resp("class Solution:\n    def g(self, x):\n        return x"), gt)["failure_kind"] == "runtime error"


def test_unserializable_result_is_runtime_error():
    gt = {"tests": [{"input": "1", "output": "1", "testtype": "functional"}], "fn_name": "f"}
    r = compute_code_score("code", resp("class Solution:\n    def f(self, x):\n        return object()"), gt)
    assert r["failure_kind"] == "runtime error"


def test_deep_recursion_is_contained():
    prog = "import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1) + 1\nprint(f(0))"
    r = compute_code_score("code", resp(prog), stdin_gt(("", "1")), per_test_timeout=3)
    assert r["score"] == 0.0 and r["failure_kind"] in ("runtime error", "timeout")
    assert not leftovers()
