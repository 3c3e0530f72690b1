"""Checkpoint retention (MAX_CKPT_TO_KEEP -> trainer.max_actor_ckpt_to_keep) through verl 0.9.1's own
retention code, and archer.eval's run-dir sweep over what it leaves: pruned steps (only data.pt) are skipped,
the kept ones are evaluated in step order."""

from __future__ import annotations

import logging

import pytest

from archer.eval.checkpoints import discover_targets
from archer.eval.errors import EvalInputError


def _verl_checkpoint_manager():
    from verl.utils.checkpoint.fsdp_checkpoint_manager import FSDPCheckpointManager

    # verl's retention logic (ensure_checkpoint_capacity / register_checkpoint) only needs its path list;
    # the constructor needs a process group and a model, which this test does not
    manager = object.__new__(FSDPCheckpointManager)
    manager.previous_saved_paths = []
    return manager


def _simulate_saves(run_dir, steps, keep):
    """What verl's v1 trainer + FSDP checkpoint manager do per save: make room, write actor/, register it,
    then write the dataloader state next to actor/."""
    manager = _verl_checkpoint_manager()
    for step in steps:
        actor = run_dir / f"global_step_{step}" / "actor"
        manager.ensure_checkpoint_capacity(keep)
        (actor / "huggingface").mkdir(parents=True)
        (actor / "model_world_size_8_rank_0.pt").write_bytes(b"")
        (actor / "optim_world_size_8_rank_0.pt").write_bytes(b"")
        (actor / "huggingface" / "config.json").write_text("{}")
        manager.register_checkpoint(str(actor), keep)
        (run_dir / f"global_step_{step}" / "data.pt").write_bytes(b"")


def test_retention_keeps_the_last_k_actor_dirs_and_leaves_data_pt(tmp_path):
    _simulate_saves(tmp_path, [10, 20, 30, 40, 50], keep=3)
    kept = sorted(p.parent.name for p in tmp_path.glob("global_step_*/actor"))
    assert kept == ["global_step_30", "global_step_40", "global_step_50"]
    assert (tmp_path / "global_step_10" / "data.pt").is_file()


def test_eval_sweep_skips_pruned_steps_and_keeps_step_order(tmp_path, caplog):
    _simulate_saves(tmp_path, [10, 20, 30, 40, 50], keep=3)
    with caplog.at_level(logging.INFO, logger="archer.eval.checkpoints"):
        mode, targets = discover_targets(tmp_path)
    assert mode == "run"
    assert [(t.label, t.kind, t.step) for t in targets] == [
        ("global_step_30", "verl", 30), ("global_step_40", "verl", 40), ("global_step_50", "verl", 50)
    ]
    assert "global_step_10, global_step_20" in caplog.text


def test_keep_zero_keeps_every_checkpoint(tmp_path):
    _simulate_saves(tmp_path, [10, 20, 30, 40], keep=0)
    _, targets = discover_targets(tmp_path)
    assert [t.step for t in targets] == [10, 20, 30, 40]


def test_run_dir_with_every_step_pruned_names_save_contents(tmp_path):
    for step in (10, 20):
        (tmp_path / f"global_step_{step}").mkdir()
        (tmp_path / f"global_step_{step}" / "data.pt").write_bytes(b"")
    with pytest.raises(EvalInputError, match="checkpoint.save_contents"):
        discover_targets(tmp_path)
