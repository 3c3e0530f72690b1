"""Render the training-dynamics panels with matplotlib (Agg backend, no display).

:func:`write_dynamics` redraws ``<out>``: it removes the PNGs an earlier draw left there (``<panel key>.png``
of every known panel and ``overview.png``, no other file), then writes one PNG per panel that has data and
one grid of all of them (``overview.png``), and returns the paths written. Each run keeps one colour across
panels.

How a panel reads:

* the step axis has integer ticks; a line with at most :data:`FEW_POINTS` points has a marker at each;
* a fraction panel (``Panel.fraction``) is on an absolute scale: y from 0 to :func:`fraction_top` (1.15 x
  the largest value drawn, at least :data:`FRACTION_MIN_TOP`, at most 1.05 for shares up to 1), so noise
  around a steady share stays flat instead of filling the panel, and no negative share is shown;
* the legend (each run by its label and loss) and the panel's note sit below the x label, outside the
  data, so they hide no point.
"""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.transforms as mtransforms  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from tqdm import tqdm  # noqa: E402

from archer.plot.errors import PlotInputError  # noqa: E402
from archer.plot.logs import series  # noqa: E402
from archer.plot.panels import PANEL_KEYS, Line, Panel, PanelData, collect  # noqa: E402
from archer.plot.runs import Run  # noqa: E402

logger = logging.getLogger(__name__)

X_STEP = "step"
X_TIME = "time"
TIME_METRIC = "timing_s/step"
OVERVIEW = "overview"
PANEL_SIZE = (6.4, 4.8)  # inches, a panel PNG
OVERVIEW_COLUMN_WIDTH = 4.6  # inches per column of the overview grid
OVERVIEW_ROW_HEIGHT = 4.3  # inches per row of the overview grid: axes, legend and note
COLORS = plt.get_cmap("tab10").colors
FEW_POINTS = 12  # a line with at most this many points gets a marker at each point
LINE_WIDTH = 1.6
LINE_WIDTH_ON_SAME = 0.8  # a line that repeats an earlier one exactly: thinner, so both stay visible
FRACTION_HEADROOM = 1.15  # top of a fraction panel: this times the largest value drawn ...
FRACTION_MIN_TOP = 0.001  # ... but at least 0.1 % (a share that stays below it is drawn near 0, not zoomed)
FRACTION_MAX_TOP = 1.05  # ... and at most this for shares up to 1
# space between the axes' bottom edge and the legend: x tick labels and the x label (points)
LEGEND_DROP_PT = 34
# font sizes (points) of a panel PNG and of a panel of the overview
FONTS = {
    False: {"title": 10, "label": 9, "ticks": 8, "legend": 7.5, "note": 7.5},
    True: {"title": 10, "label": 9, "ticks": 8.5, "legend": 8, "note": 8},
}


def x_axis(run: Run, x: str) -> pd.Series:
    """The x value of each logged step of ``run``: the step itself, training hours (cumulative
    ``timing_s/step``), or the value of the metric named ``x`` at that step."""
    steps = np.sort(run.table["step"].unique())
    if x == X_STEP:
        return pd.Series(steps.astype("float64"), index=steps)
    if x == X_TIME:
        timing = series(run.table, TIME_METRIC).sort_index()
        if timing.empty:
            raise PlotInputError(f"--x time: run {run.label!r} ({run.source}) has no metric {TIME_METRIC}")
        hours = (timing.cumsum() / 3600.0).reindex(steps).ffill().fillna(0.0)
        return hours
    values = series(run.table, x)
    if values.empty:
        raise PlotInputError(f"--x {x}: run {run.label!r} ({run.source}) has no metric {x!r}")
    return values


def x_label(x: str) -> str:
    return {X_STEP: "training step", X_TIME: "training time (hours, cumulative timing_s/step)"}.get(x, x)


