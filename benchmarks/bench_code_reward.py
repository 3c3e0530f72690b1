"""Benchmark of the code reward, all figures measured in one run on this machine.

    python benchmarks/bench_code_reward.py [--responses 1024] [--tests 4]
    python benchmarks/bench_code_reward.py --processes 8 [--mixed-runs 3]

1. bare interpreter start (``python -c pass``), the unit of comparison;
2. one program with 1 test and with 16 tests through the sandbox: fixed cost per program and marginal
   cost per test (target: per-test cost <= 1.5x a bare interpreter start);
3. throughput: N responses x T tests (a realistic mix: correct / wrong / crashing stdin programs and
   call-based LeetCode-style solutions) graded with the default pool (one slot per available CPU).

With ``--processes P`` (verl's ``reward.num_workers`` grading processes) instead: the same workload graded
by P processes at once and by 1 (each calling the grader from its own threads, as a RewardLoopWorker
does), both throughputs and their ratio (goal >= 0.9: the node-wide slot budget costs nothing
measurable) and the wrong scores against the expected ones (goal 0). ``--mixed-runs R`` then grades the
mixed workload of tests/test_code_reward_multiprocess_determinism.py (correct, wrong, timeouts, fork /
memory bombs, huge output) N responses R times with P processes: wrong scores, and anything left running
or left behind in /tmp, must be 0.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archer.reward.code import sandbox as sb  # noqa: E402
from archer.reward.code.grader import compute_code_score, compute_code_score_batch  # noqa: E402


def resp(code: str) -> str:
    return f"<think>...</think>\n```python\n{code}\n```"


STDIN_OK = """import sys
def main():
    data = sys.stdin.read().split()
    n = int(data[0]); xs = list(map(int, data[1:1 + n]))
    best = cur = xs[0]
    for x in xs[1:]:
        cur = max(x, cur + x); best = max(best, cur)
    print(best)
main()
"""
STDIN_WRONG = STDIN_OK.replace("print(best)", "print(best + 1)")
STDIN_CRASH = STDIN_OK.replace("xs[0]", "xs[n]")
CALL_OK = """class Solution:
    def maxSubArray(self, nums: List[int]) -> int:
        best = cur = nums[0]
        for x in nums[1:]:
            cur = max(x, cur + x)
            best = max(best, cur)
        return best
