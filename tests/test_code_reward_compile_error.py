"""Programs that do not compile score 0 with kind "compile error"."""
import pytest

from archer.reward.code.grader import compute_code_score


from code_reward_support import resp, stdin_gt


@pytest.mark.parametrize("code", ["def f(:\n    pass", "print('a'", "x = 1\n  y = 2", "a = '\x00'\x00"])
def test_compile_error(code):
    r = compute_code_score("code", resp(code), stdin_gt(("", "1")))
    assert (r["score"], r["acc"], r["passed"], r["failure_kind"]) == (0.0, False, 0, "compile error")


def test_compile_error_call_and_assert_modes():
    gt = {"tests": [{"input": "1", "output": "1", "testtype": "functional"}], "fn_name": "f"}
    assert compute_code_score("code", resp("class Solution\n"), gt)["failure_kind"] == "compile error"
    assert compute_code_score("humaneval", resp("def f(x) return x"), {"functional": "assert f(1) == 1"})["failure_kind"] == "compile error"
