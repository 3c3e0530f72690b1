"""LoRA checkpoints are refused with what to do instead: verl's merger would release the base weights
with the adapter unmerged beside them. The checkpoint is a real one: verl's engine with lora_rank 4."""

from __future__ import annotations

import shutil

import pytest

from export_support import make_checkpoint

from archer.export import ExportError, export_checkpoint

# the module's checkpoint takes ~20 s to write (verl's engine started in a subprocess)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lora_checkpoint(tmp_path_factory):
    return make_checkpoint(
        tmp_path_factory.mktemp("export_lora"), 1,
        "actor_rollout_ref.model.lora_rank=4", "actor_rollout_ref.model.lora_alpha=8",
    )


def test_lora_checkpoint_is_refused_before_anything_is_written(lora_checkpoint, tmp_path):
    assert (lora_checkpoint.actor_dir / "lora_train_meta.json").is_file()
    out = tmp_path / "model"
    with pytest.raises(ExportError, match=r"LoRA checkpoint .*lora_train_meta\.json.*merge_and_unload"):
        export_checkpoint(lora_checkpoint.actor_dir, out)
    assert not out.exists()


def test_lora_checkpoint_without_its_metadata_file_is_refused_after_verl_finds_the_adapter(lora_checkpoint, tmp_path):
    copy = tmp_path / "global_step_1" / "actor"
    shutil.copytree(lora_checkpoint.actor_dir, copy)
    (copy / "lora_train_meta.json").unlink()
    out = tmp_path / "model"
    with pytest.raises(ExportError, match="LoRA checkpoint"):
        export_checkpoint(copy, out)
    assert not out.exists(), "the base-weights-only merge was left behind"
