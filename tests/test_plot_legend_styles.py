"""Legends show the dash pattern (long handles, a marker at each end) and colour means the run on every
figure: the val_accuracy panel tells benchmarks apart by marker, `archer.plot eval` by subplot."""

from __future__ import annotations

import matplotlib.pyplot as plt
from plot_support import ASPO_LOG, EVAL_ASPO, EVAL_GRPO, GRPO_LOG

from archer.plot.eval_figure import _lines, read_results
from archer.plot.figures import COLORS, draw_panel, x_axis
from archer.plot.panels import collect, panels_by_key
from archer.plot.runs import load_run

import pandas as pd


def _draw(key, runs):
    data = collect(panels_by_key([key])[0], runs)
    fig, ax = plt.subplots()
    draw_panel(ax, data, {r.label: x_axis(r, "step") for r in runs}, "step", 1)
    return fig, ax


def test_val_accuracy_colour_is_the_run_and_the_marker_is_the_benchmark():
    runs = [load_run(f"{ASPO_LOG}:ASPO"), load_run(f"{GRPO_LOG}:GRPO")]
    fig, ax = _draw("val_accuracy", runs)
    lines = [ln for ln in ax.get_lines() if ln.get_label().startswith(("ASPO", "GRPO"))]
    assert lines
    for ln in lines:
        run = 0 if ln.get_label().startswith("ASPO") else 1
        assert ln.get_color() == COLORS[run]  # the run's colour, as on every other panel
    markers = {}
    for ln in lines:
        markers.setdefault(ln.get_label().split(": ", 1)[1], set()).add(ln.get_marker())
    assert all(len(m) == 1 for m in markers.values())  # one marker per benchmark, whatever the run
    assert len({next(iter(m)) for m in markers.values()}) == len(markers)  # distinct benchmarks, distinct markers
    _, reward_ax = _draw("reward", runs)
    assert [ln.get_color() for ln in reward_ax.get_lines() if not ln.get_label().startswith("_")] == [COLORS[0], COLORS[1]]
    plt.close("all")


def test_legend_handles_of_dashed_lines_show_the_dash_between_two_markers():
    runs = [load_run(f"{ASPO_LOG}:ASPO")]
    fig, ax = _draw("entropy_by_sign", runs)
    legend = ax.get_legend()
    assert legend.numpoints == 2 and legend.handlelength >= 3
    dashed = [h for h in legend.legend_handles if h.get_linestyle() == "--"]
    assert dashed, "entropy_by_sign has a dashed A<0 line"
    plt.close("all")


def test_eval_figure_legend_shows_the_dash_of_pass_lines():
    data = pd.concat([read_results(f"{EVAL_ASPO}:ASPO"), read_results(f"{EVAL_GRPO}:GRPO")])
    fig = _lines(data, ["ASPO", "GRPO"])
    ax = fig.axes[0]
    legend = fig.legends[0]  # one legend for the figure, below the subplots
    assert legend.numpoints == 2 and legend.handlelength >= 3
    by_label = {ln.get_label(): ln for ln in ax.get_lines()}
    assert by_label["ASPO avg@n"].get_color() == by_label["ASPO pass@n"].get_color() == COLORS[0]
    assert by_label["ASPO pass@n"].get_linestyle() == "--"
    plt.close("all")
