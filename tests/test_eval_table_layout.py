"""Tables: the reference numbers are self-consistent (Avg. = mean of avg@k), `table` merges summary.json
files into one table in the paper's column order, and a row with every benchmark gets its Avg."""

from __future__ import annotations

import csv
import json

import pytest

from archer.eval.benchmarks import BENCHMARKS, TABLES
from archer.eval.reference import REFERENCE, reference_rows
from archer.eval.table import Row, render_markdown
from eval_support import run_cli


@pytest.mark.parametrize("ref", REFERENCE, ids=lambda r: f"{r.table}-{r.group}-{r.method}")
def test_reference_avg_column_is_mean_of_avg_cells(ref):
    avgs = [ref.scores[name][0] for name in TABLES[ref.table][1]]
    # cells and Avg. are rounded to 0.1: the mean of rounded cells may differ from the rounded mean by up to
    # 0.05 + 0.05 (ASPO-Math-30B: cells give 71.87, the paper prints 71.8)
    assert abs(sum(avgs) / len(avgs) - ref.avg) <= 0.1 + 1e-9
    assert all(0 <= a <= p <= 100 for a, p in ref.scores.values())  # avg@k <= pass@k


def test_reference_groups():
    assert [r.method for r in reference_rows("code")] == ["DeepSeek-R1-1.5B", "GRPO", "DeepCoder-1.5B",
                                                         "Nemotron-1.5B", "Archer-Code-1.5B", "ASPO-Code-1.5B"]
    assert len(reference_rows("math", "all")) == 14
    with pytest.raises(ValueError, match="unknown reference group 'qwen9'"):
        reference_rows("math", "qwen9")


def full_summary(value: float) -> dict:
    return {name: {"n": b.k, "problems": 10, "avg": value, "pass": value + 10} for name, b in BENCHMARKS.items()}


def test_complete_row_gets_avg_and_plain_cells():
    md = render_markdown([Row("ours", full_summary(40.0))])
    assert "| ours | 40.0 | 50.0 | 40.0 | 50.0 | 40.0 | 50.0 | 40.0 | 50.0 | 40.0 | 50.0 | 40.0 | 50.0 | 40.0 |" in md
    assert "| ours | 40.0 | 50.0 | 40.0 | 50.0 | 40.0 |" in md  # Table 2
    assert md.index("Table 1") < md.index("Table 2") < md.index("Per-benchmark summary")


def test_table_command_merges_summaries_in_order(tmp_path):
    for name, value in (("step_a", 20.0), ("step_b", 30.0)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.json").write_text(json.dumps(full_summary(value)))
    run_out = tmp_path / "run_out"
    for step, value in ((100, 5.0), (20, 1.0)):
        (run_out / f"global_step_{step}").mkdir(parents=True)
        (run_out / f"global_step_{step}" / "summary.json").write_text(json.dumps(full_summary(value)))
    code, stdout, stderr = run_cli("table", f"A={tmp_path / 'step_a'}", str(tmp_path / "step_b" / "summary.json"),
                                   f"run={run_out}", "--out", str(tmp_path / "t"), "--reference", "all",
                                   "--title", "merged")
    assert code == 0, stderr
    rows = list(csv.DictReader((tmp_path / "t" / "table_code.csv").open()))
    ours = [r["method"] for r in rows if r["source"] == "ours"]
    assert ours == ["A", "step_b", "run global_step_20", "run global_step_100"]
    assert [r["source"] for r in rows].count("ours") == 4 and len(rows) == 4 + 9  # 9 reference code rows
    md = (tmp_path / "t" / "table.md").read_text()
    assert md.startswith("## merged") and "ASPO-Code-4B (Qwen3-4B) [ref]" in md
