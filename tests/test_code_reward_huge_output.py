"""Output beyond the cap (1 MiB per test by default) stops the program early; it scores 0."""

from archer.reward.code.grader import compute_code_score


import time
from code_reward_support import resp, stdin_gt, leftovers


def test_huge_output():
    t0 = time.monotonic()
    r = compute_code_score("code", resp("while True:\n    print('x' * 10000)"), stdin_gt(("", "1")), per_test_timeout=5.0)
    assert (r["score"], r["failure_kind"]) == (0.0, "runtime error")
    assert time.monotonic() - t0 - r["sandbox_wait_s"] < 3.0  # cut at the cap, not at the timeout
    assert not leftovers()


def test_huge_stderr_and_result():
    r = compute_code_score("code", resp("import sys\nfor _ in range(10**5):\n    sys.stderr.write('e' * 1000)\nprint(1)"),
                           stdin_gt(("", "1")), per_test_timeout=5.0)
    assert r["acc"]  # stderr beyond its cap is dropped, not an error
    gt = {"tests": [{"input": "1", "output": "1", "testtype": "functional"}], "fn_name": "f"}
    r = compute_code_score("code", resp("class Solution:\n    def f(self, x):\n        return 'y' * (3 * 2**20)"), gt)
    assert r["failure_kind"] == "runtime error"
