"""`score` on the synthetic fixtures: summary.json holds the hand-computed avg@n / pass@n, and the tables
show them in the paper's layout."""

from __future__ import annotations

import csv
import json

import pytest

from code_reward_support import needs_bwrap
from eval_support import CODE_EXPECTED, CODE_GENERATIONS, MATH_EXPECTED, MATH_GENERATIONS, read_jsonl, run_cli


def check_summary(summary: dict, expected: dict) -> None:
    assert list(summary) == list(expected)  # registry order, then other sources
    for source, (n, problems, avg, pas) in expected.items():
        entry = summary[source]
        assert set(entry) == {"n", "problems", "avg", "pass"}
        assert entry["n"] == n and entry["problems"] == problems, source
        assert entry["avg"] == pytest.approx(avg), source
        assert entry["pass"] == pytest.approx(pas), source


@pytest.fixture(scope="module")
def math_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("math_score")
    code, stdout, stderr = run_cli("score", "--generations", str(MATH_GENERATIONS), "--out", str(out),
                                   "--workers", "4", "--no-progress", "--label", "fixture")
    assert code == 0, stderr
    return out, stdout


def test_score_writes_hand_computed_summary_for_math_fixture(math_out):
    out, _ = math_out
    check_summary(json.loads((out / "summary.json").read_text()), MATH_EXPECTED)


def test_score_writes_one_result_per_sample_with_grader_fields(math_out):
    out, _ = math_out
    records = read_jsonl(out / "results.jsonl")
    assert len(records) == 4 * 3 + 2 * 2 + 8 + 3
    keys = {(r["data_source"], r["index"], r["sample"]) for r in records}
    assert len(keys) == len(records)
    wrong = next(r for r in records if (r["data_source"], r["index"], r["sample"]) == ("aime2024", 0, 2))
    assert wrong["acc"] is False and wrong["pred"] == "205"
    no_box = next(r for r in records if (r["data_source"], r["index"], r["sample"]) == ("aime2024", 1, 2))
    assert no_box["pred"] is None and no_box["response_has_answer"] is False


def test_table_md_has_paper_columns_and_marks_non_paper_sample_counts(math_out):
    out, stdout = math_out
    md = (out / "table.md").read_text()
    assert stdout.strip() == md.strip()
    header = next(line for line in md.splitlines() if line.startswith("| Method | AIME24"))
    assert header.split(" | ")[1:4] == ["AIME24 avg@64", "AIME24 pass@64", "AIME25 avg@64"]
    assert "Olympiad pass@4 | Avg. |" in header
    row = next(line for line in md.splitlines() if line.startswith("| fixture | 50.0"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # AIME24 (n=4 instead of 64), AIME25/AMC23 missing, MATH-500 (n=2), Minerva at the paper's k=8, no Avg.
    assert cells == ["fixture", "50.0 (n=4)", "66.7 (n=4)", "–", "–", "–", "–", "25.0 (n=2)", "50.0 (n=2)",
                     "37.5", "100.0", "–", "–", "–"]
    assert "| fixture | gsm8k | 3 | 1 | 33.3 | 100.0 |" in md  # outside the paper's tables: summary table only
    assert "Table 2" not in md  # no code benchmark in this file


def test_table_csvs_hold_unrounded_values(math_out):
    out, _ = math_out
    rows = list(csv.DictReader((out / "table_math.csv").open()))
    assert [r["method"] for r in rows] == ["fixture"]
    assert float(rows[0]["AIME24 pass@64"]) == pytest.approx(200 / 3, abs=1e-3)
    assert rows[0]["AIME24 n"] == "4" and rows[0]["AIME25 avg@64"] == ""
    summary_rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [r["data_source"] for r in summary_rows] == ["aime2024", "math500", "minerva", "gsm8k"]


def test_reference_rows_are_added_beside_ours(tmp_path):
    code, stdout, stderr = run_cli("score", "--generations", str(MATH_GENERATIONS), "--out", str(tmp_path),
                                   "--no-progress", "--reference")
    assert code == 0, stderr
    md = (tmp_path / "table.md").read_text()
    assert "| ASPO-Math-1.5B [ref] | 49.0 | 80.0 | 35.1 | 70.0 | 87.2 | 95.0 | 90.5 | 94.4 | 35.1 | 50.4 | 58.8 | 66.9 | 59.3 |" in md
    assert "| DeepSeek-R1-1.5B [ref] | 30.6 | 80.0 |" in md
    assert "Qwen3-4B" not in md  # default group: the 1.5B block
    methods = [r["method"] for r in csv.DictReader((tmp_path / "table_math.csv").open())]
    assert methods[-1] == tmp_path.name and "ASPO-Math-1.5B (DeepSeek-R1-Distill-Qwen-1.5B)" in methods


@needs_bwrap
def test_score_grades_code_fixture_in_sandbox_and_fills_table_2(tmp_path):
    code, stdout, stderr = run_cli("score", "--generations", str(CODE_GENERATIONS), "--out", str(tmp_path),
                                   "--no-progress", "--label", "fixture")
    assert code == 0, stderr
    check_summary(json.loads((tmp_path / "summary.json").read_text()), CODE_EXPECTED)
    md = (tmp_path / "table.md").read_text()
    # both LCB columns present -> Avg. = mean of the two avg cells = (25 + 100) / 2
    assert "| fixture | 25.0 (n=2) | 50.0 (n=2) | 100.0 (n=2) | 100.0 (n=2) | 62.5 |" in md
    kinds = {(r["index"], r["sample"]): r["failure_kind"] for r in read_jsonl(tmp_path / "results.jsonl")
             if r["data_source"] == "livecodebench_v5"}
    assert kinds == {(0, 0): None, (0, 1): "wrong answer", (1, 0): "wrong answer", (1, 1): "no code"}
