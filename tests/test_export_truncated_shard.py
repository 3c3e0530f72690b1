"""A truncated (or otherwise corrupt) shard file is refused before the merge with exit 2 and a message
naming the shard; the progress bar is finished first, so `error:` starts its own line. The shards are real
torch.save files, cut short here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from export_support import run_cli

from archer.export import ExportError, export_checkpoint
from archer.export.checks import check_safetensors_file


def _layout(root: Path, world_size: int = 2) -> Path:
    actor = root / "global_step_7" / "actor"
    (actor / "huggingface").mkdir(parents=True)
    (actor / "fsdp_config.json").write_text(json.dumps({"FSDP_version": 2, "world_size": world_size}))
    (actor / "huggingface" / "config.json").write_text(json.dumps({"architectures": ["Qwen2ForCausalLM"]}))
    for rank in range(world_size):
        torch.save({"model.embed_tokens.weight": torch.randn(64, 32)}, actor / f"model_world_size_{world_size}_rank_{rank}.pt")
    return actor


def _cut(path: Path, keep: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


@pytest.mark.parametrize("keep", [0.5, 0.98])
def test_truncated_shard_is_named_before_the_merge(tmp_path, keep):
    actor = _layout(tmp_path)
    shard = actor / "model_world_size_2_rank_1.pt"
    _cut(shard, keep)
    with pytest.raises(ExportError, match=r"model_world_size_2_rank_1\.pt: model shard file looks truncated or corrupt"):
        export_checkpoint(actor, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_truncated_shard_exits_2_with_error_on_its_own_line(tmp_path):
    actor = _layout(tmp_path)
    shard = actor / "model_world_size_2_rank_0.pt"
    _cut(shard, 0.5)
    result = run_cli(str(actor), str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    error_lines = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(error_lines) == 1
    assert error_lines[0].startswith(f"archer.export: error: {shard}: model shard file looks truncated or corrupt")
    assert "Traceback" not in result.stderr and "Errno 22" not in result.stderr


def test_truncated_safetensors_file_is_named(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "model.safetensors"
    save_file({"w": torch.randn(32, 32)}, str(path))
    check_safetensors_file(path)  # the complete file passes
    _cut(path, 0.7)
    with pytest.raises(ExportError, match=r"model\.safetensors: safetensors file looks truncated or corrupt"):
        check_safetensors_file(path)
