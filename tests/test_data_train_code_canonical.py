"""Archer2.0-style code rows become canonical ground truth that the code grader parses, with the prompt in
LiveCodeBench's layout (starter code kept, stdin instructions otherwise)."""

from __future__ import annotations

import json

from data_support import FIXTURES, read_rows, run_prepare

from archer.reward.code.testcases import parse_ground_truth


def test_code_rows_have_canonical_ground_truth(tmp_path):
    assert run_prepare(tmp_path, "code", "--no-decontam", "--max-bad-fraction", "0.25",
                       archer2_code=FIXTURES / "archer2_code.parquet") == 0
    rows = read_rows(tmp_path / "train" / "code.parquet")
    assert [r["extra_info"]["original_id"] for r in rows] == ["0", "1", "2", "3"]
    for r in rows:
        gt = json.loads(r["reward_model"]["ground_truth"])
        assert set(gt) == {"tests", "fn_name"}
        parsed = parse_ground_truth(r["reward_model"]["ground_truth"])
        assert parsed.total == r["extra_info"]["num_tests"]
        assert r["data_source"] == "archer2_code" and r["ability"] == "code"
    stdin, call = rows[0], rows[1]
    assert json.loads(stdin["reward_model"]["ground_truth"])["tests"][1] == {"input": "5 7\n", "output": "12\n",
                                                                            "testtype": "stdin"}
    assert "standard input" in stdin["prompt"][0]["content"]
    gt = json.loads(call["reward_model"]["ground_truth"])
    assert gt["fn_name"] == "total" and gt["tests"][0] == {"input": "[1, 2, 3]", "output": "6", "testtype": "functional"}
    content = call["prompt"][0]["content"]
    assert content.startswith("### Question:\nReturn the sum of the list nums.\n")
    assert "```python\nclass Solution:\n    def total(self, nums: List[int]) -> int:\n```" in content
    assert content.count("### Format:") == 1
