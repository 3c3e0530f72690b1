"""The KL-to-reference panel (with the dual-token KL's two buckets), the gradient norm and the learning rate
are drawn when logged."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from plot_support import data_lines, draw, fixture_runs, panel_data, write_jsonl

from archer.plot.figures import LINE_WIDTH, LINE_WIDTH_ON_SAME
from archer.plot.runs import load_run


def test_kl_loss_panel_has_the_all_token_kl_and_the_two_buckets_dashed_and_dotted():
    data = panel_data("kl_loss", fixture_runs())
    assert [(ln.legend, ln.metric, ln.linestyle) for ln in data.lines] == [
        ("ASPO (aspo loss): all tokens", "actor/kl_loss", "-"),
        ("ASPO (aspo loss): low-entropy tokens", "actor/kl_low_entropy", "--"),
        ("ASPO (aspo loss): high-entropy tokens", "actor/kl_high_entropy", ":"),
        ("GRPO (vanilla loss): all tokens", "actor/kl_loss", "-"),  # verl's uniform KL: no buckets
    ]
    assert data.notes == []


def test_kl_loss_without_dual_token_kl_is_one_line(tmp_path):
    log = write_jsonl(tmp_path / "uniform.jsonl", [{"step": s, "data": {"actor/kl_loss": 0.001 * s}} for s in (1, 2, 3)])
    data = panel_data("kl_loss", [load_run(f"{log}:paper")])
    assert [ln.metric for ln in data.lines] == ["actor/kl_loss"] and data.notes == []


def test_grad_norm_and_lr_are_drawn_for_both_runs():
    runs = fixture_runs()
    for key, metric in (("grad_norm", "actor/grad_norm"), ("lr", "actor/lr")):
        data = panel_data(key, runs)
        assert [(ln.run.label, ln.metric) for ln in data.lines] == [("ASPO", metric), ("GRPO", metric)]


def test_lr_is_never_smoothed_and_two_runs_on_one_schedule_both_show():
    fig, ax = draw("lr", fixture_runs(), smooth=3)
    aspo, grpo = data_lines(ax)
    assert np.array_equal(aspo.get_ydata(), grpo.get_ydata())  # the fixture runs share one schedule
    assert aspo.get_ydata()[:6].tolist() == [2e-7, 4e-7, 6e-7, 8e-7, 1e-6, 1e-6]  # as logged, warm-up kept
    assert len(ax.get_lines()) == 2  # no faint raw line behind: nothing smoothed
    assert (aspo.get_linewidth(), grpo.get_linewidth()) == (LINE_WIDTH, LINE_WIDTH_ON_SAME)  # on top, thinner
    plt.close(fig)
