"""validate_prepared accepts a prepared verl file and names the file and the problem otherwise."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from archer.data import validate_prepared
from archer.data.rows import ParquetRowWriter, make_row, schema_for


def _write(path, rows, schema=None):
    schema = schema or schema_for({"original_id": pa.string()})
    with ParquetRowWriter(path, schema) as w:
        w.write_all(rows)
    return path


def _row(ds="aime2024", gt="204", ability="math", i=0):
    return make_row(ds, "What is x? Let's think.", ability, gt, {"index": i, "split": "test", "original_id": str(i)})


def test_valid_file_reports_rows_per_data_source(tmp_path):
    p = _write(tmp_path / "ok.parquet", [_row(i=0), _row(i=1), _row("math500", "1/2", i=2)])
    info = validate_prepared(p)
    assert info["rows"] == 3
    assert info["data_sources"] == {"aime2024": 2, "math500": 1}
    assert info["abilities"] == {"math": 3}


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"nope\.parquet: no such file"):
        validate_prepared(tmp_path / "nope.parquet")


def test_non_parquet_file_is_refused(tmp_path):
    p = tmp_path / "x.parquet"
    p.write_text("not parquet")
    with pytest.raises(ValueError, match=r"x\.parquet: not a readable parquet file"):
        validate_prepared(p)


def test_missing_column_is_named(tmp_path):
    p = tmp_path / "cols.parquet"
    pq.write_table(pa.table({"data_source": ["a"], "prompt": [[{"role": "user", "content": "q"}]]}), p)
    with pytest.raises(ValueError, match=r"cols\.parquet: missing column\(s\) \['ability', 'reward_model', 'extra_info'\]"):
        validate_prepared(p)


def test_empty_ground_truth_is_refused_with_row_number(tmp_path):
    r = _row(i=1)
    r["reward_model"]["ground_truth"] = " "
    p = _write(tmp_path / "gt.parquet", [_row(i=0), r])
    with pytest.raises(ValueError, match=r"gt\.parquet: row 1: reward_model\.ground_truth is empty"):
        validate_prepared(p)


def test_style_other_than_rule_is_refused(tmp_path):
    r = _row()
    r["reward_model"]["style"] = "model"
    with pytest.raises(ValueError, match=r"reward_model\.style is 'model'"):
        validate_prepared(_write(tmp_path / "s.parquet", [r]))


def test_unknown_ability_and_role_are_refused(tmp_path):
    r = _row(ability="MATH")
    with pytest.raises(ValueError, match=r"ability 'MATH' is not one of"):
        validate_prepared(_write(tmp_path / "a.parquet", [r]))
    r = _row()
    r["prompt"] = [{"role": "assistant", "content": "hi"}]
    with pytest.raises(ValueError, match=r"last prompt message must be the user turn"):
        validate_prepared(_write(tmp_path / "r.parquet", [r]))


def test_ground_truth_that_is_not_a_string_column_is_refused(tmp_path):
    p = tmp_path / "num.parquet"
    pq.write_table(pa.Table.from_pylist([{
        "data_source": "a", "prompt": [{"role": "user", "content": "q"}], "ability": "math",
        "reward_model": {"ground_truth": 3, "style": "rule"}, "extra_info": {"index": 0, "split": "test"}}]), p)
    with pytest.raises(ValueError, match=r"reward_model\.ground_truth must be a string"):
        validate_prepared(p)


def test_file_without_rows_is_refused(tmp_path):
    p = _write(tmp_path / "empty.parquet", [])
    with pytest.raises(ValueError, match=r"empty\.parquet: has no rows"):
        validate_prepared(p)
