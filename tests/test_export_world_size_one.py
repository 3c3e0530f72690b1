"""A world_size 1 checkpoint (one shard file holding the whole model, written by verl's engine on a single
gloo rank) exports and verifies like a multi-rank one."""

from __future__ import annotations

import json

import torch
from safetensors.torch import load_file

from archer.export import export_checkpoint


def test_single_rank_checkpoint_exports_with_every_tensor_of_the_engine(verl_checkpoint, tmp_path):
    checkpoint = verl_checkpoint(1)
    assert json.loads((checkpoint.actor_dir / "fsdp_config.json").read_text())["world_size"] == 1
    out = export_checkpoint(checkpoint.actor_dir, tmp_path / "model")

    report = json.loads((out / "export_report.json").read_text())
    assert report["status"] == "passed"
    assert report["checks"]["logits"]["max_abs_diff"] <= 1e-4
    files = load_file(str(out / "model.safetensors"))
    assert set(files) == set(checkpoint.expected)
    for name, want in checkpoint.expected.items():
        assert torch.equal(files[name], want.to(torch.bfloat16)), name
