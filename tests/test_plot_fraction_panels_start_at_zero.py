"""Fraction panels are on an absolute scale: y from 0, never negative, and noise around a steady share or a
share that stays near 0 is not zoomed to the panel's full height."""

from __future__ import annotations

import logging

import matplotlib.pyplot as plt
import pytest
from plot_support import draw, fixture_runs, write_jsonl

from archer.plot.figures import FRACTION_MIN_TOP, fraction_top
from archer.plot.panels import PANELS
from archer.plot.runs import load_run

FRACTION_KEYS = [p.key for p in PANELS if p.fraction]


def test_every_share_panel_is_marked_fraction():
    for panel in PANELS:
        if panel.ylabel.startswith("fraction") or panel.key.startswith(("clip_", "dual_clip_")):
            assert panel.fraction, panel.key
    assert {"clip_upper", "clip_lower", "clip_total", "dual_clip_pos", "dual_clip_neg", "high_entropy_frac"} <= set(FRACTION_KEYS)


@pytest.mark.parametrize("key", FRACTION_KEYS)
def test_fraction_panel_of_the_fixtures_starts_at_zero_and_holds_every_value(key):
    runs = fixture_runs()
    fig, ax = draw(key, runs, smooth=3)
    bottom, top = ax.get_ylim()
    assert bottom == 0.0
    peak = max(ln.get_ydata().max() for ln in ax.get_lines())  # faint raw lines included
    assert top == pytest.approx(fraction_top(peak)) and top >= peak
    plt.close(fig)


def test_fraction_top_rule_by_hand():
    assert fraction_top(0.002) == pytest.approx(0.0023)  # 1.15 x the largest value
    assert fraction_top(0.5) == pytest.approx(0.575)
    assert fraction_top(0.0) == FRACTION_MIN_TOP == 0.001  # all zero: 0 .. 0.1 %
    assert fraction_top(2e-7) == FRACTION_MIN_TOP  # a few tokens: near the bottom, not zoomed to full height
    assert fraction_top(0.95) == pytest.approx(1.05)  # a share up to 1 never gets a top above 1.05


def test_steady_share_with_noise_is_a_flat_line_not_a_full_height_zigzag():
    runs = fixture_runs()
    fig, ax = draw("high_entropy_frac", runs)  # 0.2 +- 0.004 in the fixture
    (line,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("ASPO")]
    bottom, top = ax.get_ylim()
    spread = (line.get_ydata().max() - line.get_ydata().min()) / (top - bottom)
    assert bottom == 0.0 and spread < 0.05  # before: the 0.196..0.204 band filled the whole panel
    plt.close(fig)


def _share_run(tmp_path, values, name="run"):
    log = write_jsonl(tmp_path / f"{name}.jsonl",
                      [{"step": s, "data": {"actor/aspo/dual_clipfrac_pos": v}} for s, v in enumerate(values, 1)])
    return load_run(f"{log}:{name}")


def test_a_share_that_is_always_zero_has_no_negative_axis(tmp_path):
    fig, ax = draw("dual_clip_pos", [_share_run(tmp_path, [0.0] * 8)])
    assert ax.get_ylim() == (0.0, FRACTION_MIN_TOP)  # matplotlib alone would draw -0.055 .. 0.055
    plt.close(fig)


def test_a_tiny_share_is_not_zoomed_to_the_panel(tmp_path):
    fig, ax = draw("dual_clip_pos", [_share_run(tmp_path, [0.0, 1e-7, 3e-7, 0.0, 2e-7])])
    assert ax.get_ylim() == (0.0, FRACTION_MIN_TOP)
    plt.close(fig)


def test_a_negative_share_is_named_on_stderr(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        fig, ax = draw("dual_clip_pos", [_share_run(tmp_path, [0.001, -0.0005, 0.002])])
    assert ax.get_ylim()[0] == 0.0
    assert "panel 'dual_clip_pos': a share below 0 was logged (min -0.0005)" in caplog.text
    plt.close(fig)


def test_non_fraction_panels_keep_matplotlibs_own_scale():
    fig, ax = draw("entropy", fixture_runs())  # GRPO's entropy falls from 0.6 to 0.13: auto range, not from 0
    assert ax.get_ylim()[0] > 0.0
    plt.close(fig)
