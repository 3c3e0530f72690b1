"""Ctrl-C while training: the console says "interrupted at step N; rerun the same command to resume" with the
checkpoint the rerun starts from, and exits 130 (archer.launch.console reads archer.launch.main's mark)."""

from __future__ import annotations

import io
import subprocess
import sys

from archer.launch.console import INTERRUPT_MARK, Console


def test_interrupt_after_two_steps_names_step_three_and_the_last_checkpoint(tmp_path):
    (tmp_path / "latest_checkpointed_iteration.txt").write_text("2\n")
    out = io.StringIO()
    console = Console(io.StringIO(), out)
    for line in ["step:1 - actor/pg_loss:0.1", "step:2 - actor/pg_loss:0.2", "Traceback (most recent call last):",
                 '  File "verl/trainer/main_ppo.py", line 9, in run', "KeyboardInterrupt",
                 f"{INTERRUPT_MARK} (Ctrl-C); rerun the same command to resume from global_step_2, the last checkpoint"]:
        console.feed(line + "\n")
    assert console.close(None, tmp_path) == 130
    shown = out.getvalue().splitlines()
    assert shown[-1] == (f"{INTERRUPT_MARK} at step 3; rerun the same command to resume from global_step_2, "
                         "the last checkpoint")
    assert not any("KeyboardInterrupt" in s or "training failed" in s for s in shown)


def test_interrupt_before_any_checkpoint_says_the_rerun_starts_over(tmp_path):
    out = io.StringIO()
    console = Console(io.StringIO(), out)
    console.feed(f"{INTERRUPT_MARK} (Ctrl-C); no checkpoint was saved yet\n")
    assert console.close(None, tmp_path) == 130
    assert "no checkpoint was saved yet: it starts from step 1" in out.getvalue()


def test_console_process_ignores_sigint_and_exits_130_after_the_mark(tmp_path):
    log = tmp_path / "train.log"
    done = subprocess.run([sys.executable, "-m", "archer.launch.console", "--log", str(log), "--ckpt-dir",
                           str(tmp_path)], input=f"step:1 - a:1\n{INTERRUPT_MARK} (Ctrl-C)\n", capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 130, done.stderr
    assert "interrupted at step 2; rerun the same command to resume" in done.stdout
    assert INTERRUPT_MARK in log.read_text()
