"""The eval and comparison outputs say which policy loss the evaluated model was trained with: archer.eval
writes it to OUT/eval_info.json (from the run's saved config, or the export report archer.export wrote),
and archer.compare shows it for a method given by its eval output alone (a GRPO row says it is GRPO)."""

from __future__ import annotations

import json

from compare_support import run_compare
from eval_support import build_tiny_model, run_cli, write_eval_set


def test_run_dir_eval_records_the_loss_of_the_runs_config_and_compare_shows_it(tmp_path):
    run = tmp_path / "checkpoints" / "grpo-math"
    build_tiny_model(run / "global_step_1")  # a step dir holding an HF model (already converted)
    (run / "config.yaml").write_text("actor_rollout_ref:\n  actor:\n    policy_loss:\n      loss_mode: vanilla\n")
    write_eval_set(tmp_path / "d", "math500", [("w5", "1")])
    out = tmp_path / "eval_out" / "grpo"
    code, _, err = run_cli("run", "--model", str(run), "--out", str(out), "--data-dir", str(tmp_path / "d"),
                           "--benchmarks", "math500", "--n", "1", "--max-tokens", "2", "--backend", "transformers",
                           "--no-progress")
    assert code == 0, err
    info = json.loads((out / "eval_info.json").read_text())
    assert info["loss_mode"] == "vanilla" and info["loss_mode_source"] == str(run / "config.yaml")
    assert "loss_mode=vanilla: verl's vanilla PPO/GRPO loss (the GRPO baseline)" in err

    code, _, err = run_compare("--eval", f"GRPO={out}", "--out", str(tmp_path / "cmp"))
    assert code == 0, err
    manifest = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert manifest["methods"][0]["loss_mode"] == "vanilla"
    assert "| vanilla (from " in (tmp_path / "cmp" / "COMPARISON.md").read_text()


def test_exported_model_eval_records_the_loss_of_the_export_report(tmp_path):
    model = build_tiny_model(tmp_path / "release")
    (model / "export_report.json").write_text(json.dumps({"status": "passed", "loss_mode": "aspo"}))
    write_eval_set(tmp_path / "d", "math500", [("w5", "1")])
    out = tmp_path / "eval_out" / "aspo"
    code, _, err = run_cli("run", "--model", str(model), "--out", str(out), "--data-dir", str(tmp_path / "d"),
                           "--benchmarks", "math500", "--n", "1", "--max-tokens", "2", "--backend", "transformers",
                           "--no-progress")
    assert code == 0, err
    assert json.loads((out / "eval_info.json").read_text())["loss_mode"] == "aspo"
