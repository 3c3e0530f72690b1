"""Benchmark of the code reward, all figures measured in one run on this machine.

    python benchmarks/bench_code_reward.py [--responses 1024] [--tests 4]

1. bare interpreter start (``python -c pass``), the unit of comparison;
2. one program with 1 test and with 16 tests through the sandbox: fixed cost per program and marginal
   cost per test (target: per-test cost <= 1.5x a bare interpreter start);
3. throughput: N responses x T tests (a realistic mix: correct / wrong / crashing stdin programs and
   call-based LeetCode-style solutions) graded with the default pool (one slot per available CPU).
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--responses", type=int, default=1024)
    ap.add_argument("--tests", type=int, default=4)
    ap.add_argument("--reps", type=int, default=15)
    args = ap.parse_args()

    level = sb.detect_isolation()
    print(f"isolation: {level}; pool size: {sb.pool_size()} (CPUs available: {len(os.sched_getaffinity(0))})")
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

    kinds = [(STDIN_OK, False), (STDIN_WRONG, False), (STDIN_CRASH, False), (CALL_OK, True), (CALL_WRONG, True)]
    sols, gts = [], []
    for i in range(args.responses):
        code, functional = kinds[i % len(kinds)]
        sols.append(resp(code))
        gts.append(problem(i, args.tests, functional))
    t = time.perf_counter()
    out = compute_code_score_batch(["code"] * len(sols), sols, gts)
    dt = time.perf_counter() - t
    acc = sum(o["acc"] for o in out)
    print(f"throughput: {len(sols)} responses x {args.tests} tests in {dt:.1f} s -> "
          f"{len(sols) / dt:.1f} programs/s, {len(sols) * args.tests / dt:.1f} tests/s "
          f"({acc} passed; expected {sum(1 for i in range(len(sols)) if kinds[i % 5][0] in (STDIN_OK, CALL_OK))})")


if __name__ == "__main__":
    main()
