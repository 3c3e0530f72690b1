"""Training-dynamics figures render from small metric logs; a run without a panel's metric is left out with a note."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from plot_support import ASPO_LOG, GRPO_LOG, assert_real_png, write_tensorboard

from archer.plot.__main__ import main
from archer.plot.errors import PlotInputError
from archer.plot.figures import x_axis
from archer.plot.panels import PANEL_KEYS, collect, panels_by_key
from archer.plot.runs import load_run


def _panel(key):
    return panels_by_key([key])[0]


def test_dynamics_command_writes_one_valid_png_per_panel_and_an_overview(tmp_path, capsys):
    out = tmp_path / "figs"
    rc = main(["dynamics", "--run", f"{ASPO_LOG}:ASPO", "--run", f"{GRPO_LOG}:GRPO", "--out", str(out), "--smooth", "3"])
    assert rc == 0
    listed = [Path(line) for line in capsys.readouterr().out.splitlines()]
    assert listed == [out / f"{key}.png" for key in PANEL_KEYS] + [out / "overview.png"]
    for path in listed:
        assert_real_png(path)
    assert_real_png(out / "overview.png", min_bytes=100_000, min_side=800)


def test_a_run_without_a_panels_metric_is_left_out_of_that_panel_with_a_note(caplog):
    aspo, grpo = load_run(f"{ASPO_LOG}:ASPO"), load_run(f"{GRPO_LOG}:GRPO")
    with caplog.at_level(logging.WARNING):
        data = collect(_panel("is_ratio"), [aspo, grpo])
    assert [ln.legend for ln in data.lines] == ["ASPO (aspo loss): A>0", "ASPO (aspo loss): A<0"]
    assert data.notes == [
        "panel 'is_ratio': run 'GRPO' left out (no metric actor/aspo/is_ratio_mean_pos; "
        "no metric actor/aspo/is_ratio_mean_neg)"
    ]
    assert data.notes[0] in caplog.text


def test_validation_panel_has_one_line_per_benchmark_from_val_core_metrics():
    data = collect(_panel("val_accuracy"), [load_run(f"{ASPO_LOG}:ASPO")])
    assert [ln.legend for ln in data.lines] == ["ASPO (aspo loss): aime2024/acc/mean@4", "ASPO (aspo loss): math500/acc/mean@4"]
    assert list(data.lines[0].values.index) == [0, 10, 20, 30, 40]


def test_panels_without_data_are_skipped_with_a_message(tmp_path, capsys, caplog):
    tb = write_tensorboard(tmp_path / "tb", {"actor/entropy": [(1, 0.5), (2, 0.25), (3, 0.125)]})
    with caplog.at_level(logging.WARNING):
        rc = main(["dynamics", "--run", f"{tb}:tb", "--out", str(tmp_path / "out"), "--panels", "entropy,reward"])
    assert rc == 0
    assert capsys.readouterr().out.splitlines() == [str(tmp_path / "out" / "entropy.png"), str(tmp_path / "out" / "overview.png")]
    assert "panel 'reward' skipped: no run logged its metric(s) (critic/score/mean)" in caplog.text
    assert_real_png(tmp_path / "out" / "entropy.png")


def test_tensorboard_and_file_logger_runs_share_a_figure(tmp_path, capsys):
    tb = write_tensorboard(tmp_path / "tb", {"actor/entropy": [(s, 0.7 - 0.01 * s) for s in range(1, 30)]})
    rc = main(["dynamics", "--run", f"{ASPO_LOG}:ASPO", "--run", f"{tb}:TB run", "--out", str(tmp_path), "--panels", "entropy",
               "--no-overview"])
    assert rc == 0 and capsys.readouterr().out.splitlines() == [str(tmp_path / "entropy.png")]
    assert_real_png(tmp_path / "entropy.png")


def test_no_panel_with_data_is_an_error(tmp_path, capsys):
    rc = main(["dynamics", "--run", f"{GRPO_LOG}:GRPO", "--out", str(tmp_path), "--panels", "clip_upper,is_ratio"])
    assert rc == 2
    assert "error: no figure written: none of the runs (GRPO) logged a metric of the selected panels" in capsys.readouterr().err


def test_unknown_panel_is_an_error_listing_the_known_ones(tmp_path, capsys):
    assert main(["dynamics", "--run", str(ASPO_LOG), "--out", str(tmp_path), "--panels", "entropy,clipfrac"]) == 2
    assert "unknown panel(s): clipfrac; known: reward, accuracy" in capsys.readouterr().err


def test_x_time_is_cumulative_step_time_in_hours(tmp_path):
    tb = write_tensorboard(tmp_path / "tb", {"timing_s/step": [(1, 3600.0), (2, 1800.0)], "val-core/a/acc/mean@4": [(0, 0.5)]})
    run = load_run(str(tb))
    assert x_axis(run, "time").to_dict() == {0: 0.0, 1: 1.0, 2: 1.5}
    assert x_axis(run, "timing_s/step").to_dict() == {1: 3600.0, 2: 1800.0}
    with pytest.raises(PlotInputError, match=r"--x perf/throughput: run 'tb' .* has no metric 'perf/throughput'"):
        x_axis(run, "perf/throughput")
