"""archer.compare: missing inputs are named (exit 2); a run without eval output, or the reverse, still works."""

from __future__ import annotations

import json

from compare_support import both, make_inputs, run_compare


def test_missing_run_dir_is_named_with_exit_2(tmp_path):
    p = make_inputs(tmp_path)
    p["grpo"] = tmp_path / "no-such-run"
    code, _, err = run_compare(*both(p, "--panels", "entropy"))
    assert code == 2
    assert "archer.compare: error: --run 'GRPO=" in err and f"not found: {tmp_path / 'no-such-run'}" in err
    assert not p["out"].exists()


def test_missing_eval_dir_is_named_with_exit_2(tmp_path):
    p = make_inputs(tmp_path)
    p["eval_aspo"] = tmp_path / "eval_missing"
    code, _, err = run_compare(*both(p))
    assert code == 2 and f"--eval 'ASPO={tmp_path / 'eval_missing'}': not found" in err


def test_eval_dir_without_any_summary_names_the_command_to_make_one(tmp_path):
    p = make_inputs(tmp_path)
    empty = tmp_path / "eval_empty"
    (empty / "global_step_10").mkdir(parents=True)
    p["eval_grpo"] = empty
    code, _, err = run_compare(*both(p))
    assert code == 2
    assert f"no summary.json in it nor in {empty}/global_step_*/" in err and "python -m archer.eval run" in err


def test_run_dir_without_metric_log_is_named(tmp_path):
    p = make_inputs(tmp_path)
    (p["aspo"] / "metrics.jsonl").unlink()
    code, _, err = run_compare(*both(p))
    assert code == 2 and f"no metrics log in {p['aspo']}" in err


def test_run_without_eval_output_still_gets_its_dynamics_with_a_note(tmp_path):
    p = make_inputs(tmp_path)
    code, _, err = run_compare("--run", f"ASPO={p['aspo']}", "--eval", f"ASPO={p['eval_aspo']}",
                               "--run", f"GRPO={p['grpo']}", "--out", str(p["out"]), "--panels", "entropy")
    assert code == 0, err
    assert "GRPO: no --eval given" in err
    table = (p["out"] / "table.md").read_text()
    assert "ASPO (ours, step 20)" in table and "GRPO" not in table
    md = (p["out"] / "COMPARISON.md").read_text()
    assert "GRPO: no `--eval` given, so no table row" in md
    manifest = json.loads((p["out"] / "comparison.json").read_text())
    assert [m["label"] for m in manifest["methods"]] == ["ASPO", "GRPO"]
    assert (p["out"] / "dynamics" / "entropy.png").is_file()


def test_eval_without_run_still_gets_its_table_row_with_a_note(tmp_path):
    p = make_inputs(tmp_path)
    code, _, err = run_compare("--run", f"ASPO={p['aspo']}", "--eval", f"ASPO={p['eval_aspo']}",
                               "--eval", f"GRPO={p['eval_grpo']}", "--out", str(p["out"]), "--panels", "entropy")
    assert code == 0, err
    assert "GRPO (ours, step 20)" in (p["out"] / "table.md").read_text()
    assert "GRPO: no `--run` given, so no training dynamics." in (p["out"] / "COMPARISON.md").read_text()


def test_only_evals_write_no_dynamics(tmp_path):
    p = make_inputs(tmp_path)
    code, _, err = run_compare("--eval", f"ASPO={p['eval_aspo']}", "--eval", f"GRPO={p['eval_grpo']}",
                               "--out", str(p["out"]))
    assert code == 0, err
    assert not (p["out"] / "dynamics").exists()
    assert "No `--run` given: no training-dynamics figures." in (p["out"] / "COMPARISON.md").read_text()


def test_nothing_to_compare_is_exit_2(tmp_path):
    code, _, err = run_compare("--out", str(tmp_path / "o"))
    assert code == 2 and "nothing to compare" in err


def test_panels_no_run_logged_fail_before_anything_is_written(tmp_path):
    p = make_inputs(tmp_path)
    # verl's vanilla loss logs no actor/aspo/clipfrac_upper
    code, _, err = run_compare("--run", f"GRPO={p['grpo']}", "--eval", f"GRPO={p['eval_grpo']}",
                               "--out", str(p["out"]), "--panels", "clip_upper")
    assert code == 2 and "no run logged a metric of the panels (clip_upper)" in err
    assert not p["out"].exists()
