"""``bash scripts/run_aspo_code.sh --smoke`` with ``reward.num_workers=2``: verl's two reward-loop worker
processes both run generated programs in archer's code sandbox, and some of those programs pass.

Observed without mocks: ``ARCHER_SMOKE_REWARD_TRACE`` makes every smoke process append one line per code
sample it graded (pid, process title, passed/total; archer/smoke/reward_trace.py), around the unchanged
grader."""

from __future__ import annotations

import json
import shutil

import pytest
from smoke_support import run_smoke

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="the code sandbox needs bubblewrap (apt-get install bubblewrap)"),
]


@pytest.fixture(scope="module")
def code_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("smoke_code_run")
    trace = run_dir / "reward_trace.jsonl"
    # training only (SMOKE_FINISH=0): export / eval / plot are the math smoke's checks
    run_smoke("code", run_dir, SMOKE_STEPS="2", SMOKE_REWARD_WORKERS="2", SMOKE_FINISH="0",
              ARCHER_SMOKE_REWARD_TRACE=str(trace))
    rows = [json.loads(line) for line in trace.read_text().splitlines() if line.strip()]
    return run_dir, rows


def test_both_reward_workers_ran_programs_in_the_sandbox(code_run):
    _, rows = code_run
    training = [r for r in rows if "RewardLoopWorker" in r["process"]]
    assert training, f"no code sample graded in a reward-loop worker; processes seen: {sorted({r['process'] for r in rows})}"
    assert all(r["data_source"] == "smoke_code" and r["total"] == 3 for r in training)
    assert len({r["pid"] for r in training}) == 2, sorted({(r["pid"], r["process"]) for r in training})


def test_some_generated_program_passes_its_tests(code_run):
    _, rows = code_run
    training = [r for r in rows if "RewardLoopWorker" in r["process"]]
    assert any(r["passed"] == r["total"] for r in training)
    assert any(r["passed"] < r["total"] for r in training)  # and some fail: the rewards are mixed


def test_code_smoke_run_trains_and_saves_both_steps(code_run):
    run_dir, _ = code_run
    assert (run_dir / "latest_checkpointed_iteration.txt").read_text().strip() == "2"
    assert (run_dir / "global_step_2" / "actor").is_dir()
    assert not (run_dir / "SMOKE_SUMMARY.json").exists()  # SMOKE_FINISH=0 stops after training