"""
CALL_WRONG = CALL_OK.replace("return best", "return best - 1")


def kadane(xs):
    best = cur = xs[0]
    for x in xs[1:]:
        cur = max(x, cur + x)
        best = max(best, cur)
    return best


def problem(seed: int, n_tests: int, functional: bool):
    import random

    rng = random.Random(seed)
    tests = []
    for _ in range(n_tests):
        xs = [rng.randint(-50, 50) for _ in range(rng.randint(3, 200))]
        if functional:
            tests.append({"input": str(xs), "output": str(kadane(xs)), "testtype": "functional"})
        else:
            tests.append({"input": f"{len(xs)}\n{' '.join(map(str, xs))}\n", "output": f"{kadane(xs)}\n", "testtype": "stdin"})
    gt = {"tests": tests}
    if functional:
        gt["fn_name"] = "maxSubArray"
    return gt


def timed(fn, reps):
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def workload(n: int, n_tests: int):
    """(responses, ground truths, expected scores) of the throughput mix."""
    kinds = [(STDIN_OK, False), (STDIN_WRONG, False), (STDIN_CRASH, False), (CALL_OK, True), (CALL_WRONG, True)]
    sols, gts, expected = [], [], []
    for i in range(n):
        code, functional = kinds[i % len(kinds)]
        sols.append(resp(code))
        gts.append(problem(i, n_tests, functional))
        expected.append(1.0 if code in (STDIN_OK, CALL_OK) else 0.0)
    return sols, gts, expected


def _grading_process(jobs, kwargs_list, go, out):
    """One grading process: wait for the start signal, grade ``jobs`` (response, ground truth) from
    ``pool_size()`` threads, put (index, score) pairs and the finish time on ``out``."""
    from concurrent.futures import ThreadPoolExecutor

    sb.detect_isolation()  # probe before the clock starts, as a long-lived RewardLoopWorker has
    go.wait()
    with ThreadPoolExecutor(max_workers=sb.pool_size()) as ex:
        futs = [ex.submit(compute_code_score, "code", s, g, None, **kw) for (i, s, g), kw in zip(jobs, kwargs_list)]
        scores = [(i, f.result()["score"]) for (i, _, _), f in zip(jobs, futs)]
    out.put((scores, time.monotonic()))


def grade_in_processes(n_processes: int, sols, gts, kwargs_list=None) -> tuple[list[float], float]:
    """Grade with ``n_processes`` spawned processes (round-robin split); (scores in input order, seconds
    from the common start signal to the last process's finish)."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    kwargs_list = kwargs_list or [{}] * len(sols)
    go, out = ctx.Event(), ctx.Queue()
    procs = []
    for p in range(n_processes):
        idx = list(range(p, len(sols), n_processes))
        jobs = [(i, sols[i], gts[i]) for i in idx]
        procs.append(ctx.Process(target=_grading_process, args=(jobs, [kwargs_list[i] for i in idx], go, out)))
    for proc in procs:
        proc.start()
    time.sleep(2.0 + 0.3 * n_processes)  # let every process import and probe
    t0 = time.monotonic()
    go.set()
    scores, ends = [None] * len(sols), []
    for _ in procs:
        part, end = out.get()
        ends.append(end)
        for i, score in part:
            scores[i] = score
    for proc in procs:
        proc.join()
        if proc.exitcode != 0:
            raise RuntimeError(f"grading process exited {proc.exitcode}")
    return scores, max(ends) - t0


def bench_processes(args) -> None:
    sols, gts, expected = workload(args.responses, args.tests)
    print(f"isolation: {sb.detect_isolation()}; node-wide sandbox budget: {sb.pool_size()} "
          f"(CPUs available: {len(os.sched_getaffinity(0))})")
    rates = {}
    for n in (args.processes, 1):
        scores, dt = grade_in_processes(n, sols, gts)
        wrong = sum(a != b for a, b in zip(scores, expected))
        rates[n] = len(sols) / dt
        print(f"{n} grading process(es): {len(sols)} responses x {args.tests} tests in {dt:.1f} s -> "
              f"{rates[n]:.1f} programs/s; wrong scores vs expected: {wrong}")
    print(f"throughput ratio, {args.processes} processes / 1 process: {rates[args.processes] / rates[1]:.3f} "
          "(goal >= 0.9)")
    if args.mixed_runs:
        bench_mixed(args)


def bench_mixed(args) -> None:
    import glob

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from code_reward_support import MIXED_EXPECTED_SCORE, leftovers, mixed_jobs

    uid_base = 0x3B800  # its own slot uids, so "left running" counts only this benchmark's sandboxes
    names, jobs = mixed_jobs(args.responses, sandbox_uid_base=uid_base)
    sols = [j["response"] for j in jobs]
    gts = [j["gt"] for j in jobs]
    expected = [MIXED_EXPECTED_SCORE[n] for n in names]
    temp_before = set(glob.glob("/tmp/archer-sbx-*"))
    for run in range(args.mixed_runs):
        scores, dt = grade_in_processes(args.processes, sols, gts, [j["kwargs"] for j in jobs])
        wrong = sum(a != b for a, b in zip(scores, expected))
        time.sleep(0.2)
        left = leftovers(uid_base)
        new_temp = set(glob.glob("/tmp/archer-sbx-*")) - temp_before
        print(f"mixed run {run + 1}/{args.mixed_runs}: {len(sols)} responses ({', '.join(sorted(set(names)))}) by "
              f"{args.processes} processes in {dt:.1f} s; wrong scores: {wrong}; processes left running: "
              f"{len(left)}; temp dirs left: {len(new_temp)}")


def main():
    ap = argparse.ArgumentParser(
        description="Benchmark the code reward: sandbox start cost, per-test cost and throughput; with "
                    "--processes, P grading processes sharing the node-wide sandbox budget against 1.")
    ap.add_argument("--responses", type=int, default=1024, help="responses in the throughput workload")
    ap.add_argument("--tests", type=int, default=4, help="tests per response")
    ap.add_argument("--reps", type=int, default=15, help="repetitions of the single-program timings")
    ap.add_argument("--processes", type=int, default=0,
                    help="grade the workload with this many processes and with 1, compare (verl's default: 8)")
    ap.add_argument("--mixed-runs", type=int, default=0,
                    help="with --processes: also grade the mixed workload (timeouts, attacks) this many times")
    args = ap.parse_args()
    if args.processes:
        return bench_processes(args)

    level = sb.detect_isolation()
    print(f"isolation: {level}; node-wide sandbox budget: {sb.pool_size()} (CPUs available: {len(os.sched_getaffinity(0))})")
    bare = timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), args.reps)
    print(f"bare interpreter start (python -c pass): {bare * 1e3:.1f} ms")

    gt1, gt16 = problem(1, 1, False), problem(1, 16, False)
    compute_code_score("code", resp(STDIN_OK), gt1)  # warm-up (isolation probe)
    t1 = timed(lambda: compute_code_score("code", resp(STDIN_OK), gt1), args.reps)
    t16 = timed(lambda: compute_code_score("code", resp(STDIN_OK), gt16), args.reps)
    per_test = (t16 - t1) / 15
    print(f"one program, 1 test : {t1 * 1e3:.1f} ms ({t1 / bare:.2f}x bare start)")
    print(f"one program, 16 tests: {t16 * 1e3:.1f} ms -> marginal per test {per_test * 1e3:.2f} ms "
          f"({per_test / bare:.2f}x bare start; target <= 1.5x)")
    print(f"per test, amortised over 4 tests: {(t1 + 3 * per_test) / 4 * 1e3:.1f} ms "
          f"({(t1 + 3 * per_test) / 4 / bare:.2f}x bare start)")

    sols, gts, expected = workload(args.responses, args.tests)
    t = time.perf_counter()
    out = compute_code_score_batch(["code"] * len(sols), sols, gts)
    dt = time.perf_counter() - t
    acc = sum(o["acc"] for o in out)
    print(f"throughput: {len(sols)} responses x {args.tests} tests in {dt:.1f} s -> "
          f"{len(sols) / dt:.1f} programs/s, {len(sols) * args.tests / dt:.1f} tests/s "
          f"({acc} passed; expected {int(sum(expected))})")


if __name__ == "__main__":
    main()
