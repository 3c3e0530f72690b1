"""Several grading processes x several threads never run more sandboxes than the node has CPUs.

Each process used to size its pool to all the CPUs, so N processes ran N times more CPU-bound programs
than there are cores and correct programs missed their wall-clock per-test timeouts (reward 0). Here each
program needs well under its timeout when it has a core to itself, and 8 processes x 2 threads grade at
once on this machine: every one must pass, and the waiting shows up as ``sandbox_wait_s``, not timeouts.
"""
import time

import pytest

from code_reward_support import grade_in_processes, job, leftovers, needs_bwrap, stdin_gt

BURN = "n = int(input())\ns = 0\nfor i in range(n):\n    s += i * i\nprint(s % 1000003)"
WORK_S = 0.25  # CPU seconds of one program, alone
TIMEOUT_FACTOR = 6  # per-test timeout = 6x that: 16 programs at once on 2 cores would need ~8x
PROCESSES, THREADS, JOBS_EACH = 8, 2, 2
UID_BASE = 0x3B000  # this test's own slot uids: what others grade on this machine meanwhile is not ours


def _iterations_for(seconds: float) -> int:
    """Loop count of BURN that takes about ``seconds`` of CPU in this interpreter (run as the sandbox runs
    it: module-level code, so global variables)."""
    loop = compile(BURN.split("\n", 1)[1].rsplit("\n", 1)[0], "<burn>", "exec")
    n = 200_000
    while True:
        t = time.process_time()
        exec(loop, {"n": n})
        dt = time.process_time() - t
        if dt > 0.05:
            return int(n * seconds / dt)
        n *= 4


@needs_bwrap
@pytest.mark.slow
def test_cpu_bound_correct_programs_pass_under_many_grading_processes():
    n = _iterations_for(WORK_S)
    expected = sum(i * i for i in range(n)) % 1000003
    gt = stdin_gt((f"{n}\n", f"{expected}\n"))
    jobs = [job(BURN, gt, per_test_timeout=WORK_S * TIMEOUT_FACTOR, sandbox_uid_base=UID_BASE) for _ in range(JOBS_EACH)]
    results = [r for per_process in grade_in_processes([jobs] * PROCESSES, threads=THREADS) for r in per_process]
    assert len(results) == PROCESSES * JOBS_EACH
    bad = [(r["failure_kind"], round(r["sandbox_wait_s"], 2)) for r in results if r["score"] != 1.0]
    assert not bad, f"{len(bad)} correct programs failed (kind, seconds waited for a slot): {bad}"
    assert not any(r["code_timeout"] for r in results)
    # 12 programs wanted 2 slots: most of them waited, and the result says so
    assert sum(r["sandbox_wait_s"] > 0.05 for r in results) >= len(results) // 2
    time.sleep(0.2)
    assert not leftovers(UID_BASE)
