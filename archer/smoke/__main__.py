"""``python -m archer.smoke``: the smoke profile's steps that the launchers call (docs/smoke.md).

    python -m archer.smoke assets --task math [--no-warm-start]   # build or find the assets; prints shell vars
    python -m archer.smoke finish --ckpt-dir DIR --assets DIR --seconds assets=3.1,train=80
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path


def _seconds(text: str) -> dict[str, float]:
    out = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = item.partition("=")
        try:
            out[key] = round(float(value), 2)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--seconds: {item!r} is not NAME=SECONDS") from None
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m archer.smoke", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("assets", help="build (or find in the cache) the tiny model, tokenizer and data; print "
                                      "SMOKE_* shell assignments on stdout")
    a.add_argument("--task", choices=("math", "code"), required=True)
    a.add_argument("--no-warm-start", action="store_true", help="keep the random-init model (no supervised warm start)")
    a.add_argument("--warm-start-steps", type=int, default=None)
    f = sub.add_parser("finish", help="export the last checkpoint, evaluate it, plot the metrics, write SMOKE_SUMMARY.json")
    f.add_argument("--ckpt-dir", required=True, type=Path)
    f.add_argument("--assets", required=True, type=Path, help="the asset dir printed by `assets`")
    f.add_argument("--metrics-file", type=Path, default=None, help="default: CKPT_DIR/metrics/*.jsonl merged into CKPT_DIR/metrics.jsonl")
    f.add_argument("--seconds", type=_seconds, default={}, help="stage timings measured by the launcher, NAME=S,...")
    f.add_argument("--eval-samples", type=int, default=2)
    return parser


def main(argv=None) -> int:
    """Exit status (every archer command, archer/cli.py): 0 done, 1 the work failed, 2 bad input, 130 Ctrl-C."""
    from archer.cli import run

    return run(_main, "archer.smoke", argv)


def _main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "assets":
        import time

        from archer.smoke.assets import ensure_assets, settings_for

        start = time.monotonic()
        settings = settings_for(args.task, warm_start=not args.no_warm_start, warm_start_steps=args.warm_start_steps)
        directory, manifest, built = ensure_assets(settings)
        values = {
            "SMOKE_ASSETS": str(directory),
            "SMOKE_MODEL": manifest["model"],
            "SMOKE_DATA_DIR": manifest["data_dir"],
            "SMOKE_TRAIN_FILE": manifest["train_file"],
            "SMOKE_PROMPT_LENGTH": str(manifest["prompt_length"]),
            "SMOKE_RESPONSE_LENGTH": str(manifest["response_length"]),
            "SMOKE_ASSETS_BUILT": "1" if built else "0",
            "SMOKE_ASSETS_SECONDS": f"{time.monotonic() - start:.2f}",
        }
        for key, value in values.items():
            print(f"{key}={shlex.quote(value)}")
        return 0
    from archer.smoke.pipeline import finish

    # SmokeError: a stage failed, exit 1 (archer.cli)
    finish(args.ckpt_dir, args.assets / "manifest.json", dict(args.seconds), metrics_file=args.metrics_file,
           eval_samples=args.eval_samples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
