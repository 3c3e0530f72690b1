"""--run PATH[:LABEL] parsing, label checks, and where each run's loss mode comes from."""

from __future__ import annotations

import shutil

import pytest
from plot_support import ASPO_LOG, GRPO_LOG, write_jsonl, write_tensorboard

from archer.plot.errors import PlotInputError
from archer.plot.runs import check_labels, load_run, parse_labelled_path, parse_loss_modes


def test_label_after_the_last_colon_names_the_run():
    assert parse_labelled_path(f"{ASPO_LOG}:ASPO eps=0.4") == (ASPO_LOG, "ASPO eps=0.4")


def test_without_label_the_file_stem_or_directory_name_is_the_label(tmp_path):
    assert parse_labelled_path(str(ASPO_LOG)) == (ASPO_LOG, "aspo")
    tb = write_tensorboard(tmp_path / "grpo_run", {"actor/entropy": [(1, 0.5)]})
    assert parse_labelled_path(str(tb))[1] == "grpo_run"
    assert parse_labelled_path(str(next(tb.iterdir())))[1] == "grpo_run"  # an event file: its directory


def test_an_existing_path_containing_a_colon_is_taken_whole(tmp_path):
    path = write_jsonl(tmp_path / "run:7.jsonl", [{"step": 1, "data": {"a": 1}}])
    assert parse_labelled_path(str(path)) == (path, "run:7")
    assert parse_labelled_path(f"{path}:seven") == (path, "seven")


def test_empty_label_and_missing_path_are_errors_naming_the_value(tmp_path):
    with pytest.raises(PlotInputError, match=r"empty label after ':'"):
        parse_labelled_path(f"{ASPO_LOG}:")
    with pytest.raises(PlotInputError, match=r"path not found: .*missing\.jsonl"):
        parse_labelled_path(f"{tmp_path}/missing.jsonl:GRPO")
    with pytest.raises(PlotInputError, match=r"--results .*path not found: .*nope"):
        parse_labelled_path(str(tmp_path / "nope"), option="--results")


def test_loss_mode_option_parses_label_equals_mode():
    assert parse_loss_modes(["GRPO=vanilla", "a=b=aspo"]) == {"GRPO": "vanilla", "a=b": "aspo"}
    with pytest.raises(PlotInputError, match=r"--loss-mode 'GRPO': expected LABEL=MODE"):
        parse_loss_modes(["GRPO"])


def test_loss_mode_is_inferred_from_aspo_only_metrics():
    assert (load_run(f"{ASPO_LOG}:A").loss_mode, load_run(f"{ASPO_LOG}:A").loss_mode_source) == ("aspo", "metrics")
    assert (load_run(f"{GRPO_LOG}:G").loss_mode, load_run(f"{GRPO_LOG}:G").loss_mode_source) == ("vanilla", "metrics")


def test_saved_hydra_config_overrides_the_metrics_and_the_option_overrides_both(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / ".hydra").mkdir(parents=True)
    shutil.copy(ASPO_LOG, run_dir / "exp.jsonl")
    (run_dir / ".hydra" / "config.yaml").write_text(
        "actor_rollout_ref:\n  actor:\n    policy_loss:\n      loss_mode: gspo\n"
    )
    from_config = load_run(f"{run_dir}:R")
    assert (from_config.loss_mode, from_config.loss_mode_source) == ("gspo", "config")
    from_option = load_run(f"{run_dir}:R", {"R": "aspo"})
    assert (from_option.loss_mode, from_option.loss_mode_source) == ("aspo", "option")


def test_duplicate_labels_and_unknown_loss_mode_labels_are_errors():
    runs = [load_run(f"{ASPO_LOG}:X"), load_run(f"{GRPO_LOG}:X")]
    with pytest.raises(PlotInputError, match=r"two runs share the label 'X'"):
        check_labels(runs)
    runs = [load_run(f"{ASPO_LOG}:ASPO"), load_run(f"{GRPO_LOG}:GRPO")]
    with pytest.raises(PlotInputError, match=r"--loss-mode names no run: GPRO"):
        check_labels(runs, {"GPRO": "vanilla"})
