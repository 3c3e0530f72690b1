"""`archer.eval run` without --backend uses a backend that exists here and says which (vllm where it is
installed, else transformers); an explicit --backend vllm without vllm is refused before a verl checkpoint
is converted."""

from __future__ import annotations

import importlib.util
import json
import shutil

import pytest

from eval_support import build_tiny_model, run_cli, write_eval_set

pytestmark = pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed here")


def test_run_without_backend_on_a_machine_without_vllm_uses_transformers_and_says_so(tmp_path):
    model = build_tiny_model(tmp_path / "model")
    write_eval_set(tmp_path / "d", "math500", [("w5", "1")])
    code, _, err = run_cli("run", "--model", str(model), "--out", str(tmp_path / "o"), "--data-dir", str(tmp_path / "d"),
                           "--benchmarks", "math500", "--n", "1", "--max-tokens", "2", "--no-progress")
    assert code == 0, err
    assert "backend: transformers (--backend auto; vllm is not installed here)" in err
    assert (tmp_path / "o" / "summary.json").is_file()


def test_explicit_vllm_without_vllm_is_refused_before_the_checkpoint_is_converted(tmp_path):
    model = build_tiny_model(tmp_path / "model")
    actor = tmp_path / "run" / "global_step_3" / "actor"
    (actor / "huggingface").mkdir(parents=True)
    for f in model.iterdir():
        if f.name.startswith("tokenizer") or f.name == "config.json":
            shutil.copy(f, actor / "huggingface" / f.name)
    (actor / "fsdp_config.json").write_text(json.dumps({"FSDP_version": 2, "world_size": 1}))
    (actor / "model_world_size_1_rank_0.pt").write_bytes(b"never read: the backend check comes first")
    write_eval_set(tmp_path / "d", "math500", [("w5", "1")])
    code, _, err = run_cli("run", "--model", str(actor.parent), "--out", str(tmp_path / "o"), "--data-dir",
                           str(tmp_path / "d"), "--benchmarks", "math500", "--backend", "vllm", "--no-progress")
    assert code == 2, err
    assert "backend 'vllm' needs the vllm package, which is not installed here" in err
    assert "converting" not in err and not (tmp_path / "o" / "hf_model").exists()
