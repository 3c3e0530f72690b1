"""LiveCodeBench: selection by contest date, private tests decoded as LiveCodeBench stores them, and a
restricted unpickler that refuses anything but a plain string (such rows are counted, never executed)."""

from __future__ import annotations

import base64
import json
import pickle
import zlib

import pytest

from data_support import FIXTURES, read_rows, run_prepare

from archer.data.lcb import decode_private_tests
from archer.data.rows import RowError


def test_windows_select_by_contest_date_and_merge_private_tests(tmp_path):
    rc = run_prepare(tmp_path, "eval", livecodebench_v5=FIXTURES / "lcb_raw", livecodebench_v6=FIXTURES / "lcb_raw")
    assert rc == 0
    v5 = read_rows(tmp_path / "eval" / "livecodebench_v5.parquet")
    assert [r["extra_info"]["original_id"] for r in v5] == ["abc370_a", "3500"]  # 2023 row out; repeat in test6 once
    gt = json.loads(v5[0]["reward_model"]["ground_truth"])
    assert gt == {"tests": [{"input": "1 2\n", "output": "3\n", "testtype": "stdin"},
                            {"input": "10 20\n", "output": "30\n", "testtype": "stdin"}], "fn_name": None}
    assert json.loads(v5[1]["reward_model"]["ground_truth"])["fn_name"] == "addAll"
    assert not any(r["extra_info"]["public_tests_only"] for r in v5)
    v6 = read_rows(tmp_path / "eval" / "livecodebench_v6.parquet")
    assert [(r["extra_info"]["original_id"], r["extra_info"]["contest_date"]) for r in v6] == [("abc400_a", "2025-03-15T00:00:00")]


def test_pickle_with_globals_or_non_string_is_counted_not_run(tmp_path, capsys):
    rc = run_prepare(tmp_path, "eval", "--max-bad-fraction", "0.7", livecodebench_v5=FIXTURES / "lcb_unsafe.jsonl")
    assert rc == 0
    assert "this must never run" not in capsys.readouterr().out
    report = json.loads((tmp_path / "eval" / "livecodebench_v5.report.json").read_text())
    assert report["bad_by_reason"] == {"unsafe private tests": 2}
    assert report["rows_written"] == 1


def test_decoding_forms():
    tests = [{"input": "1\n", "output": "2\n", "testtype": "stdin"}]
    assert decode_private_tests(json.dumps(tests)) == tests
    assert decode_private_tests(base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()) == tests
    assert decode_private_tests("") == []
    with pytest.raises(RowError, match="unparsable tests"):
        decode_private_tests("@@not base64 nor json@@")
    evil = base64.b64encode(zlib.compress(pickle.dumps(ValueError("x")))).decode()
    with pytest.raises(RowError) as e:
        decode_private_tests(evil)
    assert e.value.reason == "unsafe private tests" and "not allowed" in str(e.value)
