"""A resumed run writes one file-logger part per invocation (verl's ``FileLogger`` truncates its file when
it opens it): ``archer.smoke.pipeline.merge_metrics`` joins them into ``metrics.jsonl`` with every step
once, in step order, a later invocation's line replacing an earlier one of the same step. The end-to-end
resume is the vLLM rehearsal's (tests/test_smoke_vllm_rehearsal.py)."""

from __future__ import annotations

import json

import pytest

from archer.smoke.pipeline import SmokeError, merge_metrics


def _part(path, rows):
    path.write_text("".join(json.dumps({"step": step, "data": data}) + "\n" for step, data in rows))


def test_parts_of_a_resumed_run_merge_to_one_line_per_step_in_order(tmp_path):
    (tmp_path / "metrics").mkdir()
    # the first invocation logged steps 1-2 and was stopped; the rerun resumed from the step-1 checkpoint
    _part(tmp_path / "metrics" / "train-20261204-101500-1.jsonl", [(1, {"x": 1.0}), (2, {"x": 2.0})])
    _part(tmp_path / "metrics" / "train-20261204-103000-2.jsonl", [(2, {"x": 20.0}), (3, {"x": 3.0})])
    merged = merge_metrics(tmp_path)
    assert merged == tmp_path / "metrics.jsonl"
    rows = [json.loads(line) for line in merged.read_text().splitlines()]
    assert [(r["step"], r["data"]["x"]) for r in rows] == [(1, 1.0), (2, 20.0), (3, 3.0)]


def test_no_file_logger_output_is_an_error_naming_the_directory(tmp_path):
    (tmp_path / "metrics").mkdir()
    with pytest.raises(SmokeError, match="metrics"):
        merge_metrics(tmp_path)
