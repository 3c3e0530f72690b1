"""``python -m archer.compare``: ASPO vs GRPO, from run dirs and eval outputs to the paper's comparison.

Example::

    python -m archer.compare --run ASPO=checkpoints/archer/aspo-math --eval ASPO=eval_out/aspo \\
        --run GRPO=checkpoints/archer/grpo-math --eval GRPO=eval_out/grpo --out compare_out --reference

Writes ``OUT/COMPARISON.md`` (links everything, names the compared steps), ``OUT/table.md`` + CSVs,
``OUT/all_steps/``, ``OUT/dynamics/*.png``, ``OUT/eval.png``, ``OUT/comparison.json``; prints the written
``COMPARISON.md`` path on stdout. Bad input exits 2 with a message naming the option / file / dir.
See docs/reproduce.md.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys

from archer.log import setup_logging

logger = logging.getLogger("archer.compare")


def build_parser() -> argparse.ArgumentParser:
    from archer.compare.core import SELECT_RULES
    from archer.eval.reference import REFERENCE_GROUPS
    from archer.plot.panels import PANEL_KEYS

    refs = [*REFERENCE_GROUPS, "all"]
    p = argparse.ArgumentParser(
        prog="python -m archer.compare",
        description="Compare methods (ASPO vs a GRPO baseline): one table row per method at one checkpoint "
        "(Table 1 / Table 2 layout, optionally with the paper's rows), training-dynamics figures of all runs, "
        "and OUT/COMPARISON.md naming the compared steps. A method may have --run, --eval or both. "
        "See docs/reproduce.md.",
    )
    p.add_argument("--run", action="append", metavar="LABEL=RUN_DIR",
                   help="training run: the launcher's checkpoint dir (global_step_*, config.yaml, tensorboard/ or a "
                   "file-logger .jsonl), or a metric log file / dir. Repeat per method.")
    p.add_argument("--eval", action="append", metavar="LABEL=EVAL_DIR",
                   help="python -m archer.eval run --out EVAL_DIR output (global_step_*/summary.json or summary.json). "
                   "Repeat per method; LABEL pairs it with the --run of the same label.")
    p.add_argument("--out", required=True, metavar="DIR", help="output dir (created if missing)")
    p.add_argument("--step", action="append", metavar="[LABEL=]N",
                   help="the checkpoint each row shows: N for every method, LABEL=N for one (wins over N). "
                   "Default: see --select")
    p.add_argument("--select", choices=SELECT_RULES, default="last",
                   help="without --step: 'last' (default) = the highest scored step of each method; 'best' = the "
                   "step with the highest mean avg@n (picked on the eval sets themselves; COMPARISON.md says so)")
    p.add_argument("--reference", nargs="?", const="1.5b", default=None, choices=refs, metavar="GROUP",
                   help=f"add the paper's published rows ({', '.join(refs)}; default when given without value: 1.5b)")
    p.add_argument("--loss-mode", action="append", metavar="LABEL=MODE",
                   help="the policy loss of run LABEL (aspo, vanilla), named in legends and comparison.json. "
                   "Default: the run's config.yaml, else its metrics (as archer.plot dynamics)")
    p.add_argument("--panels", metavar="KEY[,KEY...]",
                   help=f"dynamics panels to draw (default: all with data). Keys: {', '.join(PANEL_KEYS)}")
    p.add_argument("--smooth", type=int, default=1, metavar="W", help="dynamics: moving average over W logged steps")
    p.add_argument("--title", default="", help="heading of table.md and prefix of the figure titles")
    p.add_argument("--dpi", type=int, default=100, help="PNG resolution (default 100)")
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on stderr")
    return p


def main(argv: list[str] | None = None) -> int:
    """Exit status (every archer command, archer/cli.py): 0 done, 1 the work failed, 2 bad input, 130 Ctrl-C."""
    from archer.cli import run

    return run(_main, "archer.compare", argv)


def _main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    log = setup_logging("archer.compare", quiet=args.quiet)
    from archer.compare.core import compare, parse_labelled, parse_steps
    from archer.plot.runs import parse_loss_modes

    # CompareInputError, EvalInputError, PlotInputError: bad input, exit 2 (archer.cli)
    runs = parse_labelled(args.run, "--run")
    evals = parse_labelled(args.eval, "--eval")
    steps = parse_steps(args.step, list(evals))
    panels = [k.strip() for k in args.panels.split(",") if k.strip()] if args.panels else None
    compare(runs, evals, args.out, steps=steps, select=args.select, reference=args.reference,
            loss_modes=parse_loss_modes(args.loss_mode), panels=panels, smooth=args.smooth, title=args.title,
            dpi=args.dpi, command=shlex.join(["python", "-m", "archer.compare", *argv]))
    from pathlib import Path

    path = Path(args.out) / "COMPARISON.md"
    log.info("wrote %s", path)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
