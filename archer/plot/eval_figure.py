"""Eval results across checkpoints: avg@n and pass@n per benchmark, from ``archer.eval`` summaries.

Input (contract 4 of ``python -m archer.eval``): ``DIR/global_step_N/summary.json`` per checkpoint, each
``{data_source: {"n": samples per problem, "problems": int, "avg": avg@n in percent, "pass": pass@n in
percent}}``; a ``DIR/summary.json`` directly in ``DIR`` (one scored generation file) counts as one checkpoint
without a step.

Figure: when every results set has several checkpoints, one line subplot per benchmark (x = checkpoint step,
solid = avg@n, dashed = pass@n, one colour per results set); when each has a single checkpoint, grouped bars
(one subplot for avg@n, one for pass@n, x = benchmark, each bar labelled with its value). One legend for
the whole figure, below the subplots, so it covers no point and no value label; the bars' axis has room
above the tallest bar for its label.
"""

from __future__ import annotations

import json
import logging
import math
import re
from pathlib import Path

import matplotlib

from archer import rundir

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from archer.plot.errors import PlotInputError  # noqa: E402
from archer.plot.runs import parse_labelled_path  # noqa: E402

logger = logging.getLogger(__name__)

SUMMARY = rundir.EVAL_SUMMARY
STEP_DIR = re.compile(r"^global_step_(\d+)$")
FIELDS = ("n", "problems", "avg", "pass")
# contract 1's eval set names, in the order the figure shows them; other data sources follow, sorted
BENCHMARK_ORDER = (
    "aime2024", "aime2025", "amc2023", "math500", "minerva", "olympiadbench", "livecodebench_v5", "livecodebench_v6",
)
BAR_HEADROOM = 1.12  # top of the bars' axis: this times the tallest bar, room for its value label
MAX_STEP_TICKS = 8  # up to this many checkpoints: one x tick at each
LEGEND_STYLE = {"handlelength": 3.6, "numpoints": 2}  # the dash stays visible between the markers
COLUMNS = ["label", "checkpoint", "step", "data_source", "n", "problems", "avg", "pass"]
COLORS = plt.get_cmap("tab10").colors


