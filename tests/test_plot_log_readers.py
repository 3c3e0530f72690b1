"""Readers of verl's file-logger jsonl and tensorboard event files return one tidy table per run."""

from __future__ import annotations

import logging

import pytest
from plot_support import ASPO_LOG, GRPO_LOG, rows, write_jsonl, write_tensorboard

from archer.plot.errors import PlotInputError
from archer.plot.logs import FILE_LOGGER, TENSORBOARD, detect_format, read_file_logger, read_metrics, read_tensorboard, series

# what both loggers receive in these tests; values exact in float32 so tensorboard returns them unchanged
LOGGED = [
    {"step": 1, "data": {"actor/entropy": 0.5, "response_length/mean": 100}},
    {"step": 2, "data": {"actor/entropy": 0.25, "response_length/mean": 120}},
]
EXPECTED = [
    (1, "actor/entropy", 0.5),
    (2, "actor/entropy", 0.25),
    (1, "response_length/mean", 100.0),
    (2, "response_length/mean", 120.0),
]


def test_file_logger_reader_returns_logged_values_sorted_by_metric_then_step(tmp_path):
    table = read_file_logger(write_jsonl(tmp_path / "run.jsonl", LOGGED))
    assert list(table.columns) == ["step", "metric", "value"]
    assert rows(table) == EXPECTED


def test_tensorboard_reader_returns_the_same_table_as_the_file_logger(tmp_path):
    log_dir = write_tensorboard(
        tmp_path / "tb",
        {"actor/entropy": [(1, 0.5), (2, 0.25)], "response_length/mean": [(1, 100.0), (2, 120.0)]},
    )
    assert rows(read_tensorboard(log_dir)) == EXPECTED


def test_non_numeric_values_are_left_out_with_a_note(tmp_path, caplog):
    path = write_jsonl(tmp_path / "run.jsonl", [{"step": 3, "data": {"actor/entropy": 0.5, "note": "text", "nan": None}}])
    with caplog.at_level(logging.WARNING):
        table = read_file_logger(path)
    assert rows(table) == [(3, "actor/entropy", 0.5)]
    assert "left out values that are not finite numbers" in caplog.text and "note (1x)" in caplog.text


def test_a_step_logged_twice_keeps_the_last_value_with_a_note(tmp_path, caplog):
    path = write_jsonl(
        tmp_path / "run.jsonl",
        [{"step": 5, "data": {"actor/entropy": 0.5}}, {"step": 5, "data": {"actor/entropy": 0.75, "val-core/x/acc/mean@4": 0.5}}],
    )
    with caplog.at_level(logging.WARNING):
        table = read_file_logger(path)
    assert series(table, "actor/entropy").to_dict() == {5: 0.75}
    assert "1 (step, metric) pairs were logged more than once" in caplog.text


def test_malformed_line_in_the_middle_is_an_error_naming_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"step": 1, "data": {"a": 1}}\n{"step": 2, "data": \n{"step": 3, "data": {"a": 3}}\n')
    with pytest.raises(PlotInputError, match=r"bad\.jsonl:2: not a JSON line"):
        read_file_logger(path)


def test_line_without_step_and_data_is_an_error_naming_the_line(tmp_path):
    path = write_jsonl(tmp_path / "other.jsonl", [{"step": 1, "data": {"a": 1}}, {"loss": 0.3}])
    with pytest.raises(PlotInputError, match=r"other\.jsonl:2: expected"):
        read_file_logger(path)


def test_incomplete_last_line_of_a_killed_run_is_left_out_with_a_warning(tmp_path, caplog):
    path = tmp_path / "killed.jsonl"
    path.write_text('{"step": 1, "data": {"a": 1.5}}\n{"step": 2, "data": {"a"')
    with caplog.at_level(logging.WARNING):
        table = read_file_logger(path)
    assert rows(table) == [(1, "a", 1.5)]
    assert "killed.jsonl:2: left out an incomplete last line" in caplog.text


def test_log_without_numeric_metrics_is_an_error_naming_the_file(tmp_path):
    path = write_jsonl(tmp_path / "empty.jsonl", [{"step": 1, "data": {"text": "hello"}}])
    with pytest.raises(PlotInputError, match=r"no numeric metrics in .*empty\.jsonl"):
        read_file_logger(path)
    (tmp_path / "zero.jsonl").write_text("")
    with pytest.raises(PlotInputError, match=r"no numeric metrics in .*zero\.jsonl"):
        read_file_logger(tmp_path / "zero.jsonl")


def test_missing_path_is_an_error_naming_it(tmp_path):
    with pytest.raises(PlotInputError, match=r"run log not found: .*nothing\.jsonl"):
        read_metrics(tmp_path / "nothing.jsonl")


def test_format_is_detected_from_files_and_directories(tmp_path):
    jsonl = write_jsonl(tmp_path / "a" / "exp.jsonl", LOGGED)
    assert detect_format(jsonl) == (FILE_LOGGER, jsonl)
    assert detect_format(tmp_path / "a") == (FILE_LOGGER, jsonl)  # the one .jsonl in the directory
    tb = write_tensorboard(tmp_path / "tb" / "proj" / "exp", {"actor/entropy": [(1, 0.5)]})
    assert detect_format(tb) == (TENSORBOARD, tb)
    assert detect_format(tmp_path / "tb") == (TENSORBOARD, tb)  # the one directory holding event files
    event_file = next(tb.iterdir())
    assert detect_format(event_file) == (TENSORBOARD, event_file)
    assert rows(read_metrics(event_file)[0]) == [(1, "actor/entropy", 0.5)]


def test_directory_without_a_log_or_with_several_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(PlotInputError, match=r"no metrics log in .*empty"):
        detect_format(tmp_path / "empty")
    write_jsonl(tmp_path / "two" / "a.jsonl", LOGGED)
    write_jsonl(tmp_path / "two" / "b.jsonl", LOGGED)
    with pytest.raises(PlotInputError, match=r"several \.jsonl logs \(a\.jsonl, b\.jsonl\)"):
        detect_format(tmp_path / "two")


def test_fixture_logs_hold_validation_at_step_0_and_training_steps_1_to_40():
    aspo = read_file_logger(ASPO_LOG)
    grpo = read_file_logger(GRPO_LOG)
    assert sorted(aspo["step"].unique()) == list(range(41))
    assert series(aspo, "val-core/aime2024/acc/mean@4").to_dict() == pytest.approx(
        {0: 0.30, 10: 0.34866, 20: 0.37364, 30: 0.38647, 40: 0.39305}, abs=1e-4
    )
    assert series(aspo, "actor/entropy").index.min() == 1
    assert "actor/aspo/clipfrac_upper" in set(aspo["metric"]) and "actor/aspo/clipfrac_upper" not in set(grpo["metric"])
    assert "actor/pg_clipfrac_lower" in set(grpo["metric"])
