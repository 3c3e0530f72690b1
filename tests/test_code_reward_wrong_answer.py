"""Wrong answers score 0 with kind "wrong answer"; passed/total are reported."""

from archer.reward.code.grader import compute_code_score
from code_reward_support import resp, stdin_gt


def test_stdin_wrong_answer():
    prog = "n = int(input())\nprint(n * 2 if n < 5 else 0)"
    r = compute_code_score("code", resp(prog), stdin_gt(("1", "2"), ("2", "4"), ("9", "18")))
    assert r["score"] == 0.0 and not r["acc"]
    assert (r["passed"], r["total"], r["failure_kind"]) == (2, 3, "wrong answer")


def test_extra_output_line_is_wrong():
    assert compute_code_score("code", resp("print(1)\nprint(2)"), stdin_gt(("", "1")))["failure_kind"] == "wrong answer"


def test_call_wrong_answer():
    gt = {"tests": [{"input": "2", "output": "4", "testtype": "functional"}], "fn_name": "sq"}
    r = compute_code_score("code", resp("class Solution:\n    def sq(self, x):\n        return x + 1"), gt)
    assert r["failure_kind"] == "wrong answer" and r["score"] == 0.0


def test_assert_wrong_answer():
    r = compute_code_score("humaneval", resp("def f(x):\n    return x"), {"functional": "assert f(2) == 3"})
    assert r["failure_kind"] == "wrong answer" and not r["acc"]


def test_configurable_scores():
    r = compute_code_score("code", resp("print(1)"), stdin_gt(("", "2")), fail_score=-1.0)
    assert r["score"] == -1.0
    r = compute_code_score("code", resp("print(2)"), stdin_gt(("", "2")), pass_score=5.0)
    assert r["score"] == 5.0
