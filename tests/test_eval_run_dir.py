"""Model inputs: a run dir is evaluated step by step in step order into OUT/global_step_N/, steps with a
summary.json are skipped on the next call, and verl checkpoint layouts are recognised."""

from __future__ import annotations

import json
import shutil

import pytest

from archer.eval.checkpoints import discover_targets
from eval_support import build_tiny_model, read_jsonl, run_cli, write_eval_set


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def make_run_dir(root, tiny_model, steps):
    """A fake training run whose checkpoints are already converted HF dirs."""
    for step in steps:
        shutil.copytree(tiny_model, root / f"global_step_{step}")
    (root / "latest_checkpointed_iteration.txt").write_text(str(max(steps)))
    return root


def test_run_dir_is_evaluated_in_step_order_and_done_steps_are_skipped(tiny_model, tmp_path, caplog):
    run = make_run_dir(tmp_path / "run", tiny_model, [10, 2])
    data = tmp_path / "data"
    write_eval_set(data, "math500", [("w5 w6", "1"), ("w7", "2")])
    out = tmp_path / "out"
    args = ("run", "--model", str(run), "--out", str(out), "--data-dir", str(data), "--benchmarks", "math500",
            "--n", "2", "--max-tokens", "4", "--backend", "transformers", "--no-progress")
    code, stdout, stderr = run_cli(*args)
    assert code == 0, stderr
    for step in (2, 10):
        summary = json.loads((out / f"global_step_{step}" / "summary.json").read_text())
        assert summary["math500"]["n"] == 2 and summary["math500"]["problems"] == 2
        assert len(read_jsonl(out / f"global_step_{step}" / "generations.jsonl")) == 2
    md = (out / "table.md").read_text()
    assert md.index("| global_step_2 |") < md.index("| global_step_10 |")  # numeric, not lexical order

    stamps = {s: (out / f"global_step_{s}" / "summary.json").stat().st_mtime_ns for s in (2, 10)}
    shutil.copytree(tiny_model, run / "global_step_20")  # a new checkpoint appears
    caplog.clear()
    with caplog.at_level("INFO", logger="archer.eval"):
        code, _, stderr = run_cli(*args)
    assert code == 0, stderr
    assert "global_step_2/summary.json exists" in caplog.text and "global_step_10/summary.json exists" in caplog.text
    assert "global_step_20/summary.json exists" not in caplog.text
    assert {s: (out / f"global_step_{s}" / "summary.json").stat().st_mtime_ns for s in (2, 10)} == stamps
    assert (out / "global_step_20" / "summary.json").is_file()
    rows = [line.split("|")[1].strip() for line in (out / "table.md").read_text().splitlines()
            if line.startswith("| global_step_") and "math500" not in line]
    assert rows == ["global_step_2", "global_step_10", "global_step_20"]


def test_verl_checkpoint_layouts_are_recognised(tmp_path, tiny_model):
    actor = tmp_path / "run" / "global_step_5" / "actor"
    (actor / "huggingface").mkdir(parents=True)
    (actor / "model_world_size_2_rank_0.pt").write_bytes(b"")
    (actor / "model_world_size_2_rank_1.pt").write_bytes(b"")
    (actor / "huggingface" / "config.json").write_text("{}")  # config + tokenizer only: needs conversion
    mode, targets = discover_targets(tmp_path / "run")
    assert mode == "run"
    assert [(t.label, t.kind, t.path, t.step) for t in targets] == [("global_step_5", "verl", actor, 5)]
    # the actor dir itself, and its parent global_step_N, name the row after the step
    assert [(t.label, t.kind) for t in discover_targets(actor)[1]] == [("global_step_5", "verl")]
    assert [(t.label, t.kind) for t in discover_targets(actor.parent)[1]] == [("global_step_5", "verl")]
    # verl saved full HF weights too (checkpoint.save_contents with hf_model): used directly
    shutil.rmtree(actor / "huggingface")
    shutil.copytree(tiny_model, actor / "huggingface")
    (target,) = discover_targets(actor)[1]
    assert (target.kind, target.path) == ("hf", actor / "huggingface")
