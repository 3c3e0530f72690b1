"""A damaged input file fails with a message naming the source, the file (and the line / row) and saying
it looks truncated or corrupt: real damaged files, written here, through the real CLI."""

from __future__ import annotations

import gzip
import shutil

from data_support import FIXTURES, run_prepare


def _run(tmp_path, capsys, **sources) -> tuple[int, str]:
    rc = run_prepare(tmp_path / "out", "math", "--no-decontam", skywork_or1_math="none", dapo_math="none", **sources)
    return rc, capsys.readouterr().err


def test_corrupt_parquet_names_the_source_and_the_file(tmp_path, capsys):
    bad = tmp_path / "corrupt.parquet"
    bad.write_bytes(b"PAR1" + b"\x00" * 100)  # the header magic, but no footer
    rc, err = _run(tmp_path, capsys, deepscaler=bad)
    assert rc == 1
    assert "archer.data: error: source deepscaler" in err
    assert f"{bad}: cannot read it as parquet, the file looks truncated or corrupt" in err
    assert "Traceback" not in err


def test_truncated_parquet_names_the_file(tmp_path, capsys):
    good = FIXTURES / "dapo_math.parquet"
    bad = tmp_path / "truncated.parquet"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    rc, err = _run(tmp_path, capsys, deepscaler=bad)
    assert rc == 1 and "source deepscaler" in err and f"{bad}: cannot read it as parquet" in err


def test_parquet_shard_of_a_directory_source_is_named(tmp_path, capsys):
    shards = tmp_path / "shards"
    shards.mkdir()
    shutil.copy(FIXTURES / "dapo_math.parquet", shards / "part-0.parquet")
    (shards / "part-1.parquet").write_bytes(b"not parquet at all")
    rc, err = _run(tmp_path, capsys, deepscaler=shards)
    assert rc == 1 and f"{shards / 'part-1.parquet'}: cannot read it as parquet" in err


def test_truncated_gzip_jsonl_names_the_file_and_line(tmp_path, capsys):
    data = gzip.compress((FIXTURES / "deepscaler.jsonl").read_bytes())
    bad = tmp_path / "deepscaler.jsonl.gz"
    bad.write_bytes(data[: len(data) - 20])
    rc, err = _run(tmp_path, capsys, deepscaler=bad)
    assert rc == 1
    assert "source deepscaler" in err and f"{bad}:" in err and "looks truncated or corrupt" in err


def test_non_utf8_jsonl_names_the_file_and_line(tmp_path, capsys):
    bad = tmp_path / "latin1.jsonl"
    bad.write_bytes(b'{"problem": "1+1", "answer": "2"}\n{"problem": "caf\xe9", "answer": "3"}\n')
    rc, err = _run(tmp_path, capsys, deepscaler=bad)
    assert rc == 1 and f"{bad}:2: cannot read it as UTF-8 JSON lines" in err


def test_invalid_json_line_names_the_source_file_and_line(tmp_path, capsys):
    bad = tmp_path / "broken.jsonl"
    bad.write_text('{"problem": "1+1", "answer": "2"}\n{"problem": \n')
    rc, err = _run(tmp_path, capsys, deepscaler=bad)
    assert rc == 1 and "source deepscaler" in err and f"{bad}:2: not valid JSON" in err


def test_missing_source_file_names_the_source(tmp_path, capsys):
    rc, err = _run(tmp_path, capsys, deepscaler=tmp_path / "nowhere.jsonl")
    assert rc == 1 and "source deepscaler" in err and "nowhere.jsonl: no such file" in err


def test_corrupt_eval_set_file_fails_that_set_only_naming_it(tmp_path, capsys):
    bad = tmp_path / "aime.parquet"
    bad.write_bytes(b"garbage")
    rc = run_prepare(tmp_path / "out", "eval", "--sets", "aime2024,amc2023", aime2024=bad,
                     amc2023=FIXTURES / "aime2024_mini.jsonl")
    err = capsys.readouterr().err
    assert rc == 1
    assert f"aime2024: source aime2024 ({bad}): {bad}: cannot read it as parquet" in err
    assert (tmp_path / "out" / "eval" / "amc2023.parquet").exists()


def test_validate_names_a_truncated_prepared_file(tmp_path, capsys):
    from archer.data.__main__ import main

    assert run_prepare(tmp_path / "out", "eval", "--sets", "aime2024", aime2024=FIXTURES / "aime2024_mini.jsonl") == 0
    prepared = tmp_path / "out" / "eval" / "aime2024.parquet"
    data = prepared.read_bytes()
    prepared.write_bytes(data[: len(data) // 2])
    capsys.readouterr()
    assert main(["validate", str(prepared)]) == 1
    err = capsys.readouterr().err
    assert f"archer.data: error: {prepared}" in err and "Traceback" not in err


def test_truncated_prepared_eval_set_used_for_decontamination_is_named(tmp_path, capsys):
    out = tmp_path / "out"
    assert run_prepare(out, "eval", "--sets", "aime2024", aime2024=FIXTURES / "aime2024_mini.jsonl") == 0
    prepared = out / "eval" / "aime2024.parquet"
    prepared.write_bytes(prepared.read_bytes()[:200])
    capsys.readouterr()
    rc = run_prepare(out, "math", deepscaler=FIXTURES / "deepscaler.jsonl", skywork_or1_math="none", dapo_math="none")
    err = capsys.readouterr().err
    assert rc == 1
    assert f"{prepared}: cannot read this prepared eval set for decontamination" in err and "--force" in err