def _points(line: Line, xs: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    joined = pd.concat([xs.rename("x"), line.values.rename("y")], axis=1, join="inner").sort_index()
    return joined["x"].to_numpy(), joined["y"].to_numpy()


# benchmark markers of pattern panels (val_accuracy): colour means the run on every figure, as in
# `archer.plot eval` (colour = --results), so the benchmark is told by the marker and the legend text
METRIC_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
# legend handles long enough, with a marker at each end, that a dash pattern stays visible between them
LEGEND_STYLE = {"handlelength": 3.6, "numpoints": 2}


def _style(data: PanelData, line: Line) -> tuple[tuple, str, str | None]:
    """Colour, line style and marker: colour by run on every panel; panels whose lines come from a metric
    pattern (several per run, e.g. one per benchmark) give each metric its own marker."""
    color = COLORS[line.run_index % len(COLORS)]
    if any(s.pattern for s in data.panel.series):
        suffixes = sorted({ln.metric for ln in data.lines})
        return color, line.linestyle, METRIC_MARKERS[suffixes.index(line.metric) % len(METRIC_MARKERS)]
    return color, line.linestyle, None


def fraction_top(peak: float) -> float:
    """Top of a fraction panel's y axis (its bottom is 0) for the largest value drawn on it."""
    top = max(FRACTION_MIN_TOP, FRACTION_HEADROOM * max(peak, 0.0))
    return min(top, FRACTION_MAX_TOP) if peak <= 1.0 else top


def _wrap(text: str, ax, fontsize: float) -> str:
    """``text`` broken into lines about as wide as the axes (an average glyph is ~0.5 em wide)."""
    width_pt = ax.get_position().width * ax.figure.get_figwidth() * 72
    return textwrap.fill(text, width=max(30, int(width_pt / (0.5 * fontsize))), break_on_hyphens=False)


def _legend(ax, fonts: dict):
    """The legend below the x label, outside the data: one column when an entry is long, else two."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    # the axes' width before the constrained layout widens it (subplot parameters: ~0.8 of what it gets)
    width_pt = 1.2 * ax.get_position().width * ax.figure.get_figwidth() * 72
    entry_pt = max(len(label) for label in labels) * 0.45 * fonts["legend"] + (LEGEND_STYLE["handlelength"] + 2) * fonts["legend"]
    ncol = 2 if len(labels) > 1 and 2 * entry_pt <= width_pt else 1
    logger.debug("legend: width %.0f pt, entry %.0f pt, %d column(s)", width_pt, entry_pt, ncol)
    below = mtransforms.offset_copy(ax.transAxes, fig=ax.figure, y=-LEGEND_DROP_PT, units="points")
    return ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=below,
                     ncol=ncol, fontsize=fonts["legend"], frameon=False, borderaxespad=0.0, **LEGEND_STYLE)


def draw_panel(
    ax, data: PanelData, x_by_run: dict[str, pd.Series], x: str, smooth: int, title_prefix: str = "", compact: bool = False
) -> None:
    panel: Panel = data.panel
    fonts = FONTS[compact]
    drawn: list[np.ndarray] = []
    shown: list[tuple[np.ndarray, np.ndarray]] = []
    for line in data.lines:
        xs, ys = _points(line, x_by_run[line.run.label])
        color, linestyle, marker = _style(data, line)
        drawn.append(ys)
        if smooth > 1 and panel.smooth:
            ax.plot(xs, ys, color=color, linestyle=linestyle, linewidth=0.8, alpha=0.25)
            ys = pd.Series(ys).rolling(smooth, min_periods=1).mean().to_numpy()
        # a line identical to one drawn before it (two runs with one lr schedule) goes on top, thinner
        same = any(np.array_equal(xs, x0) and np.array_equal(ys, y0) for x0, y0 in shown)
        shown.append((xs, ys))
        ax.plot(
            xs, ys, color=color, linestyle=linestyle, linewidth=LINE_WIDTH_ON_SAME if same else LINE_WIDTH, label=line.legend,
            marker=marker or ("o" if len(xs) <= FEW_POINTS else None), markersize=4 if marker else 3.5,
        )
    smoothed = smooth > 1 and panel.smooth and not compact  # the overview says it once, in its title
    title = panel.title + (f" (smoothed, window {smooth})" if smoothed else "")
    ax.set_title(_wrap(f"{title_prefix}{title}", ax, fonts["title"]), fontsize=fonts["title"])  # never cut off
    ax.set_xlabel(x_label(x), fontsize=fonts["label"])
    ax.set_ylabel(panel.ylabel, fontsize=fonts["label"])
    ax.tick_params(labelsize=fonts["ticks"])
    if x == X_STEP:
        steps = np.concatenate([line.get_xdata() for line in ax.get_lines()])
        if steps.size and steps.max() - steps.min() < 2:  # one or two steps: room for whole-number ticks
            ax.set_xlim(steps.min() - 1, steps.max() + 1)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    if panel.fraction:
        values = np.concatenate(drawn) if drawn else np.zeros(1)
        if values.size and values.min() < 0:
            logger.warning("panel %r: a share below 0 was logged (min %g); the axis starts at 0", panel.key, values.min())
        ax.set_ylim(0.0, fraction_top(float(values.max()) if values.size else 0.0))
    ax.grid(True, alpha=0.3)
    legend = _legend(ax, fonts)
    if panel.note:
        anchor = legend if legend is not None else ax.xaxis.label
        ax.annotate(_wrap(panel.note, ax, fonts["note"]), xy=(0.5, 0.0), xycoords=anchor, xytext=(0, -4),
                    textcoords="offset points", ha="center", va="top", fontsize=fonts["note"], color="0.3")


def remove_stale(out_dir: Path) -> list[Path]:
    """Remove the PNGs this command writes (``<panel key>.png`` of every known panel, ``overview.png``)
    from ``out_dir``, so a redraw leaves none of an earlier draw behind; no other file is touched."""
    removed = []
    for name in (*PANEL_KEYS, OVERVIEW):
        path = out_dir / f"{name}.png"
        if path.is_symlink() or path.is_file():
            path.unlink()
            removed.append(path)
    if removed:
        logger.info("removed %d PNG(s) of an earlier draw in %s: %s", len(removed), out_dir,
                    ", ".join(p.name for p in removed))
    return removed


def write_dynamics(
    runs: list[Run],
    out_dir: str | Path,
    panels: list[Panel],
    *,
    x: str = X_STEP,
    smooth: int = 1,
    title_prefix: str = "",
    overview: bool = True,
    dpi: int = 100,
) -> list[Path]:
    """Redraw ``out_dir``: remove the PNGs of an earlier draw (:func:`remove_stale`), then write
    ``<out_dir>/<panel>.png`` for each panel with data, and ``overview.png`` (a grid of them)."""
    if smooth < 1:
        raise PlotInputError(f"--smooth must be >= 1, got {smooth}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise PlotInputError(f"--out {out_dir}: exists and is not a directory")
    x_by_run = {run.label: x_axis(run, x) for run in runs}
    filled: list[PanelData] = []
    for panel in panels:
        data = collect(panel, runs)
        if data.lines:
            filled.append(data)
        else:
            wanted = ", ".join(s.metric for s in panel.series)
            logger.warning("panel %r skipped: no run logged its metric(s) (%s)", panel.key, wanted)
    if not filled:
        labels = ", ".join(r.label for r in runs)
        raise PlotInputError(f"no figure written: none of the runs ({labels}) logged a metric of the selected panels")
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale(out_dir)
    written: list[Path] = []
    for data in tqdm(filled, desc="panels", unit="png", disable=None):
        fig = panel_figure(data, x_by_run, x, smooth, title_prefix)
        path = out_dir / f"{data.panel.key}.png"
        fig.savefig(path, dpi=dpi)
        plt.close(fig)
        written.append(path)
    if overview:
        fig = overview_figure(filled, x_by_run, x, smooth, title_prefix)
        path = out_dir / f"{OVERVIEW}.png"
        fig.savefig(path, dpi=dpi)
        plt.close(fig)
        written.append(path)
    return written


def panel_figure(data: PanelData, x_by_run, x: str = X_STEP, smooth: int = 1, title_prefix: str = ""):
    """The figure of one panel (``<panel key>.png``)."""
    fig, ax = plt.subplots(figsize=PANEL_SIZE, layout="constrained")
    draw_panel(ax, data, x_by_run, x, smooth, title_prefix)
    return fig


def overview_figure(filled: list[PanelData], x_by_run, x: str = X_STEP, smooth: int = 1, title_prefix: str = ""):
    """All panels in a grid of up to 3 columns (``overview.png``), drawn at the panels' font sizes."""
    ncols = min(3, len(filled))
    nrows = -(-len(filled) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(OVERVIEW_COLUMN_WIDTH * ncols, OVERVIEW_ROW_HEIGHT * nrows),
                             layout="constrained", squeeze=False)
    for ax, data in zip(axes.flat, filled):
        draw_panel(ax, data, x_by_run, x, smooth, compact=True)
    for ax in list(axes.flat)[len(filled):]:
        ax.set_visible(False)
    heading = [title_prefix.strip().rstrip("—").strip()] if title_prefix.strip() else []
    if smooth > 1:
        heading.append(f"moving average over {smooth} logged steps (faint: raw)")
    if heading:
        fig.suptitle(" — ".join(heading), fontsize=12)
    return fig
