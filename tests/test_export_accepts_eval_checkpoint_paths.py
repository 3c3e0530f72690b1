"""archer.export takes a checkpoint in every form archer.eval run --model takes: .../global_step_N/actor,
.../global_step_N, the actor's huggingface/ dir, or a run dir (its latest checkpoint, saying which); a Hugging
Face model dir is refused with the reason (nothing to convert)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archer.export import ExportError, export_checkpoint
from archer.export.checks import resolve_checkpoint_dir


def actor_dir(run: Path, step: int) -> Path:
    actor = run / f"global_step_{step}" / "actor"
    (actor / "huggingface").mkdir(parents=True)
    (actor / "fsdp_config.json").write_text(json.dumps({"FSDP_version": 2, "world_size": 1}))
    (actor / "model_world_size_1_rank_0.pt").write_bytes(b"x")
    (actor / "huggingface" / "config.json").write_text(json.dumps({"architectures": ["Qwen2ForCausalLM"]}))
    return actor


def test_actor_dir_global_step_dir_and_huggingface_dir_name_the_same_checkpoint(tmp_path):
    actor = actor_dir(tmp_path / "run", 7)
    assert resolve_checkpoint_dir(actor) == (actor, None)
    assert resolve_checkpoint_dir(actor.parent) == (actor, None)
    resolved, note = resolve_checkpoint_dir(actor / "huggingface")
    assert resolved == actor and "config dir" in note


def test_run_dir_exports_the_step_in_verls_latest_marker_and_says_so(tmp_path):
    run = tmp_path / "run"
    actor_dir(run, 2)
    latest = actor_dir(run, 4)
    actor_dir(run, 6)
    (run / "latest_checkpointed_iteration.txt").write_text("4\n")
    resolved, note = resolve_checkpoint_dir(run)
    assert resolved == latest
    assert "run dir: exporting its latest checkpoint global_step_4" in note and "2, 4, 6" in note


def test_run_dir_without_marker_exports_the_highest_step_with_an_actor(tmp_path):
    run = tmp_path / "run"
    actor_dir(run, 2)
    actor_dir(run, 10)
    (run / "global_step_12").mkdir()  # pruned by retention: no actor/
    assert resolve_checkpoint_dir(run)[0] == run / "global_step_10" / "actor"


def test_global_step_dir_is_exported_from_its_actor_dir(tmp_path):
    actor = actor_dir(tmp_path / "run", 7)
    with pytest.raises(ExportError, match=r"merger failed on \S*/global_step_7/actor: "):
        export_checkpoint(actor.parent, tmp_path / "out")


def test_hugging_face_model_dir_is_refused_as_nothing_to_export(tmp_path):
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_text("{}")
    (hf / "model.safetensors").write_bytes(b"x")
    with pytest.raises(ExportError, match="already a Hugging Face model dir: there is nothing to export"):
        export_checkpoint(hf, tmp_path / "out")
