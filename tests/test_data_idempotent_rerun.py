"""A re-run with the same inputs and options skips the work and leaves the output unchanged; --force and
a changed input redo it with identical content."""

from __future__ import annotations

import shutil

from data_support import FIXTURES, read_rows, run_prepare


def test_rerun_is_skipped_and_force_rewrites_identical_rows(tmp_path, capsys):
    src = tmp_path / "deepscaler.jsonl"
    shutil.copy(FIXTURES / "deepscaler.jsonl", src)
    args = dict(deepscaler=src, skywork_or1_math="none", dapo_math="none")
    out = tmp_path / "out" / "train" / "math.parquet"
    assert run_prepare(tmp_path / "out", "math", "--no-decontam", **args) == 0
    first_bytes, first_mtime = out.read_bytes(), out.stat().st_mtime_ns
    capsys.readouterr()
    assert run_prepare(tmp_path / "out", "math", "--no-decontam", **args) == 0
    assert "up-to-date" in capsys.readouterr().err
    assert out.stat().st_mtime_ns == first_mtime
    assert run_prepare(tmp_path / "out", "math", "--no-decontam", "--force", **args) == 0
    assert out.read_bytes() == first_bytes
    # a changed input is noticed
    with src.open("a") as f:
        f.write('{"problem": "What is $9-4$?", "answer": "5"}\n')
    capsys.readouterr()
    assert run_prepare(tmp_path / "out", "math", "--no-decontam", **args) == 0
    assert "up-to-date" not in capsys.readouterr().err
    assert len(read_rows(out)) == 5
    assert sorted(p.name for p in out.parent.iterdir()) == ["math.parquet", "math.report.json"]  # no temp files
