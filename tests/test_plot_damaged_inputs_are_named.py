"""Damaged plot inputs (bytes that are not UTF-8 in a jsonl log or a summary.json) exit 2 naming the file
(and line), never a traceback."""

from __future__ import annotations

from plot_support import ASPO_LOG

from archer.plot.__main__ import main


def test_non_utf8_line_in_a_file_logger_log_names_file_and_line(tmp_path, capsys):
    log = tmp_path / "run.jsonl"
    lines = ASPO_LOG.read_bytes().splitlines(keepends=True)
    log.write_bytes(lines[0] + b'{"step": 2, "data": {"x\xff": 1}}\n' + b"".join(lines[1:]))
    rc = main(["dynamics", "--run", str(log), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2 and f"archer.plot: error: {log}:2: not a JSON line (not UTF-8" in err


def test_non_utf8_summary_is_named(tmp_path, capsys):
    step = tmp_path / "res" / "global_step_10"
    step.mkdir(parents=True)
    (step / "summary.json").write_bytes(b'{"aime2024": {"n": 4\xff')
    rc = main(["eval", "--results", str(tmp_path / "res"), "--out", str(tmp_path / "e.png")])
    err = capsys.readouterr().err
    assert rc == 2 and f"{step / 'summary.json'}: not UTF-8 text" in err
