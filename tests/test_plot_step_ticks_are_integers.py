"""The step axis has integer ticks (steps are whole numbers), and a line with few points shows a marker at
each point; checkpoints on the eval figure get one tick each."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from plot_support import EVAL_ASPO, EVAL_GRPO, data_lines, draw, fixture_runs, visible_xticks, write_jsonl

from archer.plot.eval_figure import _lines, read_results
from archer.plot.figures import FEW_POINTS
from archer.plot.runs import load_run


def _short_run(tmp_path, steps):
    log = write_jsonl(tmp_path / "short.jsonl",
                      [{"step": s, "data": {"actor/entropy": 0.6 - 0.01 * s, "actor/aspo/clipfrac_upper": 0.001 * s}}
                       for s in steps])
    return load_run(f"{log}:short")


def test_three_steps_have_integer_ticks_only(tmp_path):
    run = _short_run(tmp_path, [1, 2, 3])
    for key in ("entropy", "clip_upper"):
        fig, ax = draw(key, [run])
        ticks = visible_xticks(ax)
        assert ticks and all(float(t).is_integer() for t in ticks), (key, ticks)  # before: 1.0, 1.25, 1.5, ...
        plt.close(fig)


def test_a_single_step_has_whole_number_ticks_around_it(tmp_path):
    fig, ax = draw("entropy", [_short_run(tmp_path, [7])])
    assert visible_xticks(ax) == [6.0, 7.0, 8.0]  # before: fractional ticks around 7
    plt.close(fig)


def test_few_points_get_a_marker_at_each_point(tmp_path):
    fig, ax = draw("entropy", [_short_run(tmp_path, range(1, FEW_POINTS + 1))])
    (line,) = data_lines(ax)
    assert line.get_marker() == "o" and len(line.get_xdata()) == FEW_POINTS
    plt.close(fig)


def test_many_points_are_a_plain_line():
    fig, ax = draw("reward", fixture_runs())  # 40 steps
    assert [ln.get_marker() for ln in data_lines(ax)] == ["None", "None"]
    assert all(float(t).is_integer() for t in visible_xticks(ax))
    plt.close(fig)


def test_eval_lines_have_a_tick_at_each_checkpoint():
    data = pd.concat([read_results(f"{EVAL_ASPO}:ASPO"), read_results(f"{EVAL_GRPO}:GRPO")])
    fig = _lines(data, ["ASPO", "GRPO"])
    fig.canvas.draw()
    for ax in fig.axes:
        if ax.get_visible():
            assert visible_xticks(ax) == [100.0, 200.0, 300.0]
    plt.close(fig)
