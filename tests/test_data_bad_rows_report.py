"""Bad rows are counted per reason, reported on stderr and in <output>.report.json, and more than
--max-bad-fraction of them fails the command without writing the output."""

from __future__ import annotations

import json

from data_support import FIXTURES, read_rows, run_prepare


def test_bad_rows_are_counted_per_reason_and_reported(tmp_path, capsys):
    rc = run_prepare(tmp_path, "math", "--no-decontam", "--max-bad-fraction", "0.8",
                     deepscaler=FIXTURES / "math_bad_rows.jsonl", skywork_or1_math="none", dapo_math="none")
    assert rc == 0
    report = json.loads((tmp_path / "train" / "math.report.json").read_text())
    assert report["bad_by_reason"] == {"empty prompt": 1, "missing answer": 2}
    assert report["rows_read"] == 4 and report["bad_rows"] == 3 and report["rows_written"] == 1
    assert report["bad_fraction"] == 0.75
    assert report["bad_examples"]["missing answer"][0].startswith("deepscaler row 1:")
    err = capsys.readouterr().err
    assert "bad[empty prompt]=1" in err and "bad[missing answer]=2" in err
    assert [r["reward_model"]["ground_truth"] for r in read_rows(tmp_path / "train" / "math.parquet")] == ["5"]


def test_too_many_bad_rows_fail_and_leave_no_output(tmp_path, capsys):
    rc = run_prepare(tmp_path, "math", "--no-decontam", deepscaler=FIXTURES / "math_bad_rows.jsonl",
                     skywork_or1_math="none", dapo_math="none")
    assert rc == 1
    assert not (tmp_path / "train" / "math.parquet").exists()
    assert not list((tmp_path / "train").glob(".*tmp*"))  # temp file removed
    report = json.loads((tmp_path / "train" / "math.report.json").read_text())
    assert report["status"] == "failed"
    err = capsys.readouterr().err
    assert "3 of 4 rows are bad (75.00% > --max-bad-fraction 5.00%)" in err


def test_unparsable_code_tests_are_a_counted_reason(tmp_path):
    rc = run_prepare(tmp_path, "code", "--no-decontam", "--max-bad-fraction", "0.25",
                     archer2_code=FIXTURES / "archer2_code.parquet")
    assert rc == 0
    report = json.loads((tmp_path / "train" / "code.report.json").read_text())
    assert report["bad_by_reason"] == {"unparsable tests": 1}
    assert "not valid JSON" in report["bad_examples"]["unparsable tests"][0]


def test_unreadable_source_fails_with_its_name(tmp_path, capsys):
    rc = run_prepare(tmp_path, "math", "--no-decontam", deepscaler=tmp_path / "missing.jsonl",
                     skywork_or1_math="none", dapo_math="none")
    assert rc == 1
    assert "missing.jsonl: no such file or directory" in capsys.readouterr().err
