"""``python -m archer.plot dynamics|eval``: PNG figures of training dynamics and of eval results.

Examples::

    python -m archer.plot dynamics --run logs/aspo.jsonl:ASPO --run tensorboard_log/proj/grpo:GRPO --out figs/ --smooth 5
    python -m archer.plot eval --results eval_out/aspo:ASPO --results eval_out/grpo:GRPO --out figs/eval.png

Written files are listed on stdout, one per line; notes (a run without a panel's metric, a skipped panel)
and progress go to stderr. Bad input (a missing path, a log without metrics, a malformed summary) exits
with status 2 and a message naming the file.
"""

from __future__ import annotations

import argparse
import logging
import sys

from archer.log import setup_logging
from archer.plot.panels import PANEL_KEYS, PANELS

logger = logging.getLogger("archer.plot")


def _panel_help() -> str:
    lines = []
    for panel in PANELS:
        metrics = ", ".join(s.metric for s in panel.series)
        scale = " [fraction: y from 0]" if panel.fraction else ""
        lines.append(f"  {panel.key:<18} {metrics}{scale}")
    return "panels and their metrics:\n" + "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m archer.plot",
        description="PNG figures of training dynamics (from verl's file logger or tensorboard logs) and of eval "
        "results across checkpoints. See docs/plots.md.",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{dynamics,eval}")

    dyn = sub.add_parser(
        "dynamics",
        help="training-dynamics panels of one or more runs",
        description="One PNG per panel with data (OUT/<panel>.png) plus OUT/overview.png (all panels in a grid). "
        "OUT is redrawn: <panel>.png and overview.png files of an earlier draw are removed first (no other file). "
        "Several --run on one figure compare runs (e.g. ASPO vs GRPO).",
        epilog=_panel_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dyn.add_argument(
        "--run", action="append", required=True, metavar="PATH[:LABEL]",
        help="a verl file-logger .jsonl, a tensorboard event file, or a directory holding either; LABEL names the "
        "run in legends (default: file stem / directory name). Repeat for several runs.",
    )
    dyn.add_argument("--out", required=True, metavar="DIR", help="output directory (created if missing)")
    dyn.add_argument("--smooth", type=int, default=1, metavar="W",
                     help="trailing moving average over W logged steps; raw values drawn faintly behind (default 1: none)")
    dyn.add_argument("--x", default="step", metavar="step|time|METRIC",
                     help="x axis: 'step' (default), 'time' (hours, cumulative timing_s/step), or any logged metric name")
    dyn.add_argument("--panels", metavar="KEY[,KEY...]",
                     help=f"only these panels, in this order (default: all). Keys: {', '.join(PANEL_KEYS)}")
    dyn.add_argument(
        "--loss-mode", action="append", metavar="LABEL=MODE",
        help="the policy loss of run LABEL (aspo, vanilla, ...), named in its legends ('LABEL (MODE loss)'). "
        "Default: from a config.yaml / .hydra/config.yaml next to the log, else 'aspo' if the run logged an "
        "actor/aspo/* metric, else 'vanilla'",
    )
    dyn.add_argument("--title", default="", help="text put before every panel title and atop the overview")
    dyn.add_argument("--no-overview", action="store_true", help="do not write overview.png")
    dyn.add_argument("--dpi", type=int, default=100, help="PNG resolution (default 100; overview.png too)")
    dyn.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="only warnings and errors on stderr")

    ev = sub.add_parser(
        "eval",
        help="avg@n / pass@n per benchmark across checkpoints",
        description="Reads DIR/global_step_*/summary.json (python -m archer.eval output; or DIR/summary.json) and "
        "draws avg@n (solid) and pass@n (dashed) per benchmark against the checkpoint step; when every results "
        "set has a single checkpoint, grouped bars per benchmark instead.",
    )
    ev.add_argument("--results", action="append", required=True, metavar="DIR[:LABEL]",
                    help="an eval output directory; LABEL names it in legends (default: directory name). Repeatable.")
    ev.add_argument("--out", required=True, metavar="FILE.png", help="output PNG file")
    ev.add_argument("--title", default="", help="figure title")
    ev.add_argument("--dpi", type=int, default=100, help="PNG resolution (default 100)")
    ev.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="only warnings and errors on stderr")
    return parser


def _dynamics(args) -> list:
    from tqdm import tqdm

    from archer.plot.figures import write_dynamics
    from archer.plot.panels import panels_by_key
    from archer.plot.runs import check_labels, load_run, parse_loss_modes

    panels = panels_by_key([k.strip() for k in args.panels.split(",") if k.strip()] if args.panels else None)
    loss_modes = parse_loss_modes(args.loss_mode)
    runs = [load_run(text, loss_modes) for text in tqdm(args.run, desc="reading runs", unit="run", disable=None)]
    check_labels(runs, loss_modes)
    title = f"{args.title.strip()} — " if args.title.strip() else ""
    return write_dynamics(
        runs, args.out, panels, x=args.x, smooth=args.smooth, title_prefix=title, overview=not args.no_overview, dpi=args.dpi
    )


def _eval(args) -> list:
    from tqdm import tqdm

    from archer.plot.eval_figure import read_results, write_eval_figure

    tables = [read_results(text) for text in tqdm(args.results, desc="reading results", unit="dir", disable=None)]
    return [write_eval_figure(tables, args.out, title=args.title, dpi=args.dpi)]


def main(argv: list[str] | None = None) -> int:
    """Exit status (every archer command, archer/cli.py): 0 done, 1 the work failed, 2 bad input, 130 Ctrl-C."""
    from archer.cli import run

    return run(_main, "archer.plot", argv)


def _main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging("archer.plot", quiet=args.quiet)
    written = _dynamics(args) if args.command == "dynamics" else _eval(args)  # PlotInputError: exit 2 (archer.cli)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
