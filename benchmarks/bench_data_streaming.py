"""Peak memory of ``python -m archer.data prepare --suite code`` on a synthetic multi-GB Archer2.0-style file.

Writes a parquet file shaped like ``Fate-Zero/Archer2.0-Code-1.5B`` (string columns ``prompt``,
``ground_truth`` = JSON ``{"inputs": [...], "outputs": [...]}``, ``ability``; large test data per row) into a
temporary directory, runs the real CLI on it in a child process, and prints the child's peak RSS next to
the file size, both measured in this one run. The temporary files are deleted afterwards.

    python benchmarks/bench_data_streaming.py --gb 2
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def make_file(path: Path, target_bytes: int, rows: int, row_group_rows: int, seed: int = 0) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(seed)
    per_row = max(1000, target_bytes // rows)
    schema = pa.schema([("prompt", pa.string()), ("ground_truth", pa.string()), ("ability", pa.string())])
    n_tests = 8
    chunk = per_row // (2 * n_tests)
    with pq.ParquetWriter(path, schema) as w:
        buf = []
        for i in range(rows):
            # incompressible-ish test data: random digits, as large as the real set's test cases
            ins = [" ".join(str(rng.getrandbits(30)) for _ in range(chunk // 11)) + "\n" for _ in range(n_tests)]
            outs = [str(rng.getrandbits(60)) + "\n" + "".join(rng.choices("0123456789 ", k=chunk)) for _ in range(n_tests)]
            buf.append({
                "prompt": f"Problem {i}: read the numbers from standard input and print the answer. " + "word " * 60,
                "ground_truth": json.dumps({"inputs": ins, "outputs": outs}),
                "ability": "code",
            })
            if len(buf) == row_group_rows:
                w.write_table(pa.Table.from_pylist(buf, schema=schema))
                buf = []
        if buf:
            w.write_table(pa.Table.from_pylist(buf, schema=schema))
    return path.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gb", type=float, default=2.0, help="uncompressed test-data size of the synthetic file in GB (default 2)")
    ap.add_argument("--rows", type=int, default=8871, help="rows (default 8871, as Archer2.0's code set)")
    ap.add_argument("--row-group-rows", type=int, default=100, help="rows per parquet row group of the input (default 100)")
    ap.add_argument("--tmp", default=None, help="directory for the temporary files (default: system temp)")
    args = ap.parse_args()
    if args.tmp is not None:
        import os

        where = Path(args.tmp)
        if not where.is_dir():
            ap.error(f"--tmp {args.tmp}: not an existing directory (create it first, or leave --tmp out "
                     "for the system temp dir)")
        if not os.access(where, os.W_OK | os.X_OK):
            ap.error(f"--tmp {args.tmp}: directory is not writable")
    if args.gb <= 0 or args.rows < 1 or args.row_group_rows < 1:
        ap.error("--gb must be > 0, --rows and --row-group-rows >= 1")

    tmp = Path(tempfile.mkdtemp(prefix="archer_bench_data_", dir=args.tmp))
    try:
        src = tmp / "archer2_code_synthetic.parquet"
        t0 = time.perf_counter()
        size = make_file(src, int(args.gb * 1e9), args.rows, args.row_group_rows)
        print(f"synthetic input: {src.name}, {args.rows} rows, {size / 1e9:.2f} GB on disk "
              f"({time.perf_counter() - t0:.0f} s to write)", file=sys.stderr)
        cmd = [sys.executable, "-m", "archer.data", "prepare", "--suite", "code", "--out-dir", str(tmp / "out"),
               "--source", f"archer2_code={src}", "--no-decontam", "--no-progress"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            sys.exit(f"prepare failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # Linux: KiB
        out = tmp / "out" / "train" / "code.parquet"
        report = json.loads((tmp / "out" / "train" / "code.report.json").read_text())
        print(json.dumps({
            "input_bytes": size,
            "output_bytes": out.stat().st_size,
            "rows_written": report["rows_written"],
            "peak_rss_bytes": peak,
            "peak_rss_over_input_size": round(peak / size, 4),
            "prepare_seconds": round(wall, 1),
        }, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
