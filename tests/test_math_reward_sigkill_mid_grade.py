"""A grading process SIGKILLed while its workers are busy takes its workers with it, and a process
grading next to it is unaffected.

SIGKILL runs no ``atexit`` handler and the workers are stuck in a huge integer power (holding the GIL,
not reading stdin), so only the kernel's parent-death signal (PR_SET_PDEATHSIG) can end them in time.
Real processes, no mocks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[1]
POWER_TOWER = "\\boxed{9^{9^{9^{9}}}}"

# The bystander's rows with hand-checked verdicts (the power tower times out: wrong).
BYSTANDER = [
    ("\\boxed{(x+1)^2}", "x^2+2x+1", True),
    ("\\boxed{\\sqrt{18}}", "3\\sqrt{2}", True),
    ("\\boxed{2\\sqrt{3}}", "3\\sqrt{2}", False),
    (POWER_TOWER, "1", False),
    ("\\boxed{\\frac{\\sqrt{3}}{3}}", "\\frac{1}{\\sqrt{3}}", True),
    ("\\boxed{25}", "025", True),
]


def _start(tmp_path: Path, name: str, rows: list[dict], tag: str) -> subprocess.Popen:
    rows_file = tmp_path / f"{name}.jsonl"
    rows_file.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    env = dict(os.environ, ARCHER_TEST_TAG=tag, ARCHER_MATH_REWARD_WORKERS="2")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.Popen(
        [sys.executable, "-m", "archer.reward.math.grade_file", str(rows_file), "--threads", "2", "--timeout", "10"],
        stdout=subprocess.PIPE,
        env=env,
        cwd=REPO,
        text=True,
    )


def _running(pids: list[int]) -> list[int]:
    """Those of ``pids`` still running (a zombie has exited; reaping it is its new parent's job)."""
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def _busy_workers(grader: psutil.Process, count: int, cpu_s: float, wait_s: float) -> list[psutil.Process]:
    """Wait until ``grader`` has ``count`` worker children that each used ``cpu_s`` CPU seconds (a
    worker's start-up takes ~0.6 s, so more means it is working on a request)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            workers = [c for c in grader.children() if "archer.reward.math.worker" in " ".join(c.cmdline())]
            busy = [w for w in workers if sum(w.cpu_times()[:2]) >= cpu_s]
        except psutil.NoSuchProcess:
            busy = []
        if len(busy) >= count:
            return busy
        time.sleep(0.1)
    pytest.fail(f"the grading process did not get {count} busy workers within {wait_s}s")


@pytest.mark.slow
def test_sigkilled_grader_leaves_no_worker_and_its_neighbour_finishes(tmp_path):
    victim = _start(
        tmp_path,
        "victim",
        [{"response": POWER_TOWER, "ground_truth": str(g), "kwargs": {"timeout_s": 120.0}} for g in range(4)],
        uuid.uuid4().hex,
    )
    bystander = _start(
        tmp_path,
        "bystander",
        # Only the power tower gets a short budget: the others must be decided even on a loaded machine.
        [{"response": r, "ground_truth": g, "kwargs": {"timeout_s": 1.0 if r == POWER_TOWER else 10.0}}
         for r, g, _ in BYSTANDER],
        uuid.uuid4().hex,
    )
    try:
        workers = _busy_workers(psutil.Process(victim.pid), count=2, cpu_s=1.2, wait_s=90)
        pids = [w.pid for w in workers]
        victim.kill()  # SIGKILL, mid-grade
        victim.wait(timeout=30)
        deadline = time.monotonic() + 5
        while _running(pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _running(pids) == [], "workers of the killed grading process are still running"

        out, _ = bystander.communicate(timeout=120)
        assert bystander.returncode == 0
        report = json.loads(out)
        assert [result["acc"] for _, result in report["results"]] == [acc for _, _, acc in BYSTANDER]
        assert [result["grader_timeout"] for _, result in report["results"]] == [
            False, False, False, True, False, False
        ]
        assert report["stats"]["crashes"] == 0
    finally:
        for proc in (victim, bystander):
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
