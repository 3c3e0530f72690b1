"""Eval figure: avg@n / pass@n per benchmark across checkpoints, from global_step_*/summary.json."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
from plot_support import EVAL_ASPO, EVAL_GRPO, assert_real_png

from archer.plot.__main__ import main
from archer.plot.errors import PlotInputError
from archer.plot.eval_figure import benchmark_order, eval_layout, read_results, read_summary


def test_three_checkpoints_are_read_with_their_steps_and_values():
    table = read_results(f"{EVAL_ASPO}:ASPO")
    assert sorted(table["step"].unique()) == [100, 200, 300]
    assert set(table["label"]) == {"ASPO"}
    aime = table[table["data_source"] == "aime2024"].set_index("step")
    assert aime["avg"].to_dict() == {100: 39.0, 200: 41.5, 300: 44.0}
    assert aime["pass"].to_dict() == {100: 57.0, 200: 59.5, 300: 62.0}
    assert set(aime["n"]) == {16} and set(aime["problems"]) == {30}


def test_several_checkpoints_draw_lines_and_a_single_checkpoint_draws_bars(tmp_path, capsys):
    out = tmp_path / "eval.png"
    assert main(["eval", "--results", f"{EVAL_ASPO}:ASPO", "--results", f"{EVAL_GRPO}:GRPO", "--out", str(out)]) == 0
    assert capsys.readouterr().out.splitlines() == [str(out)]
    assert_real_png(out)
    assert eval_layout([read_results(str(EVAL_ASPO))]) == "lines"

    single = [read_results(f"{EVAL_ASPO / 'global_step_300'}:ASPO"), read_results(f"{EVAL_GRPO / 'global_step_300'}:GRPO")]
    assert eval_layout(single) == "bars"
    assert single[0]["step"].unique().tolist() == [300]  # the step from the directory name
    bars = tmp_path / "bars.png"
    assert main(["eval", "--results", f"{EVAL_ASPO / 'global_step_300'}:ASPO", "--results",
                 f"{EVAL_GRPO / 'global_step_300'}:GRPO", "--out", str(bars)]) == 0
    assert_real_png(bars)


def test_benchmarks_follow_the_eval_set_order_then_others_sorted():
    assert benchmark_order(["zeta", "math500", "aime2025", "alpha", "aime2024"]) == ["aime2024", "aime2025", "math500", "alpha", "zeta"]


def test_summary_missing_a_key_is_an_error_naming_file_source_and_key(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"aime2024": {"n": 4, "problems": 30, "avg": 40.0}}))
    with pytest.raises(PlotInputError, match=r"summary\.json: 'aime2024' has no key 'pass'"):
        read_summary(path)
    path.write_text(json.dumps({"aime2024": {"n": 4, "problems": 30, "avg": 0.4, "pass": 140}}))
    with pytest.raises(PlotInputError, match=r"'aime2024'\.pass = 140 is not a percentage"):
        read_summary(path)
    path.write_text("{not json")
    with pytest.raises(PlotInputError, match=r"summary\.json: not valid JSON"):
        read_summary(path)


def test_checkpoint_without_summary_is_left_out_with_a_note(tmp_path, caplog):
    root = tmp_path / "evals"
    shutil.copytree(EVAL_ASPO, root)
    (root / "global_step_400").mkdir()
    with caplog.at_level(logging.WARNING):
        table = read_results(str(root))
    assert sorted(table["step"].unique()) == [100, 200, 300]
    assert "global_step_400: no summary.json (checkpoint not scored yet?); left out" in caplog.text


def test_missing_or_empty_results_directory_is_an_error(tmp_path, capsys):
    assert main(["eval", "--results", str(tmp_path / "absent"), "--out", str(tmp_path / "e.png")]) == 2
    assert "--results" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    with pytest.raises(PlotInputError, match=r"no eval results in .*empty: expected .*global_step_\*/summary\.json"):
        read_results(str(tmp_path / "empty"))


def test_output_must_be_a_png_file(tmp_path, capsys):
    assert main(["eval", "--results", str(EVAL_ASPO), "--out", str(tmp_path / "eval.pdf")]) == 2
    assert "the eval figure is a PNG file" in capsys.readouterr().err
    assert not Path(tmp_path / "eval.pdf").exists()