def read_summary(path: str | Path) -> dict[str, dict[str, float]]:
    """A validated ``summary.json``; :class:`PlotInputError` names the file, data source and key at fault."""
    path = Path(path)
    try:
        summary = json.loads(path.read_text())
    except FileNotFoundError:
        raise PlotInputError(f"eval summary not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise PlotInputError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except UnicodeDecodeError as exc:
        raise PlotInputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); truncated or corrupt?") from None
    except OSError as exc:
        raise PlotInputError(f"{path}: cannot read it ({type(exc).__name__}: {exc})") from None
    if not isinstance(summary, dict) or not summary:
        raise PlotInputError(f"{path}: expected a non-empty object {{data_source: {{n, problems, avg, pass}}}}")
    for source, entry in summary.items():
        if not isinstance(entry, dict):
            raise PlotInputError(f"{path}: {source!r} must map to an object with keys {', '.join(FIELDS)}")
        for key in FIELDS:
            if key not in entry:
                raise PlotInputError(f"{path}: {source!r} has no key {key!r}")
            value = entry[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise PlotInputError(f"{path}: {source!r}.{key} must be a number, got {value!r}")
        for key in ("avg", "pass"):
            if not 0 <= entry[key] <= 100:
                raise PlotInputError(f"{path}: {source!r}.{key} = {entry[key]} is not a percentage in [0, 100]")
    return summary


def read_results(text: str) -> pd.DataFrame:
    """Tidy table (:data:`COLUMNS`) of one ``--results DIR[:LABEL]``."""
    root, label = parse_labelled_path(text, option="--results")
    if not root.is_dir():
        raise PlotInputError(f"--results {text!r}: {root} is not a directory")
    found: list[tuple[str, int | None, Path]] = []
    for child in sorted(root.iterdir()):
        match = STEP_DIR.match(child.name)
        if not (child.is_dir() and match):
            continue
        if (child / SUMMARY).is_file():
            found.append((child.name, int(match.group(1)), child / SUMMARY))
        else:
            logger.warning("%s: no %s (checkpoint not scored yet?); left out", child, SUMMARY)
    if not found and (root / SUMMARY).is_file():  # one scored checkpoint; its step if the dir is global_step_N
        match = STEP_DIR.match(root.resolve().name)
        found.append((root.resolve().name, int(match.group(1)) if match else None, root / SUMMARY))
    if not found:
        raise PlotInputError(f"no eval results in {root}: expected {root}/global_step_*/{SUMMARY} or {root}/{SUMMARY}")
    rows = []
    for checkpoint, step, path in found:
        for source, entry in read_summary(path).items():
            rows.append((label, checkpoint, step, source, *(entry[k] for k in FIELDS)))
    table = pd.DataFrame(rows, columns=COLUMNS)
    return table.sort_values(["step", "data_source"], na_position="first", kind="stable").reset_index(drop=True)


def benchmark_order(sources) -> list[str]:
    sources = set(sources)
    return [s for s in BENCHMARK_ORDER if s in sources] + sorted(sources - set(BENCHMARK_ORDER))


def _n_text(rows: pd.DataFrame) -> str:
    ns = sorted({int(n) for n in rows["n"]})
    return "n=" + "/".join(str(n) for n in ns)


def eval_layout(tables: list[pd.DataFrame]) -> str:
    """"bars" when every results set has a single checkpoint, else "lines"."""
    return "bars" if all(t["checkpoint"].nunique() == 1 for t in tables) else "lines"


def write_eval_figure(tables: list[pd.DataFrame], out: str | Path, *, title: str = "", dpi: int = 100) -> Path:
    """Lines across checkpoints, or grouped bars when every results set has one checkpoint."""
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise PlotInputError(f"--out {out}: the eval figure is a PNG file, name it *.png")
    labels = [t["label"].iloc[0] for t in tables]
    if len(set(labels)) < len(labels):
        raise PlotInputError(f"two --results share a label ({', '.join(labels)}); give them labels with DIR:LABEL")
    data = pd.concat(tables, ignore_index=True)
    if out.is_dir():
        raise PlotInputError(f"--out {out}: is a directory; the eval figure is a PNG file")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig = _bars(data, labels) if eval_layout(tables) == "bars" else _lines(data, labels)
    if title:
        fig.suptitle(title, fontsize=12)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out


def _bars(data: pd.DataFrame, labels: list[str]):
    sources = benchmark_order(data["data_source"])
    fig, axes = plt.subplots(1, 2, figsize=(max(7.0, 1.3 * len(sources) * 2), 4.2), layout="constrained", squeeze=False)
    width = 0.8 / len(labels)
    positions = np.arange(len(sources))
    for ax, metric in zip(axes.flat, ("avg", "pass")):
        for i, label in enumerate(labels):
            rows = data[data["label"] == label].set_index("data_source")
            missing = [s for s in sources if s not in rows.index]
            if missing and metric == "avg":
                logger.warning("results %r have no %s; no bar there", label, ", ".join(missing))
            values = [rows.loc[s, metric] if s in rows.index else np.nan for s in sources]
            bars = ax.bar(positions + (i - (len(labels) - 1) / 2) * width, values, width, label=label, color=COLORS[i % 10])
            ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=1)
        tallest = np.nanmax(data[metric].to_numpy(dtype=float)) if len(data) else 0.0
        ax.set_ylim(0.0, max(1.0, BAR_HEADROOM * tallest))
        ns = [_n_text(data[data["data_source"] == s]) for s in sources]
        ax.set_xticks(positions, [f"{s}\n{n}" for s, n in zip(sources, ns)], fontsize=7.5, rotation=30, ha="right")
        ax.set_ylabel(f"{metric}@n (%)", fontsize=9)
        ax.set_title(f"{metric}@n per benchmark", fontsize=10)
        ax.grid(True, axis="y", alpha=0.3)
    _figure_legend(fig, axes.flat[0])
    return fig


def _figure_legend(fig, *axes) -> None:
    """One legend below all subplots (entries of every subplot, each label once)."""
    entries: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    if entries:
        fig.legend(list(entries.values()), list(entries), loc="outside lower center", ncol=min(4, len(entries)),
                   fontsize=8, frameon=False, **LEGEND_STYLE)


def _lines(data: pd.DataFrame, labels: list[str]):
    sources = benchmark_order(data["data_source"])
    ncols = min(4, len(sources))
    nrows = -(-len(sources) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.8 * ncols, 3.0 * nrows), layout="constrained", squeeze=False)
    for ax, source in zip(axes.flat, sources):
        rows = data[data["data_source"] == source]
        for i, label in enumerate(labels):
            mine = rows[rows["label"] == label]
            if mine.empty:
                logger.warning("results %r have no %s; no line there", label, source)
            color = COLORS[i % 10]
            stepped = mine[mine["step"].notna()].sort_values("step")
            for metric, style in (("avg", "-"), ("pass", "--")):
                if not stepped.empty:
                    ax.plot(stepped["step"], stepped[metric], style, color=color, marker="o", markersize=3.5,
                            label=f"{label} {metric}@n")
                for value in mine[mine["step"].isna()][metric]:  # a results set without checkpoint steps
                    ax.axhline(value, color=color, linestyle=":" if metric == "avg" else "-.", linewidth=1,
                               label=f"{label} {metric}@n (no step)")
        steps = sorted(int(v) for v in rows["step"].dropna().unique())
        if 0 < len(steps) <= MAX_STEP_TICKS:
            ax.set_xticks(steps)  # the checkpoints themselves
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"{source} ({_n_text(rows)})", fontsize=9.5)
        ax.set_xlabel("checkpoint step", fontsize=8.5)
        ax.set_ylabel("%", fontsize=8.5)
        ax.tick_params(labelsize=7.5)
        ax.grid(True, alpha=0.3)
    for ax in list(axes.flat)[len(sources):]:
        ax.set_visible(False)
    _figure_legend(fig, *list(axes.flat)[:len(sources)])
    return fig
