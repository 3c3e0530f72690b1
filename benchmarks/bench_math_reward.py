"""Throughput and latency of the math reward (archer.reward.compute_score) on this machine.

    python benchmarks/bench_math_reward.py [--threads 8] [--repeat 2] [--timeout 5] [--processes 8]
        [--sections threads,processes,pathological]

Workloads (MATH-500-style responses):

* ``math500-solutions``: each MATH-500 reference solution as the response (ends in ``\\boxed{answer}``),
  graded against its gold answer (all correct, mostly decided in-process);
* ``math500-wrong``: the same solutions with the boxed answer altered (wrong; non-numeric ones need the
  symbolic checker);
* ``labelled-800``: the 800 Qwen2.5-Math CoT responses of math_labeled_outputs (a real model's output mix).

Files are read from ``../shared/data`` next to the repository; without them a synthetic MATH-style set is
generated instead. Each workload runs sequentially (one thread) and from a thread pool (as verl's reward
loop calls the function from executor threads), with the worker pool already warm. Then the same
workloads split over 1 and over N grading processes (``python -m archer.reward.math.grade_file``, as
verl's ``reward.num_workers`` reward-loop processes, each with its default pool size for that many
processes), with the N/1 throughput ratio. Then the latency of pathological answers that hit the
timeout. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from archer.reward import compute_score, grader_stats, shutdown  # noqa: E402
from archer.reward.math.grader import MathGraderConfig, math_worker_pool  # noqa: E402

DATA = REPO.parent / "shared" / "data"

PATHOLOGICAL = {
    "power tower 9^{9^{9^{9}}}": ("9^{9^{9^{9}}}", "1"),
    "10^{100000000}": ("10^{100000000}", "1"),
    "nested fractions x300 (max_answer_chars=None)": ("\\frac{1}{" * 300 + "2" + "}" * 300, "\\frac{2}{3}"),
    "100 kB polynomial (max_answer_chars=None)": ("+".join(f"x^{{{i}}}" for i in range(12000)), "x"),
}


def _wrong(answer: str) -> str:
    digits = [m.start() for m in re.finditer(r"\d", answer)]
    if digits:
        i = digits[-1]
        return answer[:i] + str((int(answer[i]) + 3) % 10) + answer[i + 1 :]
    return answer + "+1"


def load_workloads() -> dict[str, list[tuple[str, object]]]:
    work: dict[str, list[tuple[str, object]]] = {}
    math500 = DATA / "math500" / "test.jsonl"
    if math500.is_file():
        rows = [json.loads(line) for line in math500.open(encoding="utf-8")]
        work["math500-solutions"] = [(r["solution"], r["answer"]) for r in rows]
        work["math500-wrong"] = [
            (r["solution"].replace("\\boxed{" + r["answer"] + "}", "\\boxed{" + _wrong(r["answer"]) + "}"), r["answer"])
            for r in rows
        ]
    labelled = DATA / "math_labeled_outputs" / "math_cot_100.jsonl"
    if labelled.is_file():
        rows = [json.loads(line) for line in labelled.open(encoding="utf-8")]
        work["labelled-800"] = [(resp, r["gt"]) for r in rows for resp in r["response"]]
    if not work:
        work["synthetic"] = synthetic()
    return work


def synthetic(n: int = 1000, seed: int = 0) -> list[tuple[str, object]]:
    rng = random.Random(seed)
    filler = "We simplify the expression step by step and check each case carefully. " * 12
    out = []
    for i in range(n):
        a, b = rng.randint(1, 999), rng.randint(2, 60)
        kind = i % 5
        if kind == 0:
            gold, pred = str(a), f"{a:03d}"
        elif kind == 1:
            gold, pred = f"\\frac{{{a}}}{{{b}}}", f"\\dfrac{{{a}}}{{{b}}}"
        elif kind == 2:
            gold, pred = f"{a}\\sqrt{{{b}}}", f"\\sqrt{{{a * a * b}}}"
        elif kind == 3:
            gold, pred = f"({a}, {b})", f"\\left({a},{b + 1}\\right)"
        else:
            gold, pred = f"x^2+{2 * a}x+{a * a}", f"(x+{a})^2"
        out.append((f"{filler}\n\nTherefore the answer is $\\boxed{{{pred}}}$.", gold))
    return out


def run(items, threads: int, timeout: float) -> tuple[float, list[dict]]:
    def one(item):
        return compute_score("math", item[0], item[1], timeout_s=timeout)

    start = time.perf_counter()
    if threads <= 1:
        results = [one(item) for item in items]
    else:
        with ThreadPoolExecutor(max_workers=threads) as ex:
            results = list(ex.map(one, items))
    return time.perf_counter() - start, results


def fresh_pool() -> None:
    """New worker processes, all started and ready: measures warm processes with cold caches."""
    shutdown()
    math_worker_pool().prestart()


def measure(items, threads: int, timeout: float) -> tuple[float, list[dict], int]:
    fresh_pool()
    before = grader_stats()
    elapsed, results = run(items, threads, timeout)
    after = grader_stats()
    to_worker = sum(after[k] - before[k] for k in ("symbolic", "timeouts", "crashes"))
    return elapsed, results, to_worker


def grade_in_processes(items, processes: int, threads: int, timeout: float, rows_file: Path) -> dict:
    """Grade ``items`` split over ``processes`` grading processes; wall time from launch to the last exit."""
    env = dict(os.environ, ARCHER_MATH_REWARD_PROCESSES=str(processes))
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "archer.reward.math.grade_file", str(rows_file), "--threads", str(threads),
             "--timeout", str(timeout), "--shard", f"{k}/{processes}"],
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        for k in range(processes)
    ]
    reports = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"grading process exited with {proc.returncode}")
        reports.append(json.loads(out))
    wall = time.perf_counter() - start
    pools = [r["pool"] for r in reports if r["pool"]]
    return {
        "wall_s": wall,
        "grading_s": max(r["elapsed_s"] for r in reports),
        "graded": sum(len(r["results"]) for r in reports),
        "pool_size": pools[0]["size"] if pools else 0,
        "workers_started": sum(p["started"] for p in pools),
        "timeouts": sum(r["stats"]["timeouts"] + r["stats"]["starved"] for r in reports),
    }


def compare_processes(work, processes: int, threads: int, timeout: float, repeat: int) -> None:
    print(
        f"\n1 vs {processes} grading processes ({threads} threads each; answers/s over the wall time from launch"
        " to the last exit, process start-up included; median of"
        f" {repeat}; 'grading' excludes interpreter start-up)"
    )
    header = (
        f"{'workload':<20}{'answers':>8}{'1 proc /s':>11}{'grading':>9}{'pool':>6}"
        f"{f'{processes} procs /s':>13}{'grading':>9}{'pool':>6}{'workers':>9}{'ratio':>7}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for name, items in work.items():
            rows_file = Path(tmp) / f"{name}.jsonl"
            with open(rows_file, "w", encoding="utf-8") as f:
                for response, gold in items:
                    f.write(json.dumps({"response": response, "ground_truth": gold}) + "\n")
            one = [grade_in_processes(items, 1, threads, timeout, rows_file) for _ in range(repeat)]
            many = [grade_in_processes(items, processes, threads, timeout, rows_file) for _ in range(repeat)]
            r1 = statistics.median(len(items) / r["wall_s"] for r in one)
            g1 = statistics.median(len(items) / r["grading_s"] for r in one)
            rn = statistics.median(len(items) / r["wall_s"] for r in many)
            gn = statistics.median(len(items) / r["grading_s"] for r in many)
            print(
                f"{name:<20}{len(items):>8}{r1:>11.0f}{g1:>9.0f}{one[0]['pool_size']:>6}"
                f"{rn:>13.0f}{gn:>9.0f}{many[0]['pool_size']:>6}{many[0]['workers_started']:>9}{rn / r1:>7.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=8, help="threads for the concurrent run (verl uses an executor)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure, each on a fresh pool (median reported)")
    parser.add_argument("--timeout", type=float, default=5.0, help="timeout_s for the throughput runs")
    parser.add_argument("--patho-timeout", type=float, default=2.0, help="timeout_s for the pathological set")
    parser.add_argument("--processes", type=int, default=8, help="grading processes for the 1-vs-N comparison")
    parser.add_argument(
        "--sections", default="threads,processes,pathological", help="comma list of: threads, processes, pathological"
    )
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    unknown = sections - {"threads", "processes", "pathological"}
    if unknown:
        parser.error(f"unknown section(s) {sorted(unknown)}")

    pool_size = MathGraderConfig().pool_size()
    print(
        f"machine: {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable); worker pool size {pool_size};"
        f" python {sys.version.split()[0]}"
    )
    work = load_workloads()
    print(f"data: {'real files from ' + str(DATA) if 'synthetic' not in work else 'synthetic (no data files found)'}")

    if "threads" in sections:
        run_threads(work, args)
    if "processes" in sections:
        compare_processes(work, args.processes, args.threads, args.timeout, args.repeat)
    if "pathological" in sections:
        run_pathological(args)
    print(f"\ngrader counters (this process): {grader_stats()}")
    shutdown()


def run_threads(work, args) -> None:
    shutdown()
    start = time.perf_counter()
    compute_score("math", "\\boxed{(x+1)^2}", "x^2+2x+1", timeout_s=30)
    print(
        f"cold start: first answer needing a worker took {time.perf_counter() - start:.2f} s (process start + imports)"
    )
    print(
        "figures: answers graded per second, median of "
        f"{args.repeat} runs, each on freshly started workers (warm processes, empty caches)\n"
    )

    threads_col = f"{args.threads} threads /s"
    header = f"{'workload':<20}{'answers':>8}{'correct':>9}{'to worker':>11}{'1 thread /s':>13}{threads_col:>15}"
    print(header)
    print("-" * len(header))
    for name, items in work.items():
        rates1, ratesn = [], []
        results, to_worker = [], 0
        for _ in range(args.repeat):
            t1, results, to_worker = measure(items, 1, args.timeout)
            tn, _, _ = measure(items, args.threads, args.timeout)
            rates1.append(len(items) / t1)
            ratesn.append(len(items) / tn)
        correct = sum(r["acc"] for r in results)
        print(
            f"{name:<20}{len(items):>8}{correct:>9}{to_worker:>11}"
            f"{statistics.median(rates1):>13.0f}{statistics.median(ratesn):>15.0f}"
        )



def run_pathological(args) -> None:
    print(f"\npathological answers (timeout_s={args.patho_timeout}, a ready worker waiting before each):")
    for name, (pred, gold) in PATHOLOGICAL.items():
        kwargs = {"max_answer_chars": None} if "max_answer_chars" in name else {}
        lat = []
        for _ in range(3):
            math_worker_pool().prestart()
            compute_score("math", "\\boxed{(x+1)^2}", "x^2+2x+1", timeout_s=30)
            start = time.perf_counter()
            out = compute_score("math", f"\\boxed{{{pred}}}", gold, timeout_s=args.patho_timeout, **kwargs)
            lat.append(time.perf_counter() - start)
        print(
            f"  {name:<48} median {statistics.median(lat):.2f} s, max {max(lat):.2f} s, "
            f"score {out['score']}, timeout {out['grader_timeout']}"
        )


if __name__ == "__main__":
    main()
