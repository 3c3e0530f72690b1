"""Hard timeouts: pathological answers return within the wall-clock limit (3 x timeout, the CPU budget
stretched by a loaded machine) + 1 s with score 0, are counted, and leave no child process behind (the
worker is killed, reaped and replaced; all workers die at exit)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest

from archer.reward import compute_score, grader_stats, shutdown, timeout_count
from archer.reward.math.grader import WALL_LIMIT_FACTOR, WORKER_MODULE
from archer.reward.math.pool import existing_pool

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 1.0
SLACK = 1.0

POWER_TOWER = "9^{9^{9^{9}}}"
HUGE_EXPRESSION = "+".join(f"x^{{{i}}}" for i in range(12000))  # ~100 kB
NESTED_FRACTION = "\\frac{1}{" * 300 + "2" + "}" * 300


def _children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE]


def _zombies() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if p.status() == psutil.STATUS_ZOMBIE]


def _warm() -> None:
    """Grade one answer that needs the worker, so the measured call does not include a worker start."""
    assert compute_score("math", "\\boxed{(x+1)^2}", "x^2+2x+1", timeout_s=30)["acc"]


@pytest.fixture(autouse=True)
def _fresh_pool():
    shutdown()
    yield
    shutdown()
    assert _children() == [], "worker processes left behind"


@pytest.mark.parametrize(
    "pred,gold,kwargs",
    [
        (POWER_TOWER, "1", {}),
        ("1", POWER_TOWER, {}),
        (POWER_TOWER, "9", {}),
        (HUGE_EXPRESSION, "x", {"max_answer_chars": None}),  # force the symbolic check on 100 kB
        (NESTED_FRACTION, "\\frac{2}{3}", {"max_answer_chars": None}),
        ("10^{100000000}", "1", {}),
        ("1e999999999", "2", {}),
    ],
    ids=[
        "power-tower-pred",
        "power-tower-gold",
        "power-tower-vs-base",
        "100kB-expression",
        "nested-fractions",
        "huge-power-of-ten",
        "huge-exponent",
    ],
)
def test_pathological_answers_are_bounded(pred, gold, kwargs):
    _warm()
    before = timeout_count() + grader_stats()["starved"]
    start = time.monotonic()
    out = compute_score("math", f"\\boxed{{{pred}}}", gold, timeout_s=TIMEOUT, **kwargs)
    elapsed = time.monotonic() - start
    assert elapsed < WALL_LIMIT_FACTOR * TIMEOUT + SLACK, f"took {elapsed:.2f}s"
    assert out["score"] == 0.0 and out["acc"] is False
    if out["grader_timeout"]:
        assert timeout_count() + grader_stats()["starved"] == before + 1
    assert _zombies() == []


def test_power_tower_is_a_counted_timeout_and_the_worker_is_replaced():
    _warm()
    pool = existing_pool(WORKER_MODULE)
    pids_before = set(pool.pids())
    before = grader_stats()
    out = compute_score("math", f"\\boxed{{{POWER_TOWER}}}", "1", timeout_s=TIMEOUT)
    assert out["grader_timeout"] is True and out["score"] == 0.0
    after = grader_stats()
    # Counted once: as a timeout (used its CPU budget) or, on a machine too loaded to give the worker a
    # third of a core, as "starved" (wall-clock limit first).
    assert (after["timeouts"] - before["timeouts"]) + (after["starved"] - before["starved"]) == 1
    assert timeout_count() == after["timeouts"]
    pids_after = set(pool.pids())
    killed = pids_before - pids_after
    assert len(killed) == 1, (pids_before, pids_after)
    assert not any(psutil.pid_exists(pid) for pid in killed)  # reaped, not a zombie
    assert len(pids_after) == len(pids_before)  # replaced
    # the pool keeps working after the kill
    assert compute_score("math", "\\boxed{\\sqrt{18}}", "3\\sqrt{2}", timeout_s=30)["acc"] is True


def test_long_predictions_skip_the_symbolic_check_by_default():
    start = time.monotonic()
    out = compute_score("math", f"\\boxed{{{HUGE_EXPRESSION}}}", "x")
    assert time.monotonic() - start < 1.0
    assert out["score"] == 0.0 and out["grader_timeout"] is False
    assert existing_pool(WORKER_MODULE) is None  # never needed a worker


def test_workers_are_reused_not_spawned_per_call():
    _warm()
    pool = existing_pool(WORKER_MODULE)
    started = pool.stats()["started"]
    for expr in ["(x+1)^2", "x^2+2x+1", "(x+1)(x+1)", "x^2+x+x+1"]:
        assert compute_score("math", f"\\boxed{{{expr}}}", "x^2+2x+1", timeout_s=30)["acc"]
    assert pool.stats()["started"] == started


def test_timeouts_from_concurrent_threads():
    """verl calls the reward function from executor threads: no signals, each answer still bounded."""
    _warm()
    results: dict[int, tuple[dict, float]] = {}

    def run(i: int) -> None:
        pred, gold = (POWER_TOWER, "1") if i % 2 == 0 else ("\\sqrt{18}", "3\\sqrt{2}")
        start = time.monotonic()
        out = compute_score("math", f"\\boxed{{{pred}}}", gold, timeout_s=TIMEOUT, num_workers=4)
        results[i] = (out, time.monotonic() - start)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 4
    for i, (out, _elapsed) in results.items():
        if i % 2 == 0:
            assert out["score"] == 0.0
        else:
            assert out["acc"] is True
    assert _zombies() == []


def _run_script(body: str, **popen_kwargs) -> subprocess.Popen:
    code = textwrap.dedent(body)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env, text=True, **popen_kwargs)


def _wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    alive = pids
    while time.monotonic() < deadline:
        alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        if not alive:
            return []
        time.sleep(0.1)
    return alive


@pytest.mark.slow
def test_workers_die_with_a_normal_interpreter_exit():
    proc = _run_script(
        """
        from archer.reward import compute_score
        from archer.reward.math.pool import existing_pool
        compute_score("math", "\\\\boxed{9^{9^{9^{9}}}}", "1", timeout_s=1.0)
        compute_score("math", "\\\\boxed{(x+1)^2}", "x^2+2x+1", timeout_s=30)
        print(*existing_pool("archer.reward.math.worker").pids())
        """
    )
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0
    pids = [int(p) for p in out.split()]
    assert pids
    assert _wait_gone(pids, 5) == []


@pytest.mark.slow
def test_idle_workers_exit_when_their_parent_is_killed():
    proc = _run_script(
        """
        import sys, time
        from archer.reward import compute_score
        from archer.reward.math.pool import existing_pool
        compute_score("math", "\\\\boxed{(x+1)^2}", "x^2+2x+1", timeout_s=30)
        print(*existing_pool("archer.reward.math.worker").pids(), flush=True)
        time.sleep(600)
        """
    )
    line = proc.stdout.readline()
    pids = [int(p) for p in line.split()]
    assert pids
    proc.kill()  # SIGKILL: no atexit; the workers see EOF on stdin
    proc.wait(timeout=30)
    assert _wait_gone(pids, 10) == []


@pytest.mark.slow
def test_busy_worker_dies_when_its_parent_is_killed_mid_request():
    """A worker orphaned while computing (stuck in a huge integer power, holding the GIL) is killed by
    the kernel with its parent (PR_SET_PDEATHSIG), long before its CPU-limit backstop (timeout + 7 s)."""
    proc = _run_script(
        """
        from archer.reward import compute_score
        from archer.reward.math.pool import existing_pool
        compute_score("math", "\\\\boxed{(x+1)^2}", "x^2+2x+1", timeout_s=30)
        print(*existing_pool("archer.reward.math.worker").pids(), flush=True)
        compute_score("math", "\\\\boxed{9^{9^{9^{9}}}}", "1", timeout_s=30.0)
        """
    )
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert pids
    time.sleep(1.0)  # the worker is now busy on the power tower
    proc.kill()
    proc.wait(timeout=30)
    assert _wait_gone(pids, 5) == []
