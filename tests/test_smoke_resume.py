"""A smoke run rerun with one more step (same CKPT_DIR, resume_mode=auto) starts from the saved step.

The rerun works on a copy of the session's shared 2-step run, so the shared run stays as the other smoke
tests read it, in whatever order they run."""

from __future__ import annotations

import shutil

import pytest
from smoke_support import math_run_dir, metrics_by_step, run_smoke, summary

from archer.smoke.pipeline import merge_metrics

pytestmark = pytest.mark.slow


def test_rerun_with_one_more_step_resumes_from_the_last_checkpoint(tmp_path_factory, tmp_path):
    shared = math_run_dir(tmp_path_factory)
    run = tmp_path / "run"
    shutil.copytree(shared, run, symlinks=True)
    assert (run / "latest_checkpointed_iteration.txt").read_text().strip() == "2"
    parts_before = set((run / "metrics").glob("*.jsonl"))
    # training only: the export / eval / plot stages are test_smoke_math_end_to_end.py's checks; one reward
    # worker process (the run's identity, archer_run.json, does not include the count; two graded the saved steps)
    done = run_smoke("math", run, SMOKE_STEPS="3", SMOKE_FINISH="0", SMOKE_REWARD_WORKERS="1")
    log = done.stdout + done.stderr
    assert "Resuming from" in log and "global_step_2" in log  # verl names the checkpoint it loads
    # this invocation's own file-logger output holds step 3 only: it did not start again from step 1
    new_parts = set((run / "metrics").glob("*.jsonl")) - parts_before
    assert len(new_parts) == 1
    assert sorted(metrics_by_step(new_parts.pop())) == [3]
    assert (run / "global_step_3" / "actor").is_dir()
    assert (run / "latest_checkpointed_iteration.txt").read_text().strip() == "3"
    assert summary(run)["steps"] == 2  # SMOKE_FINISH=0 stops after training: the copied summary is untouched
    # the run's merged metric log (what the summary and the plots read) has every step once
    assert sorted(metrics_by_step(merge_metrics(run))) == [1, 2, 3]
