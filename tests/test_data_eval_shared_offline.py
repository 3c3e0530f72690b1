"""Every eval set prepares offline from the real files in ../shared/data with the expected row counts;
each math answer grades its own boxed form as correct; code ground truth parses for the code grader."""

from __future__ import annotations

import json

import pytest

from data_support import SHARED, needs_shared, read_rows

from archer.data import validate_prepared
from archer.data.__main__ import main

EXPECTED = {"aime2024": 30, "aime2025": 30, "amc2023": 40, "math500": 500, "minerva": 272, "olympiadbench": 675,
            "livecodebench_v5": 279}

pytestmark = needs_shared


@pytest.fixture(scope="module")
def eval_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval_out")
    rc = main(["prepare", "--suite", "eval", "--local-dir", str(SHARED), "--out-dir", str(out), "--no-progress"])
    assert rc == 0
    return out / "eval"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_eval_set_has_expected_rows_and_validates(eval_dir, name):
    info = validate_prepared(eval_dir / f"{name}.parquet")
    assert info["rows"] == EXPECTED[name]
    assert info["data_sources"] == {name: EXPECTED[name]}
    report = json.loads((eval_dir / f"{name}.report.json").read_text())
    assert report["status"] == "ok" and report["bad_rows"] == 0


def test_answers_are_strings_without_float_or_padding_artifacts(eval_dir):
    amc = {r["extra_info"]["original_id"]: r["reward_model"]["ground_truth"] for r in read_rows(eval_dir / "amc2023.parquet")}
    assert amc["0"] == "27"  # source answer is the float 27.0
    aime = [r["reward_model"]["ground_truth"] for r in read_rows(eval_dir / "aime2024.parquet")]
    assert "25" in aime and not any(a.startswith("0") for a in aime)  # '025' in the source
    minerva = read_rows(eval_dir / "minerva.parquet")
    assert minerva[0]["reward_model"]["ground_truth"] == "1.6"  # last \boxed of the first solution
    olymp = {r["extra_info"]["original_id"]: r["reward_model"]["ground_truth"] for r in read_rows(eval_dir / "olympiadbench.parquet")}
    assert olymp["1606"] == "2"
    assert any(", " in a for a in olymp.values())  # multiple answers joined


def test_prompt_is_user_turn_with_boxed_instruction(eval_dir):
    row = read_rows(eval_dir / "math500.parquet")[0]
    assert [m["role"] for m in row["prompt"]] == ["user"]
    assert row["prompt"][0]["content"].startswith(row["extra_info"]["problem"])
    assert row["prompt"][0]["content"].endswith("output the final answer within \\boxed{}.")


@pytest.mark.parametrize("name", ["aime2024", "aime2025", "amc2023", "math500", "minerva", "olympiadbench"])
def test_correct_boxed_answer_scores_one(eval_dir, name):
    from archer.reward import compute_score

    for row in read_rows(eval_dir / f"{name}.parquet")[:5]:
        gt = row["reward_model"]["ground_truth"]
        result = compute_score(row["data_source"], f"<think>done</think> The answer is \\boxed{{{gt}}}.", gt, row["extra_info"])
        assert result["score"] == 1.0, (name, gt)
        wrong = compute_score(row["data_source"], "<think>done</think> \\boxed{123456789}", gt, row["extra_info"])
        assert wrong["score"] == 0.0


def test_livecodebench_v5_is_public_tests_only_and_parses(eval_dir):
    from archer.reward.code.testcases import parse_ground_truth

    rows = read_rows(eval_dir / "livecodebench_v5.parquet")
    assert all(r["extra_info"]["public_tests_only"] for r in rows)
    modes = {}
    for r in rows:
        parsed = parse_ground_truth(r["reward_model"]["ground_truth"])
        modes[parsed.mode] = modes.get(parsed.mode, 0) + 1
        assert parsed.total == r["extra_info"]["num_tests"]
    assert modes == {"stdin": 175, "call": 104}  # SOURCE.txt: 175 stdin, 104 LeetCode functional
    call = next(r for r in rows if r["extra_info"]["fn_name"])
    assert "```python\nclass Solution:" in call["prompt"][0]["content"]
    report = json.loads((eval_dir / "livecodebench_v5.report.json").read_text())
    assert report["public_tests_only_rows"] == 279


def test_livecodebench_v6_is_skipped_with_reason(eval_dir):
    assert not (eval_dir / "livecodebench_v6.parquet").exists()
    report = json.loads((eval_dir / "livecodebench_v6.report.json").read_text())
    assert report["status"] == "skipped"
    assert "no local file for livecodebench_v6" in report["message"]


def test_strict_fails_when_an_eval_set_has_no_source(tmp_path, capsys):
    rc = main(["prepare", "--suite", "eval", "--local-dir", str(SHARED), "--out-dir", str(tmp_path), "--no-progress",
               "--sets", "aime2024,livecodebench_v6", "--strict"])
    assert rc == 1
    assert "livecodebench_v6" in capsys.readouterr().err
    assert (tmp_path / "eval" / "aime2024.parquet").exists()


def test_math500_answers_are_the_source_strings_unchanged(eval_dir):
    src = [json.loads(line)["answer"] for line in (SHARED / "math500" / "test.jsonl").open()]
    got = [r["reward_model"]["ground_truth"] for r in read_rows(eval_dir / "math500.parquet")]
    assert got == src
    assert "\\$18.90" in got  # an escaped dollar sign is part of the answer, not a math delimiter
