"""Under verl's load (8 grading processes, each calling compute_score from several threads) the math
grader gives exactly the results of a serial run, every time, and leaves no worker process and no
temporary directory behind.

Rows: the 800 labelled Qwen2.5-Math responses (13 of them go to the symbolic worker) plus answers that
always need the worker, and power towers that always use up their budget (a counted timeout). Real
grading processes (``python -m archer.reward.math.grade_file``), no mocks.
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
LABELLED = REPO.parent / "shared" / "data" / "math_labeled_outputs" / "math_cot_100.jsonl"
PROCESSES = 8
THREADS = 3

SYMBOLIC_ROWS = [
    ("\\boxed{(x+1)^2}", "x^2+2x+1"),
    ("\\boxed{\\sqrt{18}}", "3\\sqrt{2}"),
    ("\\boxed{2\\sqrt{3}}", "3\\sqrt{2}"),
    ("\\boxed{\\frac{\\sqrt{3}}{3}}", "\\frac{1}{\\sqrt{3}}"),
    ("\\boxed{e^{i\\pi}}", "-1"),
]
POWER_TOWER = "\\boxed{9^{9^{9^{9}}}}"
# a tower never finishes: it spends its whole CPU budget, in each of the four gradings (a short one is as good a
# timeout as a long one; test_math_reward_timeouts.py checks the budget itself)
TOWER_BUDGET_S = 0.3


def _rows() -> list[dict]:
    if not LABELLED.is_file():
        pytest.skip(f"labelled outputs not present at {LABELLED}")
    rows = []
    with open(LABELLED, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                problem = json.loads(line)
                rows += [{"response": r, "ground_truth": problem["gt"]} for r in problem["response"]]
    assert len(rows) == 800
    rows += [{"response": r, "ground_truth": g} for r, g in SYMBOLIC_ROWS]
    rows += [{"response": POWER_TOWER, "ground_truth": gold, "kwargs": {"timeout_s": TOWER_BUDGET_S}} for gold in ("1", "9", "2")]
    return rows


def _tagged(tag: str) -> list[psutil.Process]:
    """Running processes (zombies excluded: they have exited) whose environment carries ``tag``."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.status() != psutil.STATUS_ZOMBIE and proc.environ().get("ARCHER_TEST_TAG") == tag:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _grade(rows_file: Path, processes: int, threads: int, env: dict[str, str]) -> list[dict]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "archer.reward.math.grade_file", str(rows_file), "--threads", str(threads),
             "--timeout", "10", "--shard", f"{k}/{processes}"],
            stdout=subprocess.PIPE,
            env=env,
            cwd=REPO,
            text=True,
        )
        for k in range(processes)
    ]
    merged: dict[int, dict] = {}
    reports = []
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0
        report = json.loads(out)
        reports.append(report)
        merged.update({i: result for i, result in report["results"]})
    assert sum(r["stats"]["timeouts"] + r["stats"]["starved"] for r in reports) == 3
    assert sum(r["stats"]["symbolic"] for r in reports) >= 13 + len(SYMBOLIC_ROWS)
    return [merged[i] for i in range(len(merged))]


@pytest.mark.slow
def test_eight_processes_with_threads_score_exactly_as_a_serial_run(tmp_path):
    rows = _rows()
    rows_file = tmp_path / "rows.jsonl"
    rows_file.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    tag = uuid.uuid4().hex
    env = dict(os.environ, ARCHER_TEST_TAG=tag, TMPDIR=str(tmpdir))
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")

    serial = _grade(rows_file, 1, 1, env)
    assert len(serial) == len(rows)
    # 728 are labelled correct, plus the label error (problem 72, sample 7) of test_math_reward_real_data
    assert sum(r["acc"] for r in serial[:800]) == 729
    assert [r["grader_timeout"] for r in serial[-3:]] == [True, True, True]
    for _ in range(3):
        assert _grade(rows_file, PROCESSES, THREADS, env) == serial

    deadline = time.monotonic() + 10
    while _tagged(tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _tagged(tag) == [], "grading or worker processes still running"
    assert list(tmpdir.iterdir()) == [], "temporary files left behind"
