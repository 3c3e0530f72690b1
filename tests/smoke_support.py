"""Shared helpers of the smoke tests: run ``bash scripts/run_aspo_<task>.sh --smoke`` as a user would and
read what it wrote. One 2-step math run per pytest session is shared by the math end-to-end and off-policy
tests (its directory lives under pytest's session temp dir; whichever test comes first runs it). Tests
read it and never write into it. The end-to-end resume check is the vLLM rehearsal's
(tests/test_smoke_vllm_rehearsal.py: its run is launched twice)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from launcher_support import REPO_ROOT, launcher_env

SMOKE_VARS = ("SMOKE_STEPS", "SMOKE_WARM_START", "SMOKE_REWARD_WORKERS", "ARCHER_SMOKE_REWARD_TRACE",
              "VERL_USE_EXTERNAL_MODULES", "VERL_PLATFORM", "VERL_FILE_LOGGER_PATH", "RAY_ADDRESS")


def run_smoke(task: str, ckpt_dir: Path, *overrides: str, timeout: int = 600, **env: str) -> subprocess.CompletedProcess:
    """The smoke launcher with this interpreter as PYTHON (no venv set-up), CKPT_DIR and ENV; fails the
    test with the log tail when it exits non-zero."""
    base = {k: v for k, v in launcher_env().items() if k not in SMOKE_VARS}
    base.update(PYTHON=sys.executable, CKPT_DIR=str(ckpt_dir), **env)
    done = subprocess.run(["bash", str(REPO_ROOT / "scripts" / f"run_aspo_{task}.sh"), "--smoke", *overrides],
                          cwd=REPO_ROOT, env=base, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-60:])
        raise AssertionError(f"smoke {task} run failed (exit {done.returncode}); last lines:\n{tail}")
    return done


def math_run_dir(tmp_path_factory) -> Path:
    """The session's 2-step math smoke run (run on first use)."""
    run_dir = tmp_path_factory.getbasetemp() / "smoke_math_run"
    summary = run_dir / "SMOKE_SUMMARY.json"
    if not summary.is_file():
        run_smoke("math", run_dir, SMOKE_STEPS="2")
    return run_dir


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "SMOKE_SUMMARY.json").read_text())


def metrics_by_step(metrics_file: Path) -> dict[int, dict]:
    out = {}
    for line in Path(metrics_file).read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            out[int(row["step"])] = row["data"]
    return out
