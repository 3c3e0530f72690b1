"""`python -m archer.plot` as users run it: --help, and bad input fails with a clear message and status 2."""

from __future__ import annotations

import subprocess
import sys

from plot_support import ASPO_LOG, EVAL_ASPO

from archer.plot.__main__ import main


def _run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "archer.plot", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_help_lists_the_panels_and_their_metrics():
    done = _run("dynamics", "--help")
    assert done.returncode == 0
    assert "clip_lower" in done.stdout and "actor/pg_clipfrac_lower" in done.stdout and "--loss-mode" in done.stdout


def test_missing_run_file_exits_2_with_the_path_and_no_traceback(tmp_path):
    done = _run("dynamics", "--run", f"{tmp_path}/aspo_run.jsonl:ASPO", "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert f"error: --run '{tmp_path}/aspo_run.jsonl:ASPO': path not found: {tmp_path}/aspo_run.jsonl" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (tmp_path / "out").exists()


def test_missing_eval_results_exits_2_naming_the_directory(tmp_path, capsys):
    assert main(["eval", "--results", str(EVAL_ASPO), "--results", f"{tmp_path}/grpo_evals:GRPO", "--out", str(tmp_path / "e.png")]) == 2
    assert f"path not found: {tmp_path}/grpo_evals" in capsys.readouterr().err


def test_a_file_that_is_not_a_metrics_log_exits_2_naming_it(tmp_path, capsys):
    other = tmp_path / "notes.txt"
    other.write_text("step 1: loss 0.3\n")
    assert main(["dynamics", "--run", str(ASPO_LOG), "--run", str(other), "--out", str(tmp_path)]) == 2
    assert f"{other}:1: not a JSON line" in capsys.readouterr().err


def test_smooth_below_one_is_rejected(tmp_path, capsys):
    assert main(["dynamics", "--run", str(ASPO_LOG), "--out", str(tmp_path), "--smooth", "0"]) == 2
    assert "--smooth must be >= 1, got 0" in capsys.readouterr().err


def test_out_that_is_a_file_is_rejected_before_anything_is_written(tmp_path, capsys):
    taken = tmp_path / "figs"
    taken.write_text("not a directory")
    assert main(["dynamics", "--run", str(ASPO_LOG), "--out", str(taken), "--panels", "entropy"]) == 2
    assert f"--out {taken}: exists and is not a directory" in capsys.readouterr().err
