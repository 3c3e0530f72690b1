"""Pool bounds: with P grading processes the node runs at most P x (per-process size) math workers,
also while timed-out workers are being killed and replaced; the default size shares the usable CPUs
among the grading processes (archer/reward/math/sizing.py, docs/reward_math.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psutil
import pytest

from archer.reward.math.sizing import pool_size

REPO = Path(__file__).resolve().parents[1]


def test_default_size_is_the_cpu_share_of_one_grading_process(monkeypatch):
    monkeypatch.delenv("ARCHER_MATH_REWARD_WORKERS", raising=False)
    cpus = len(os.sched_getaffinity(0))
    monkeypatch.setenv("ARCHER_MATH_REWARD_PROCESSES", "8")
    assert pool_size() == max(1, min(4, cpus // 8))
    monkeypatch.setenv("ARCHER_MATH_REWARD_PROCESSES", "1")
    assert pool_size() == max(1, min(4, cpus))
    monkeypatch.delenv("ARCHER_MATH_REWARD_PROCESSES")
    assert pool_size() == max(1, min(4, cpus // 8))  # verl's default reward.num_workers
    monkeypatch.setenv("ARCHER_MATH_REWARD_WORKERS", "3")
    assert pool_size() == 3
    assert pool_size(num_workers=2) == 2  # the reward option wins


@pytest.mark.parametrize("name,value", [("ARCHER_MATH_REWARD_WORKERS", "0"), ("ARCHER_MATH_REWARD_PROCESSES", "x")])
def test_bad_size_variable_is_a_clear_error(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        pool_size()


def _workers_with(tag: str) -> int:
    count = 0
    for proc in psutil.process_iter():
        try:
            if (
                proc.status() != psutil.STATUS_ZOMBIE
                and "archer.reward.math.worker" in " ".join(proc.cmdline())
                and proc.environ().get("ARCHER_TEST_TAG") == tag
            ):
                count += 1
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return count


@pytest.mark.slow
def test_node_total_stays_within_processes_times_pool_size(tmp_path):
    processes, per_process, threads = 3, 2, 6
    rows = []
    for i in range(12):
        rows.append({"response": f"\\boxed{{(x+{i})^2}}", "ground_truth": f"x^2+{2 * i}x+{i * i}"})
        if i % 4 == 0:  # a timeout: its worker is killed and replaced while the others keep working
            rows.append({"response": "\\boxed{9^{9^{9^{9}}}}", "ground_truth": "1", "kwargs": {"timeout_s": 0.5}})
    rows_file = tmp_path / "rows.jsonl"
    rows_file.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    tag = uuid.uuid4().hex
    env = dict(os.environ, ARCHER_TEST_TAG=tag, ARCHER_MATH_REWARD_WORKERS=str(per_process))
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "archer.reward.math.grade_file", str(rows_file), "--threads", str(threads)],
            stdout=subprocess.PIPE,
            env=env,
            cwd=REPO,
            text=True,
        )
        for _ in range(processes)
    ]
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _workers_with(tag))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        reports = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    finally:
        done.set()
        sampler.join()
    assert all(p.returncode == 0 for p in procs)
    for report in reports:
        assert report["pool"]["size"] == per_process
        assert report["pool"]["started"] > per_process  # replacements happened
        assert report["stats"]["timeouts"] + report["stats"]["starved"] == 3
        assert sum(r["acc"] for _, r in report["results"]) == 12
    assert 0 < peak <= processes * per_process
