"""Every metric name means one thing under every loss, so a panel draws the same quantity for ASPO and GRPO
runs; the loss mode names the run and never decides what is drawn; logs with archer's old (ambiguous)
names are refused."""

from __future__ import annotations

import pytest
from plot_support import ASPO_LOG, GRPO_LOG, fixture_runs, panel_data, write_jsonl

from archer.plot.__main__ import main
from archer.plot.errors import PlotInputError
from archer.plot.panels import PANELS, run_lines
from archer.plot.runs import ASPO_METRIC_PREFIX, load_run


def test_dual_clip_neg_draws_verls_pg_clipfrac_lower_for_both_runs_alike():
    data = panel_data("dual_clip_neg", fixture_runs())
    assert [(ln.legend, ln.metric, ln.linestyle) for ln in data.lines] == [
        ("ASPO (aspo loss)", "actor/pg_clipfrac_lower", "-"),
        ("GRPO (vanilla loss)", "actor/pg_clipfrac_lower", "-"),
    ]
    assert data.notes == []
    # step 1 of the fixtures; ASPO's = its actor/aspo/dual_clipfrac_neg (0.000921) x 0.55 A<0 share
    assert data.lines[0].values[1] == 0.000507 and data.lines[1].values[1] == 0.000168


def test_lower_clip_panel_draws_aspos_own_metric_and_names_why_grpo_is_absent():
    data = panel_data("clip_lower", fixture_runs())
    assert [(ln.run.label, ln.metric) for ln in data.lines] == [("ASPO", "actor/aspo/clipfrac_lower")]
    assert data.notes == ["panel 'clip_lower': run 'GRPO' left out (no metric actor/aspo/clipfrac_lower)"]


def test_no_run_is_left_out_of_a_panel_for_its_loss_mode():
    for modes in ({}, {"GRPO": "aspo", "ASPO": "vanilla"}, {"GRPO": "gspo", "ASPO": "gspo"}):
        runs = fixture_runs(**modes)
        for panel in PANELS:
            for index, run in enumerate(runs):
                lines, reasons = run_lines(panel, run, index)
                assert all(r.startswith("no metric") for r in reasons), (panel.key, run.label, reasons)
                logged = [s.metric for s in panel.series if not s.pattern and run.has(s.metric)]
                assert [ln.metric for ln in lines if not ln.metric.startswith("val-")] == logged


def test_the_loss_mode_changes_the_legend_only():
    vanilla = panel_data("dual_clip_neg", fixture_runs())
    gspo = panel_data("dual_clip_neg", fixture_runs(GRPO="gspo"))
    assert [ln.legend for ln in gspo.lines] == ["ASPO (aspo loss)", "GRPO (gspo loss)"]
    for a, b in zip(vanilla.lines, gspo.lines):
        assert a.metric == b.metric and a.values.equals(b.values)


def test_panels_use_the_names_of_archers_metric_tables():
    from archer.aspo import METRIC_NAMES
    from archer.plugin.dual_token_kl import METRICS as KL_METRICS

    drawn = {s.metric for p in PANELS for s in p.series if not s.pattern}
    archer_own = {m for m in drawn if m.startswith(ASPO_METRIC_PREFIX)}
    assert archer_own and archer_own <= set(METRIC_NAMES)
    assert {"actor/kl_low_entropy", "actor/kl_high_entropy"} == {m.name for m in KL_METRICS} <= drawn
    assert {"actor/pg_clipfrac", "actor/pg_clipfrac_lower", "actor/ppo_kl"} <= drawn & set(METRIC_NAMES)


@pytest.mark.parametrize("old", ["actor/pg_clipfrac_upper", "actor/negative_pg_clipfrac_dual", "actor/is_ratio_mean_pos"])
def test_a_log_with_archers_old_metric_names_is_refused_naming_file_and_metric(tmp_path, old):
    log = write_jsonl(tmp_path / "old_aspo.jsonl", [{"step": 1, "data": {old: 0.001, "actor/pg_clipfrac_lower": 0.002}}])
    with pytest.raises(PlotInputError, match=rf"run 'old' \({log}\) logged archer's old ASPO metric names \({old}\)"):
        load_run(f"{log}:old")


def test_the_cli_refuses_an_old_log_with_exit_2(tmp_path, capsys):
    log = write_jsonl(tmp_path / "old.jsonl", [{"step": 1, "data": {"actor/pg_clipfrac_upper": 0.001}}])
    assert main(["dynamics", "--run", f"{ASPO_LOG}:ASPO", "--run", f"{log}:OLD", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "archer.plot: error: run 'OLD'" in err and "actor/pg_clipfrac_lower is ASPO's lower-eps clip fraction" in err
    assert not (tmp_path / "o").exists()


def test_loss_mode_from_metrics_is_aspo_for_an_actor_aspo_metric(tmp_path):
    log = write_jsonl(tmp_path / "a.jsonl", [{"step": 1, "data": {"actor/aspo/high_entropy_frac": 0.2}}])
    assert load_run(f"{log}:a").loss_mode == "aspo"
    assert load_run(f"{GRPO_LOG}:g").loss_mode == "vanilla"
