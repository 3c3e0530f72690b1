"""Positive controls: correct stdin, call-based and assert-style programs score 1 in every accepted
ground-truth form; LiveCodeBench's comparison rules (stripping, Decimal equality) hold."""

from archer.reward.code import sandbox as sb
from archer.reward.code.grader import compute_code_score


import json
from code_reward_support import resp, stdin_gt, leftovers

SUM = "a, b = map(int, input().split())\nprint(a + b)"


def test_stdin_program_passes():
    r = compute_code_score("livecodebench", resp(SUM), json.dumps(stdin_gt(("1 2\n", "3\n"), ("10 -4", "6"))))
    waited = r.pop("sandbox_wait_s")
    assert 0.0 <= waited < 60.0
    assert r == {"score": 1.0, "acc": True, "passed": 2, "total": 2, "failure_kind": None, "isolation": sb.detect_isolation(),
                 "code_timeout": False}


def test_call_based_solution_passes():
    code = "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n" \
           "        seen = {}\n        for i, x in enumerate(nums):\n            if target - x in seen:\n" \
           "                return [seen[target - x], i]\n            seen[x] = i\n"
    gt = {"tests": [{"input": "[2, 7, 11, 15]\n9", "output": "[0, 1]", "testtype": "functional"},
                    {"input": "[3, 2, 4]\n6", "output": "[1, 2]", "testtype": "functional"}], "fn_name": "twoSum"}
    r = compute_code_score("livecodebench", resp(code), gt)
    assert r["acc"] and r["passed"] == 2 and r["score"] == 1.0


def test_tuple_result_counts_as_list():
    code = "class Solution:\n    def f(self, x):\n        return (x, x)"
    gt = {"tests": [{"input": "3", "output": "[3, 3]", "testtype": "functional"}], "fn_name": "f"}
    assert compute_code_score("lcb", resp(code), gt)["acc"]


def test_inputs_outputs_forms():
    assert compute_code_score("code", resp(SUM), {"inputs": ["1 1\n"], "outputs": ["2\n"]})["acc"]
    gt = {"inputs": [[[1, 2, 3]]], "outputs": [6], "fn_name": "total"}
    assert compute_code_score("taco", resp("def total(xs):\n    return sum(xs)"), gt)["acc"]


def test_livecodebench_list_with_starter_code():
    tests = [{"input": "[1, 2]", "output": "3", "testtype": "functional"}]
    code = "class Solution:\n    def addUp(self, xs):\n        return sum(xs)"
    starter = "class Solution:\n    def addUp(self, xs: List[int]) -> int:\n        "
    r = compute_code_score("livecodebench", resp(code), json.dumps(tests), {"starter_code": starter})
    assert r["acc"]
    tests[0]["metadata"] = {"func_name": "addUp"}
    assert compute_code_score("livecodebench", resp(code), json.dumps(tests))["acc"]


def test_assert_style_passes():
    gt = {"functional": "def check(candidate):\n    assert candidate(2) == 4\n    assert candidate(0) == 0\n", "fn_name": "double"}
    assert compute_code_score("humaneval", resp("def double(x):\n    return 2 * x"), gt)["acc"]


def test_numeric_and_whitespace_rules():
    prog = "print('1.50  2')\nprint('  x ')"
    assert compute_code_score("code", resp(prog), stdin_gt(("", "1.5 2.0\nx\n\n")))["acc"]
    # no approximate tolerance: Decimal equality only (as LiveCodeBench)
    assert not compute_code_score("code", resp("print(0.1 + 0.2)"), stdin_gt(("", "0.3")))["acc"]


def test_lcb_prelude_names_available():
    prog = "print(gcd(12, 18), max(accumulate([1, 2, 3])), Counter('aab')['a'])"
    assert compute_code_score("code", resp(prog), stdin_gt(("", "6 6 2")))["acc"]


def test_stdin_read_styles():
    prog = "import sys\ndata = sys.stdin.buffer.read().split()\nprint(sum(map(int, data)), open(0).read() == '')"
    assert compute_code_score("code", resp(prog), stdin_gt(("1 2\n3\n", "6 True")))["acc"]


def test_batch_keeps_order():
    from archer.reward.code.grader import compute_code_score_batch

    gts = [stdin_gt(("1 2", "3")), stdin_gt(("1 2", "4"))] * 3
    out = compute_code_score_batch(["code"] * 6, [resp(SUM)] * 6, gts)
    assert [o["acc"] for o in out] == [True, False] * 3
    assert not leftovers()
