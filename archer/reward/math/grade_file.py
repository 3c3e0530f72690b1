"""Grade a JSONL file of math responses the way one verl reward-loop process does.

    python -m archer.reward.math.grade_file ROWS.jsonl [--threads 4] [--timeout 5] [--shard K/N]

verl 0.9.1 runs ``reward.num_workers`` grading processes, each calling ``compute_score`` from executor
threads. This entry point is one such process: it grades its share of the rows (``--shard K/N`` keeps
rows K, K+N, K+2N, ..., as a batch split over N processes) from a thread pool and prints one JSON
object, ``{"results": [[row index, result dict], ...], "stats": ..., "pool": ...}``. The multi-process
tests and ``benchmarks/bench_math_reward.py`` start several of these side by side.

Each input row is ``{"response": str, "ground_truth": ..., "kwargs": {...}}`` (``kwargs`` optional:
reward options for that row, merged over the command-line ones).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def _shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard must look like K/N, got {text!r}") from None
    if n < 1 or not 0 <= k < n:
        raise argparse.ArgumentTypeError(f"--shard K/N needs 0 <= K < N, got {text!r}")
    return k, n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rows", help="JSONL file, one {response, ground_truth[, kwargs]} object per line")
    parser.add_argument("--threads", type=int, default=4, help="executor threads calling compute_score")
    parser.add_argument("--timeout", type=float, default=5.0, help="timeout_s reward option")
    parser.add_argument("--shard", type=_shard, default=(0, 1), help="K/N: grade rows K, K+N, ... only")
    args = parser.parse_args(argv)

    from archer.reward import compute_score, grader_stats, shutdown
    from archer.reward.math.grader import WORKER_MODULE
    from archer.reward.math.pool import existing_pool

    with open(args.rows, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    k, n = args.shard
    mine = [(i, row) for i, row in enumerate(rows) if i % n == k]

    def grade(item):
        i, row = item
        options = {"timeout_s": args.timeout, **row.get("kwargs", {})}
        return i, compute_score("math", row["response"], row["ground_truth"], **options)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, args.threads)) as executor:
        results = list(executor.map(grade, mine))
    elapsed = time.perf_counter() - start
    pool = existing_pool(WORKER_MODULE)
    report = {
        "results": results,
        "elapsed_s": elapsed,
        "stats": grader_stats(),
        "pool": pool.stats() if pool is not None else None,
    }
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
