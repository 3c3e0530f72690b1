"""Legends name each run and its loss; legends and footnotes sit below the x label, where they cover no
point, no tick label and no bar value, and stay inside the figure (single panels and the overview alike)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from plot_support import (
    ASPO_LOG, EVAL_ASPO, EVAL_GRPO, GRPO_LOG, draw, draw_overview, extent, fixture_runs, png_size,
)

from archer.plot.__main__ import main
from archer.plot.eval_figure import _bars, read_results
from archer.plot.figures import OVERVIEW_COLUMN_WIDTH

NOTED = ("dual_clip_neg", "kl_loss")  # panels with a footnote


def _legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_legend_names_each_run_and_its_loss():
    fig, ax = draw("dual_clip_neg", fixture_runs())
    assert _legend_texts(ax) == ["ASPO (aspo loss)", "GRPO (vanilla loss)"]
    plt.close(fig)
    fig, ax = draw("entropy_by_sign", fixture_runs(ASPO="aspo"))
    assert _legend_texts(ax) == ["ASPO (aspo loss): A>0", "ASPO (aspo loss): A<0"]
    plt.close(fig)


def test_legend_follows_the_loss_mode_option(tmp_path):
    fig, ax = draw("dual_clip_neg", fixture_runs(GRPO="gspo"))
    assert _legend_texts(ax) == ["ASPO (aspo loss)", "GRPO (gspo loss)"]
    plt.close(fig)


def _check_below(fig, ax):
    figure_box = fig.bbox
    axes_box = extent(ax)
    xaxis_box = ax.xaxis.get_tightbbox(fig.canvas.get_renderer())  # tick labels and x label
    legend_box = extent(ax.get_legend())
    assert legend_box.y1 <= xaxis_box.y0 + 1, "legend overlaps the x axis labels"
    assert legend_box.y1 <= axes_box.y0, "legend inside the data area"
    notes = [t for t in ax.texts if t.get_text()]
    for note in notes:
        note_box = extent(note)
        assert note_box.y1 <= legend_box.y0 + 1, "footnote overlaps the legend"
        assert note_box.y1 <= xaxis_box.y0, "footnote overlaps the x label"
        assert note.get_fontsize() >= 7.5
    for box in (legend_box, *(extent(n) for n in notes)):
        assert figure_box.x0 <= box.x0 and box.x1 <= figure_box.x1 and figure_box.y0 <= box.y0, "clipped at the edge"
    return notes


def test_legend_and_footnote_of_a_panel_are_below_the_x_label_and_inside_the_figure():
    for key in NOTED:
        fig, ax = draw(key, fixture_runs(), smooth=3)
        assert _check_below(fig, ax), f"{key} has a footnote"
        plt.close(fig)


def test_overview_legends_and_footnotes_are_legible_and_overlap_nothing():
    keys = ["clip_lower", *NOTED, "val_accuracy", "lr"]
    fig, axes = draw_overview(keys, fixture_runs(), smooth=3)
    noted = 0
    for key, ax in zip(keys, axes):
        noted += len(_check_below(fig, ax))
        assert ax.get_legend().get_texts()[0].get_fontsize() >= 7.5, key
    assert noted == len(NOTED)
    # neighbouring rows: a panel's footnote ends above the title of the panel below it
    for upper, lower in zip(axes, axes[3:]):
        bottom = min([extent(upper.get_legend()).y0, *(extent(t).y0 for t in upper.texts)])
        assert bottom >= extent(lower.title).y1, "a footnote runs into the next row"
    plt.close(fig)


def test_overview_is_drawn_at_the_requested_resolution(tmp_path, capsys):
    out = tmp_path / "figs"
    assert main(["dynamics", "--run", f"{ASPO_LOG}:ASPO", "--run", f"{GRPO_LOG}:GRPO", "--out", str(out),
                 "--panels", "dual_clip_neg,entropy", "--dpi", "100"]) == 0
    width, _ = png_size(out / "overview.png")
    assert width == round(2 * OVERVIEW_COLUMN_WIDTH * 100)  # not scaled down (0.7x made 6.5 pt notes unreadable)


def test_eval_bar_legend_covers_no_value_label():
    single = [read_results(f"{EVAL_ASPO / 'global_step_300'}:ASPO"), read_results(f"{EVAL_GRPO / 'global_step_300'}:GRPO")]
    fig = _bars(pd.concat(single), ["ASPO", "GRPO"])
    fig.canvas.draw()
    (legend,) = fig.legends
    legend_box = extent(legend)
    labels = [t for ax in fig.axes for t in ax.texts]
    assert len(labels) == 2 * 2 * 4  # a value on every bar: 2 runs x 4 benchmarks x (avg, pass)
    for ax in fig.axes:
        top = extent(ax).y1
        for text in ax.texts:
            box = extent(text)
            assert not box.overlaps(legend_box), text.get_text()
            assert box.y1 <= top, f"value label {text.get_text()} above the axes"
    plt.close(fig)


def test_a_long_title_is_wrapped_inside_the_figure():
    from plot_support import panel_data
    from archer.plot.figures import panel_figure, x_axis

    runs = fixture_runs()
    prefix = "EXAMPLE DATA (synthetic test fixtures, not a real run) — "
    fig = panel_figure(panel_data("dual_clip_neg", runs), {r.label: x_axis(r, "step") for r in runs}, "step", 3, prefix)
    fig.canvas.draw()
    box = extent(fig.axes[0].title)
    assert "\n" in fig.axes[0].title.get_text()
    assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1 and box.y1 <= fig.bbox.y1
    plt.close(fig)
