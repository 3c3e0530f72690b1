"""A mixed batch graded by 8 processes (verl's default reward.num_workers) scores exactly as a serial run,
three times in a row, leaving nothing running and nothing behind.

The mix holds correct, wrong, crashing, non-compiling, call-based and timing-out programs and attacks
(fork bomb, memory bomb, huge output). 64 responses per run keep this test inside the suite's budget on
a 2-core machine; ``benchmarks/bench_code_reward.py --processes 8`` checks the full 1,024 x 4 workload.
"""
import glob
import time

import pytest

from archer.reward.code import sandbox as sb
from code_reward_support import ATTACKS, MIXED_EXPECTED_SCORE, finish_grader, grade_in_processes, leftovers, mixed_jobs, needs_bwrap, start_grader

UID_BASE = 0x3B300  # this test's own slot uids: what others grade on this machine meanwhile is not ours
N, PROCESSES, THREADS, RUNS = 64, 8, 2, 3


def _outcome(name: str, r: dict):
    # an attack's score is fixed (0); how it dies (out of processes -> crash or timeout) may vary
    return (r["score"],) if name in ATTACKS else (r["score"], r["failure_kind"], r["passed"])


@needs_bwrap
@pytest.mark.slow
def test_eight_processes_score_exactly_as_a_serial_run_three_times():
    names, jobs = mixed_jobs(N, sandbox_uid_base=UID_BASE)
    temp_before = set(glob.glob("/tmp/archer-sbx-*"))
    serial = finish_grader(start_grader(jobs, threads=1, env={"ARCHER_CODE_WORKERS": "1"}), timeout=300)
    expected = [_outcome(n, r) for n, r in zip(names, serial)]
    by_kind = {n: r["score"] for n, r in zip(names, serial)}
    assert by_kind == MIXED_EXPECTED_SCORE
    assert all(r["code_timeout"] for n, r in zip(names, serial) if n == "timeout")

    for run in range(RUNS):
        chunks = [list(range(p, N, PROCESSES)) for p in range(PROCESSES)]
        per_process = grade_in_processes([[jobs[i] for i in chunk] for chunk in chunks], threads=THREADS)
        got = [None] * N
        for chunk, results in zip(chunks, per_process):
            for i, r in zip(chunk, results):
                got[i] = _outcome(names[i], r)
        diff = [(i, names[i], expected[i], got[i]) for i in range(N) if got[i] != expected[i]]
        assert not diff, f"run {run}: {len(diff)} results differ from the serial run: {diff[:10]}"
        time.sleep(0.2)
        assert not leftovers(UID_BASE), f"run {run}"
    assert set(glob.glob("/tmp/archer-sbx-*")) == temp_before
    # every slot was released cleanly (no holder died holding one)
    budget = sb.slot_budget(sb.SandboxConfig(sandbox_uid_base=UID_BASE))
    for k in range(2):
        path = budget.slot_path(k)
        assert path.read_bytes()[:1] == b"c", path
