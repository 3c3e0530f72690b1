"""Export round trip of a real FSDP2 checkpoint: verl's engine saves it on two gloo ranks (CPU), archer
exports it, transformers reloads it, and tensors / logits match what the engine held."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from export_support import SCALE, run_cli

from archer.export import export_checkpoint

# the module's checkpoint takes ~20 s to write (verl's engine started on gloo ranks in subprocesses)
pytestmark = pytest.mark.slow

BF16_RTOL = 2.0**-8  # half a bfloat16 ulp, relative


@pytest.fixture(scope="module")
def checkpoint(verl_checkpoint):
    return verl_checkpoint(2)


@pytest.fixture(scope="module")
def exported(checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("export_ws2_out") / "model"
    summary = tmp_path_factory.mktemp("eval") / "summary.json"
    summary.write_text(json.dumps({
        "aime2024": {"n": 16, "problems": 30, "avg": 12.5, "pass": 40.0},
        "math500": {"n": 4, "problems": 500, "avg": 71.25, "pass": 85.0},
    }))
    return export_checkpoint(checkpoint.actor_dir, out, eval_table=summary, base_model="Qwen/Qwen2.5-0.5B")


def test_checkpoint_is_verl_two_rank_fsdp2_layout(checkpoint):
    files = {p.name for p in checkpoint.actor_dir.iterdir()}
    assert {"model_world_size_2_rank_0.pt", "model_world_size_2_rank_1.pt", "fsdp_config.json", "huggingface"} <= files
    assert json.loads((checkpoint.actor_dir / "fsdp_config.json").read_text()) == {"FSDP_version": 2, "world_size": 2}


def test_export_writes_safetensors_config_tokenizer_generation_config_and_card(exported):
    names = {p.name for p in exported.iterdir()}
    assert {"model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json",
            "generation_config.json", "README.md", "export_report.json"} <= names
    assert "EXPORT_FAILED.txt" not in names
    report = json.loads((exported / "export_report.json").read_text())
    assert report["status"] == "passed" and report["global_step"] == 1
    assert report["checks"]["tensors"]["passed"] and report["checks"]["logits"]["passed"]
    assert report["checks"]["logits"]["max_abs_diff"] <= 1e-4
    assert report["generation_config"].startswith("checkpoint")


def test_reloaded_tensors_equal_the_engine_parameters_at_bf16(checkpoint, exported):
    from transformers import AutoModelForCausalLM

    files = load_file(str(exported / "model.safetensors"))
    assert set(files) == set(checkpoint.expected)  # no missing or extra names
    model = AutoModelForCausalLM.from_pretrained(str(exported), dtype=torch.float32)
    state = model.state_dict()
    base = load_file(str(checkpoint.base_model_dir / "model.safetensors"))
    for name, want in checkpoint.expected.items():
        assert files[name].dtype == torch.bfloat16, name
        assert state[name].shape == want.shape, name
        assert bool(((state[name] - want).abs() <= BF16_RTOL * want.abs()).all()), name
        # exactly the engine's tensor rounded to bf16, and not the base model's (the engine scaled it by 1.5)
        assert torch.equal(files[name], want.to(torch.bfloat16)), name
        assert torch.allclose(base[name].float() * SCALE, want), name


def test_reloaded_logits_match_the_engine_weights(checkpoint, exported):
    from transformers import AutoConfig, AutoModelForCausalLM

    ids = torch.tensor([[3, 17, 5, 40, 22, 9, 11]])
    model = AutoModelForCausalLM.from_pretrained(str(exported), dtype=torch.float32, attn_implementation="eager")
    config = AutoConfig.from_pretrained(str(exported))
    config._attn_implementation = "eager"
    original = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    original.load_state_dict(checkpoint.expected)
    rounded = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    rounded.load_state_dict({k: v.to(torch.bfloat16).float() for k, v in checkpoint.expected.items()})
    with torch.no_grad():
        got = model(input_ids=ids).logits
        # same weights as stored (bf16-rounded): the same logits
        torch.testing.assert_close(got, rounded(input_ids=ids).logits, rtol=0, atol=1e-5)
        # the engine's fp32 weights: bf16 storage moves the logits, by a few percent of their scale here
        # (the tiny model's weights are large: init range 0.2, scaled by 1.5)
        want = original(input_ids=ids).logits
        assert float((got - want).abs().max()) <= 0.03 * float(want.abs().max())
        assert torch.equal(got.argmax(-1), want.argmax(-1))


def test_model_card_has_base_model_method_hyperparameters_and_eval_table(exported):
    card = (exported / "README.md").read_text()
    assert "base_model: Qwen/Qwen2.5-0.5B" in card
    assert "ASPO" in card and "arxiv.org/abs/2510.06062" in card
    # from the run's .hydra/config.yaml found next to the checkpoint (values set in export_support)
    for row in (
        "| learning rate | `actor_rollout_ref.actor.optim.lr` | 3e-06 |",
        "| rollouts per prompt (n) | `actor_rollout_ref.rollout.n` | 8 |",
        "| train batch size (prompts) | `data.train_batch_size` | 64 |",
        "| max response length | `data.max_response_length` | 4096 |",
        "| high-entropy eps_high | `actor_rollout_ref.actor.policy_loss.high_entropy_clip_ratio_high` | 0.4 |",
        "| dual clip c | `actor_rollout_ref.actor.policy_loss.dual_clip_c` | 3.0 |",
        "| KL loss | `actor_rollout_ref.actor.use_kl_loss` | False |",
    ):
        assert row in card, row
    assert "| aime2024 | 30 | 16 | 12.5 | 40.0 |" in card
    assert "| math500 | 500 | 4 | 71.2 | 85.0 |" in card or "| math500 | 500 | 4 | 71.3 | 85.0 |" in card
    assert "- tensors: passed" in card and "- logits: passed" in card


def test_cli_exports_and_prints_the_output_dir(checkpoint, tmp_path):
    out = tmp_path / "cli_model"
    result = run_cli(str(checkpoint.actor_dir), str(out), "--eval-table", str(tmp_path / "missing"), "-q")
    assert result.returncode == 2 and "--eval-table" in result.stderr and not out.exists()
    result = run_cli(str(checkpoint.actor_dir), str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == str(out)
    assert "check tensors: PASS" in result.stderr and "check logits: PASS" in result.stderr


def test_wrongly_tied_config_fails_verification_and_marks_the_output(checkpoint, tmp_path):
    from archer.export import VerificationError

    hf = tmp_path / "hf"
    hf.mkdir()
    for f in (checkpoint.actor_dir / "huggingface").iterdir():
        (hf / f.name).write_bytes(f.read_bytes())
    config = json.loads((hf / "config.json").read_text())
    config["tie_word_embeddings"] = True
    (hf / "config.json").write_text(json.dumps(config))
    out = tmp_path / "model"
    with pytest.raises(VerificationError, match="lost the trained output layer"):
        export_checkpoint(checkpoint.actor_dir, out, hf_config_dir=hf)
    assert (out / "EXPORT_FAILED.txt").is_file()
    assert not (out / "README.md").exists()
    assert json.loads((out / "export_report.json").read_text())["status"] == "failed"


def test_verification_reports_a_tampered_tensor_with_its_name_and_diff(checkpoint, exported, tmp_path):
    import shutil

    from safetensors.torch import save_file

    from archer.export.verify import verify_export

    copy = tmp_path / "tampered"
    shutil.copytree(exported, copy)
    tensors = load_file(str(copy / "model.safetensors"))
    tensors["model.layers.1.mlp.up_proj.weight"][0, 0] += 0.5
    save_file(tensors, str(copy / "model.safetensors"), metadata={"format": "pt"})
    shards = sorted(checkpoint.actor_dir.glob("model_world_size_2_rank_*.pt"))
    results = {r.name: r for r in verify_export(copy, shards)}
    assert not results["tensors"].passed
    assert any("model.layers.1.mlp.up_proj.weight: 1 element(s)" in p for p in results["tensors"].problems)
    assert results["tensors"].max_abs_diff == pytest.approx(0.5, abs=0.02)
    assert not results["logits"].passed and results["logits"].max_abs_diff > 1e-4
