"""A smoke run rerun with one more step (same CKPT_DIR, resume_mode=auto) starts from the saved step."""

from __future__ import annotations

import pytest
from smoke_support import math_run_dir, metrics_by_step, run_smoke, summary

pytestmark = pytest.mark.slow


def test_rerun_with_one_more_step_resumes_from_the_last_checkpoint(tmp_path_factory):
    run = math_run_dir(tmp_path_factory)
    assert (run / "latest_checkpointed_iteration.txt").read_text().strip() == "2"
    parts_before = set((run / "metrics").glob("*.jsonl"))
    done = run_smoke("math", run, SMOKE_STEPS="3")
    # this invocation's own file-logger output holds step 3 only: it did not start again from step 1
    new_parts = set((run / "metrics").glob("*.jsonl")) - parts_before
    assert len(new_parts) == 1
    assert sorted(metrics_by_step(new_parts.pop())) == [3]
    assert "global_step_2" in done.stdout + done.stderr  # verl names the checkpoint it loads
    s = summary(run)
    assert s["steps"] == 3 and s["logged_steps"] == [1, 2, 3]
    assert s["checkpoint"].endswith("global_step_3")
    assert (run / "latest_checkpointed_iteration.txt").read_text().strip() == "3"
