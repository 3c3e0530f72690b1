"""Malformed ground truth raises ValueError naming the problem (before anything runs)."""
import pytest

from archer.reward.code.grader import compute_code_score



from archer.reward.code.testcases import parse_ground_truth
from code_reward_support import resp, stdin_gt


@pytest.mark.parametrize("gt, words", [
    ("{not json", "not valid JSON"),
    ("42", "object or list"),
    ({}, "unknown form"),
    ({"tests": []}, "non-empty list"),
    ({"tests": [{"input": "1"}]}, "lacks ['output']"),
    ({"tests": [{"input": 1, "output": "1"}]}, "input must be a string"),
    ({"tests": [{"input": "1", "output": "1", "testtype": "weird"}]}, "testtype"),
    ({"tests": [{"input": "1", "output": "1", "testtype": "functional"}]}, "need fn_name"),
    ({"tests": [{"input": "1", "output": "1", "testtype": "functional"}], "fn_name": "not valid"}, "identifier"),
    ({"tests": [{"input": "{oops", "output": "1", "testtype": "functional"}], "fn_name": "f"}, "is not JSON"),
    ({"tests": [{"input": "1", "output": "1", "testtype": "functional"}, {"input": "1", "output": "1"}], "fn_name": "f"}, "mixes"),
    ({"inputs": ["1"], "outputs": []}, "1 inputs but 0 outputs"),
    ({"inputs": ["1"]}, "both 'inputs' and 'outputs'"),
    ({"inputs": [], "outputs": []}, "no tests"),
    ({"functional": ""}, "non-empty string"),
    ({"functional": "assert (("}, "does not parse"),
    ({"functional": "def check(candidate):\n    assert candidate(1)\n"}, "no fn_name"),
    ([1, 2], "test 0 must be an object"),
])
def test_malformed(gt, words):
    with pytest.raises(ValueError, match=None) as ei:
        parse_ground_truth(gt)
    assert words in str(ei.value)
    with pytest.raises(ValueError):
        compute_code_score("code", resp("print(1)"), gt)


def test_max_tests_subset_is_deterministic():
    gt = stdin_gt(*[(str(i), str(i)) for i in range(20)])
    a = parse_ground_truth(gt).subset(5)
    b = parse_ground_truth(gt).subset(5)
    assert a == b and len(a.tests) == 5
    assert parse_ground_truth(gt).subset(None) == parse_ground_truth(gt)
    r = compute_code_score("code", resp("print(input())"), gt, max_tests=3)
    assert r["total"] == 3 and r["acc"]
