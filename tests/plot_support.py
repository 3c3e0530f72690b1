"""Helpers for the archer.plot tests: fixture paths, PNG checks, tensorboard and jsonl writers."""

from __future__ import annotations

import json
import struct
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "plot"
ASPO_LOG = FIXTURES / "aspo.jsonl"
GRPO_LOG = FIXTURES / "grpo.jsonl"
EVAL_ASPO = FIXTURES / "eval_results" / "aspo"
EVAL_GRPO = FIXTURES / "eval_results" / "grpo"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the IHDR chunk; AssertionError if the file is not a PNG."""
    head = Path(path).read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert head[12:16] == b"IHDR", f"{path}: no IHDR chunk first"
    return struct.unpack(">II", head[16:24])


def assert_real_png(path: Path, min_bytes: int = 10_000, min_side: int = 200) -> None:
    """A valid PNG of non-trivial size whose pixels are not all one colour."""
    import matplotlib.image as mpimg

    path = Path(path)
    assert path.is_file(), f"{path} was not written"
    assert path.stat().st_size >= min_bytes, f"{path}: only {path.stat().st_size} bytes"
    width, height = png_size(path)
    assert width >= min_side and height >= min_side, f"{path}: {width}x{height}"
    pixels = mpimg.imread(path)
    assert pixels.shape[:2] == (height, width)
    assert pixels.std() > 0.01, f"{path} is blank"


def write_jsonl(path: Path, records: list[dict]) -> Path:
    """A verl file-logger log: one {"step": N, "data": {...}} per line."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def write_tensorboard(log_dir: Path, scalars: dict[str, list[tuple[int, float]]]) -> Path:
    """Event files written the way verl's tensorboard logger does (torch's SummaryWriter.add_scalar)."""
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(log_dir))
    for tag, points in scalars.items():
        for step, value in points:
            writer.add_scalar(tag, value, step)
    writer.close()
    return Path(log_dir)


def rows(table) -> list[tuple[int, str, float]]:
    return [(int(s), m, float(v)) for s, m, v in table[["step", "metric", "value"]].itertuples(index=False)]


def fixture_runs(**loss_modes: str):
    """The ASPO and GRPO fixture runs, labelled ``ASPO`` and ``GRPO`` (loss modes from their metrics unless given)."""
    from archer.plot.runs import load_run

    return [load_run(f"{ASPO_LOG}:ASPO", loss_modes), load_run(f"{GRPO_LOG}:GRPO", loss_modes)]


def panel_data(key: str, runs):
    from archer.plot.panels import collect, panels_by_key

    return collect(panels_by_key([key])[0], runs)


def draw(key: str, runs, smooth: int = 1, x: str = "step"):
    """(figure, axes) of one panel, laid out (drawn once on the Agg canvas) so extents and ticks are final."""
    from archer.plot.figures import panel_figure, x_axis

    fig = panel_figure(panel_data(key, runs), {r.label: x_axis(r, x) for r in runs}, x, smooth)
    fig.canvas.draw()
    return fig, fig.axes[0]


def draw_overview(keys: list[str], runs, smooth: int = 1):
    """The overview figure of these panels, laid out; its axes in panel order."""
    from archer.plot.figures import overview_figure, x_axis

    fig = overview_figure([panel_data(k, runs) for k in keys], {r.label: x_axis(r, "step") for r in runs}, "step", smooth)
    fig.canvas.draw()
    return fig, [ax for ax in fig.axes if ax.get_visible()]


def extent(artist):
    """An artist's bounding box in display pixels on its (drawn) figure."""
    return artist.get_window_extent(artist.figure.canvas.get_renderer())


def visible_xticks(ax) -> list[float]:
    lo, hi = sorted(ax.get_xlim())
    return [t for t in ax.get_xticks() if lo <= t <= hi]


def data_lines(ax):
    """The labelled (legend) lines of an axes, not the faint raw lines behind a smoothed one."""
    return [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
