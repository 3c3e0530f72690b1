"""Render the training-dynamics panels with matplotlib (Agg backend, no display).

:func:`write_dynamics` writes one PNG per panel that has data (``<out>/<panel key>.png``) and one grid of all
of them (``<out>/overview.png``), and returns the paths written. Each run keeps one colour across panels.
"""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from tqdm import tqdm  # noqa: E402

from archer.plot.errors import PlotInputError  # noqa: E402
from archer.plot.logs import series  # noqa: E402
from archer.plot.panels import Line, Panel, PanelData, collect  # noqa: E402
from archer.plot.runs import Run  # noqa: E402

logger = logging.getLogger(__name__)

X_STEP = "step"
X_TIME = "time"
TIME_METRIC = "timing_s/step"
OVERVIEW = "overview"
OVERVIEW_DPI_SCALE = 0.7
COLORS = plt.get_cmap("tab10").colors


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


def draw_panel(
    ax, data: PanelData, x_by_run: dict[str, pd.Series], x: str, smooth: int, title_prefix: str = "", compact: bool = False
) -> None:
    panel: Panel = data.panel
    for line in data.lines:
        xs, ys = _points(line, x_by_run[line.run.label])
        color, linestyle, marker = _style(data, line)
        sparse = not panel.smooth
        if smooth > 1 and panel.smooth:
            ax.plot(xs, ys, color=color, linestyle=linestyle, linewidth=0.8, alpha=0.25)
            ys = pd.Series(ys).rolling(smooth, min_periods=1).mean().to_numpy()
        ax.plot(
            xs, ys, color=color, linestyle=linestyle, linewidth=1.6, label=line.legend,
            marker=marker or ("o" if sparse or len(xs) == 1 else None), markersize=4 if marker else 3.5,
        )
    smoothed = smooth > 1 and panel.smooth and not compact  # the overview says it once, in its title
    title = panel.title + (f" (smoothed, window {smooth})" if smoothed else "")
    ax.set_title(f"{title_prefix}{title}", fontsize=9 if compact else 10)
    ax.set_xlabel(x_label(x), fontsize=9)
    ax.set_ylabel(panel.ylabel, fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="best", **LEGEND_STYLE)
    if panel.note:
        ax.annotate(panel.note, xy=(0, 0), xycoords="axes fraction", xytext=(0, -30), textcoords="offset points",
                    fontsize=6.5, color="0.35", va="top", wrap=True)


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
    """Write ``<out_dir>/<panel>.png`` for each panel with data, and ``overview.png`` (a grid of them)."""
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
    written: list[Path] = []
    for data in tqdm(filled, desc="panels", unit="png", disable=None):
        fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
        draw_panel(ax, data, x_by_run, x, smooth, title_prefix)
        path = out_dir / f"{data.panel.key}.png"
        fig.savefig(path, dpi=dpi)
        plt.close(fig)
        written.append(path)
    if overview:
        written.append(_write_overview(filled, out_dir, x_by_run, x, smooth, title_prefix, dpi))
    return written


def _write_overview(filled, out_dir: Path, x_by_run, x: str, smooth: int, title_prefix: str, dpi: int) -> Path:
    ncols = min(3, len(filled))
    nrows = -(-len(filled) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.4 * nrows), layout="constrained", squeeze=False)
    for ax, data in zip(axes.flat, filled):
        draw_panel(ax, data, x_by_run, x, smooth, compact=True)
    for ax in list(axes.flat)[len(filled):]:
        ax.set_visible(False)
    heading = [title_prefix.strip().rstrip("—").strip()] if title_prefix.strip() else []
    if smooth > 1:
        heading.append(f"moving average over {smooth} logged steps (faint: raw)")
    if heading:
        fig.suptitle(" — ".join(heading), fontsize=12)
    path = out_dir / f"{OVERVIEW}.png"
    fig.savefig(path, dpi=max(40, int(dpi * OVERVIEW_DPI_SCALE)))
    plt.close(fig)
    return path
