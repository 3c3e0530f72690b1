"""`run --model RUN/global_step_N` checks the cheap things (chat template) before converting a verl
checkpoint, and names truncated weight files of a HF model dir before loading it."""

from __future__ import annotations

import json
import shutil

from eval_support import build_tiny_model, run_cli, write_eval_set


def test_tokenizer_without_chat_template_fails_before_the_checkpoint_is_converted(tmp_path):
    model = build_tiny_model(tmp_path / "model")
    actor = tmp_path / "run" / "global_step_3" / "actor"
    (actor / "huggingface").mkdir(parents=True)
    for f in model.iterdir():
        if f.name.startswith("tokenizer") or f.name == "config.json":
            shutil.copy(f, actor / "huggingface" / f.name)
    cfg_path = actor / "huggingface" / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg.pop("chat_template", None)
    cfg_path.write_text(json.dumps(cfg))
    (actor / "chat_template.jinja").unlink(missing_ok=True)
    (actor / "huggingface" / "chat_template.jinja").unlink(missing_ok=True)
    (actor / "fsdp_config.json").write_text(json.dumps({"FSDP_version": 2, "world_size": 1}))
    (actor / "model_world_size_1_rank_0.pt").write_bytes(b"not converted: the template check comes first")
    data = tmp_path / "data"
    write_eval_set(data, "aime2024", [("w3 w4", "1")])
    code, _, err = run_cli("run", "--model", str(actor.parent), "--out", str(tmp_path / "out"), "--data-dir",
                           str(data), "--benchmarks", "aime2024", "--backend", "transformers", "--no-progress")
    assert code == 2, err
    assert "has no chat template" in err and "--no-chat-template" in err
    assert "converting" not in err
    assert not (tmp_path / "out" / "hf_model").exists()


def test_truncated_safetensors_of_a_hf_model_dir_is_named(tmp_path):
    model = build_tiny_model(tmp_path / "model")
    weights = model / "model.safetensors"
    data_bytes = weights.read_bytes()
    weights.write_bytes(data_bytes[: len(data_bytes) - 100])
    data = tmp_path / "data"
    write_eval_set(data, "aime2024", [("w3 w4", "1")])
    code, _, err = run_cli("run", "--model", str(model), "--out", str(tmp_path / "out"), "--data-dir", str(data),
                           "--benchmarks", "aime2024", "--backend", "transformers", "--no-progress")
    assert code == 2, err
    assert f"archer.eval: error: {weights}: safetensors file looks truncated or corrupt" in err


def test_corrupt_eval_set_parquet_is_named_with_the_prepare_command(tmp_path):
    data = tmp_path / "data"
    path = write_eval_set(data, "aime2024", [("w3 w4", "1")])
    path.write_bytes(path.read_bytes()[:-30])
    model = build_tiny_model(tmp_path / "model")
    code, _, err = run_cli("run", "--model", str(model), "--out", str(tmp_path / "out"), "--data-dir", str(data),
                           "--benchmarks", "aime2024", "--backend", "transformers", "--no-progress")
    assert code == 2, err
    assert f"{path}: cannot read eval set 'aime2024' as parquet, the file looks truncated or corrupt" in err
    assert "archer.data prepare --suite eval --force" in err
