"""``python -m archer.data``: prepare verl-format parquet data, or validate prepared files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from archer.data import EVAL_SETS
from archer.log import setup_logging
from archer.data.decontam import DEFAULT_MIN_OVERLAP, DEFAULT_NGRAM


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m archer.data",
        description="Prepare archer's training and evaluation data as verl-format parquet (see data/README.md).",
    )
    sub = p.add_subparsers(dest="command", required=True)
    pp = sub.add_parser(
        "prepare",
        help="write data/train/{math,code}.parquet and/or data/eval/<set>.parquet",
        description="Write verl-format parquet files (prompt, data_source, ability, reward_model, extra_info) "
        "with a <name>.report.json next to each. Exit status 1 when a file has too many bad rows, a source "
        "cannot be read, or (with --strict) an eval set has no source.",
    )
    pp.add_argument("--suite", required=True, choices=("math", "code", "eval", "all"),
                    help="math / code: training set (also prepares missing eval sets for decontamination); "
                    "eval: evaluation sets; all: eval, then math and code")
    pp.add_argument("--out-dir", type=Path, default=Path("data"),
                    help="output root: <out-dir>/train/<suite>.parquet, <out-dir>/eval/<set>.parquet (default: data)")
    pp.add_argument("--local-dir", type=Path, default=None,
                    help="read eval sets offline from this directory, laid out like ../shared/data "
                    "(aime2024/test.jsonl, ...); default: $ARCHER_SHARED_DATA if set, else the hub")
    pp.add_argument("--source", action="append", default=[], metavar="NAME=SPEC",
                    help="override one source: SPEC is a local file or directory (.jsonl, .jsonl.gz, .json, .parquet), "
                    "hub:OWNER/NAME[,split=S][,config=C], or none. NAME: a training source (deepscaler, "
                    "skywork_or1_math, dapo_math, archer2_code) or an eval set. Repeatable.")
    pp.add_argument("--sets", default=",".join(EVAL_SETS),
                    help=f"comma-separated eval sets for --suite eval/all (default: all: {','.join(EVAL_SETS)})")
    pp.add_argument("--max-bad-fraction", type=float, default=0.05,
                    help="fail (exit 1, output not written) when more than this fraction of a file's source rows "
                    "is bad (default: 0.05)")
    pp.add_argument("--ngram", type=int, default=DEFAULT_NGRAM,
                    help=f"word n-gram size for decontamination (default: {DEFAULT_NGRAM})")
    pp.add_argument("--min-overlap", type=float, default=DEFAULT_MIN_OVERLAP,
                    help="drop a training problem that contains at least this fraction of an eval problem's distinct "
                    f"n-grams (default: {DEFAULT_MIN_OVERLAP}; 0 = any shared n-gram)")
    pp.add_argument("--no-decontam", action="store_true", help="do not drop training rows that overlap eval sets")
    pp.add_argument("--strict", action="store_true",
                    help="fail when an eval set has no source (e.g. livecodebench_v6 offline) or cannot be "
                    "used for decontamination")
    pp.add_argument("--offline", action="store_true",
                    help="never try the Hugging Face hub (also when HF_HUB_OFFLINE=1; without either, an unreachable "
                    "hub is detected by one quick connection probe): sources that need it fail at once, named")
    pp.add_argument("--force", action="store_true", help="redo outputs whose inputs and options did not change")
    pp.add_argument("--batch-rows", type=int, default=64, help="rows per parquet read batch (default: 64)")
    pp.add_argument("--no-progress", action="store_true", help="no progress bars")
    pp.add_argument("-v", "--verbose", action="store_true", help="debug logging")

    vp = sub.add_parser("validate", help="check prepared parquet files (prints rows per data_source as JSON)",
                        description="Check that each file is a prepared verl parquet file; exit 1 naming the "
                        "file and the problem otherwise.")
    vp.add_argument("paths", nargs="+", type=Path)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    log = setup_logging("archer.data", verbose=getattr(args, "verbose", False))
    if args.command == "validate":
        from archer.data.validate import validate_prepared

        rc = 0
        for path in args.paths:
            try:
                print(json.dumps(validate_prepared(path)))
            except ValueError as e:
                log.error("%s", e)
                rc = 1
        return rc

    from archer.data.prepare import ALL_SOURCE_NAMES, Options, prepare, summary_table
    from archer.data.sources import parse_source_args

    try:
        sets = tuple(s.strip() for s in args.sets.split(",") if s.strip())
        unknown = [s for s in sets if s not in EVAL_SETS]
        if unknown:
            raise ValueError(f"--sets: unknown eval set(s) {unknown}; known: {', '.join(EVAL_SETS)}")
        if not 0 <= args.max_bad_fraction <= 1:
            raise ValueError(f"--max-bad-fraction must be in [0, 1], got {args.max_bad_fraction}")
        if not 0 <= args.min_overlap <= 1:
            raise ValueError(f"--min-overlap must be in [0, 1], got {args.min_overlap}")
        if args.ngram < 1:
            raise ValueError(f"--ngram must be >= 1, got {args.ngram}")
        if args.local_dir is None:
            from archer.data.sources import default_local_dir

            args.local_dir = default_local_dir()
        if args.local_dir is not None and not args.local_dir.is_dir():
            raise ValueError(f"--local-dir (or $ARCHER_SHARED_DATA) {args.local_dir}: not a directory")
        opts = Options(
            out_dir=args.out_dir,
            local_dir=args.local_dir,
            sources=parse_source_args(args.source, ALL_SOURCE_NAMES),
            eval_sets=sets,
            max_bad_fraction=args.max_bad_fraction,
            ngram=args.ngram,
            min_overlap=args.min_overlap,
            decontam=not args.no_decontam,
            strict=args.strict,
            force=args.force,
            batch_rows=args.batch_rows,
            progress=not args.no_progress,
            offline=args.offline,
        )
        outcomes = prepare(args.suite, opts)
    except ValueError as e:
        log.error("%s", e)
        return 1
    print(summary_table(outcomes), file=sys.stderr)
    failed = [o for o in outcomes if o.failed]
    from archer.data.prepare import HUB_REFUSED

    for o in failed:
        if not o.message.startswith(HUB_REFUSED):  # those are named together below
            log.error("%s: %s", o.name, o.message)
    if opts.hub_needed:
        log.error(
            "the Hugging Face hub was not used (%s); %d source(s) need it: %s. Give local files instead: "
            "--local-dir DIR for "
            "the eval sets (laid out like ../shared/data: aime2024/test.jsonl, ...; or $ARCHER_SHARED_DATA), "
            "--source NAME=PATH (.jsonl, .jsonl.gz, .json, .parquet or a directory of them) for any source, "
            "--source NAME=none to skip one; see data/README.md", opts.hub_why, len(opts.hub_needed),
            ", ".join(f"{n} ({s})" for n, s in opts.hub_needed.items()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
