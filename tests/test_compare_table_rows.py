"""archer.compare: Table 1 with one row per method at the chosen checkpoint, beside the paper's rows."""

from __future__ import annotations

import json

from compare_support import both, expected_cells, make_inputs, run_compare, table_line

FAST = ("--panels", "entropy")  # one dynamics panel: these tests are about the table


def test_table_has_both_rows_at_last_step_and_the_papers_reference_rows(tmp_path):
    p = make_inputs(tmp_path)
    code, out, err = run_compare(*both(p, "--reference", *FAST))
    assert code == 0, err
    table = (p["out"] / "table.md").read_text()
    # hand-written step-20 summaries; Avg. = (33+26+74+85+29+47)/6 = 49.0 and (30+23+71+84+27+45)/6 = 46.7
    assert table_line(table, "ASPO (ours, step 20)") == [
        "33.0", "73.3", "26.0", "63.3", "74.0", "97.5", "85.0", "93.0", "29.0", "48.0", "47.0", "61.0", "49.0"]
    assert table_line(table, "GRPO (ours, step 20)") == [
        "30.0", "63.3", "23.0", "53.3", "71.0", "92.5", "84.0", "92.0", "27.0", "45.0", "45.0", "58.0", "46.7"]
    # the paper's rows (arXiv 2510.06062v2, Table 1, DeepSeek-R1-Distill-Qwen-1.5B block)
    assert table_line(table, "ASPO-Math-1.5B [ref]")[-1] == "59.3"
    assert table_line(table, "GRPO [ref]")[-1] == "53.5"
    assert "Table 2" not in table  # no code benchmark in the summaries
    csv = (p["out"] / "table_math.csv").read_text()
    assert '"ASPO (ours, step 20)",ours,33.0,73.3,' in csv
    assert out.strip().endswith("COMPARISON.md")


def test_every_scored_checkpoint_goes_to_all_steps(tmp_path):
    p = make_inputs(tmp_path)
    code, _, err = run_compare(*both(p, *FAST))
    assert code == 0, err
    table = (p["out"] / "all_steps" / "table.md").read_text()
    for method, label in (("aspo", "ASPO"), ("grpo", "GRPO")):
        for step in (10, 20):
            assert table_line(table, f"{label} global_step_{step}") == expected_cells(method, step)


def test_step_option_shows_that_checkpoint_for_every_method(tmp_path):
    p = make_inputs(tmp_path)
    code, _, err = run_compare(*both(p, "--step", "10", *FAST))
    assert code == 0, err
    table = (p["out"] / "table.md").read_text()
    assert table_line(table, "ASPO (ours, step 10)")[-1] == "47.5"  # 285 / 6
    assert table_line(table, "GRPO (ours, step 10)")[:2] == ["32.0", "66.7"]
    assert "step 20" not in table


def test_labelled_step_wins_over_the_common_step(tmp_path):
    p = make_inputs(tmp_path)
    code, _, err = run_compare(*both(p, "--step", "10", "--step", "GRPO=20", *FAST))
    assert code == 0, err
    table = (p["out"] / "table.md").read_text()
    table_line(table, "ASPO (ours, step 10)")
    table_line(table, "GRPO (ours, step 20)")
    assert "different training steps" in (p["out"] / "COMPARISON.md").read_text()


def test_select_best_picks_the_highest_mean_and_says_it_is_optimistic(tmp_path):
    p = make_inputs(tmp_path)
    code, _, err = run_compare(*both(p, "--select", "best", *FAST))
    assert code == 0, err
    table = (p["out"] / "table.md").read_text()
    # ASPO: 49.0 (step 20) > 47.5 (step 10); GRPO: 48.25 (step 10) > 46.67 (step 20)
    table_line(table, "ASPO (ours, step 20)")
    table_line(table, "GRPO (ours, step 10)")
    md = (p["out"] / "COMPARISON.md").read_text()
    assert "selected on the eval sets themselves" in md
    assert "different training steps" in md
    manifest = json.loads((p["out"] / "comparison.json").read_text())
    assert manifest["select"] == "best" and manifest["same_step"] is False


def test_a_step_nobody_scored_is_refused_with_the_scored_steps(tmp_path):
    p = make_inputs(tmp_path)
    code, _, err = run_compare(*both(p, "--step", "30", *FAST))
    assert code == 2
    assert "global_step_30/summary.json" in err and "scored steps: 10, 20" in err
    assert not (p["out"] / "table.md").exists()
