"""Readers stream their input: a JSON array decoded element by element across chunk borders, parquet read
and written in batches (several row groups), jsonl.gz line by line."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq

from data_support import SHARED

from archer.data import io
from archer.data.rows import ParquetRowWriter, make_row, schema_for


def test_json_array_reader_matches_json_load_with_tiny_chunks(tmp_path):
    data = [{"a": i, "s": "x" * (i * 7), "n": [1.5, -2e3, None, True]} for i in range(40)] + [{"last": 12345}]
    p = tmp_path / "arr.json"
    p.write_text(json.dumps(data, indent=2))
    assert list(io.iter_json_array(p, chunk_size=5)) == data
    q = tmp_path / "nums.json"
    q.write_text("[1, 22, 333 ,4444]")
    assert list(io.iter_json_array(q, chunk_size=2)) == [1, 22, 333, 4444]


def test_json_array_reader_on_the_real_livecodebench_file():
    p = SHARED / "livecodebench" / "lcb_v5window_2408_2501_public_tests.json"
    if not p.exists():
        import pytest

        pytest.skip(f"{p} not found")
    streamed = list(io.iter_json_array(p, chunk_size=4096))
    assert len(streamed) == 279 and streamed == json.loads(p.read_text())


def test_writer_flushes_row_groups_and_reader_batches(tmp_path):
    schema = schema_for({})
    out = tmp_path / "w.parquet"
    with ParquetRowWriter(out, schema, batch_rows=10) as w:
        for i in range(35):
            w.write(make_row("code_x", f"q{i}", "code", "{}", {"index": i, "split": "train"}))
    assert pq.ParquetFile(out).metadata.num_row_groups == 4
    assert [r["extra_info"]["index"] for r in io.iter_file(out, batch_rows=4)] == list(range(35))


def test_jsonl_gz_and_bad_line_named(tmp_path):
    p = tmp_path / "x.jsonl.gz"
    with gzip.open(p, "wt") as f:
        f.write('{"a": 1}\n\n{"a": 2}\n')
    assert list(io.iter_file(p)) == [{"a": 1}, {"a": 2}]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\n{oops\n')
    import pytest

    with pytest.raises(ValueError, match=r"bad\.jsonl:2: not valid JSON"):
        list(io.iter_file(bad))


def test_parquet_row_count_hint_comes_from_metadata(tmp_path):
    p = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": list(range(7))}), p)
    assert io.count_rows_hint(p) == 7
