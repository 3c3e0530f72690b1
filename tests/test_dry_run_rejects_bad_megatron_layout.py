"""With ``model_engine=megatron`` the dry run rejects parallel sizes that do not tile the GPUs, and checks the
step's batch against the data-parallel ranks (GPUs / (TP x PP x CP)), not against the GPUs: Megatron itself
finds these only when its process groups start on the nodes."""

from __future__ import annotations

import pytest

from archer.launch import dry_run

M = "actor_rollout_ref.actor.megatron"
# 8 GPUs, 64 prompts x 16 responses, as the launchers' defaults
BASE = ("model_engine=megatron", "trainer.n_gpus_per_node=8", "trainer.nnodes=1", "data.train_batch_size=64",
        "actor_rollout_ref.rollout.n=16", "actor_rollout_ref.actor.ppo_mini_batch_size=16")


def validate(*overrides):
    return dry_run.validate_with_verl(dry_run.compose_config([*BASE, *overrides]))


def test_the_30b_a3b_layout_expert_parallel_8_passes():
    built = validate(f"{M}.expert_model_parallel_size=8", f"{M}.expert_tensor_parallel_size=1")
    assert built["actor_rollout_ref.actor"].megatron.expert_model_parallel_size == 8


def test_tensor_parallel_size_that_does_not_divide_the_gpus_is_rejected_naming_the_key():
    with pytest.raises(dry_run.DryRunError, match=r"actor_rollout_ref\.actor\.megatron: tensor_model_parallel_size .* = 3 must divide the 8 GPUs"):
        validate(f"{M}.tensor_model_parallel_size=3")


def test_expert_parallel_size_that_does_not_divide_a_pipeline_stage_is_rejected():
    with pytest.raises(dry_run.DryRunError, match=r"expert_model_parallel_size x expert_tensor_parallel_size = 8 x 1 = 8 must divide the 4 GPUs of a pipeline stage"):
        validate(f"{M}.pipeline_model_parallel_size=2", f"{M}.expert_model_parallel_size=8", f"{M}.expert_tensor_parallel_size=1")


def test_batch_is_checked_against_data_parallel_ranks_not_gpus():
    # TP 4 on 8 GPUs: 2 data-parallel ranks, so 3 x 2 = 6 responses split evenly although 8 GPUs do not
    validate(f"{M}.tensor_model_parallel_size=4", "data.train_batch_size=3", "actor_rollout_ref.rollout.n=2",
             "actor_rollout_ref.actor.ppo_mini_batch_size=1")
    with pytest.raises(dry_run.DryRunError, match=r"= 3 responses per step must be divisible by the 2 data-parallel ranks"):
        validate(f"{M}.tensor_model_parallel_size=4", "data.train_batch_size=3", "actor_rollout_ref.rollout.n=1",
                 "actor_rollout_ref.actor.ppo_mini_batch_size=1")


def config_only_moe_model(model_dir, experts: int):
    """A local Qwen3-MoE dir with what verl's HFModelConfig reads (config.json, tokenizer), no weights."""
    from transformers import Qwen3MoeConfig

    from verl_cpu_support import save_word_level_tokenizer

    save_word_level_tokenizer(model_dir)
    Qwen3MoeConfig(vocab_size=64, hidden_size=32, intermediate_size=64, moe_intermediate_size=16, num_experts=experts,
                   num_experts_per_tok=2, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                   head_dim=8, pad_token_id=0, eos_token_id=1, bos_token_id=2,
                   architectures=["Qwen3MoeForCausalLM"]).save_pretrained(model_dir)
    return model_dir


def test_expert_parallel_size_must_divide_the_models_experts(tmp_path):
    from archer.launch.config_checks import check_experts_divide

    model = config_only_moe_model(tmp_path / "moe", experts=4)
    ok = dry_run.compose_config([*BASE, f"actor_rollout_ref.model.path={model}", f"{M}.expert_model_parallel_size=4"])
    check_experts_divide(ok, dry_run.check_model(ok, allow_download=False).hf_config)
    # the dry run itself loads the model's config and rejects EP 8 for 4 experts
    data = [f"data.train_files=['{tmp_path}/train/math.parquet']", f"data.val_files=['{tmp_path}/eval/math500.parquet']"]
    with pytest.raises(dry_run.DryRunError, match=r"expert_model_parallel_size=8 does not divide the 4 experts per layer"):
        dry_run.run([*BASE, *data, f"actor_rollout_ref.model.path={model}", f"{M}.expert_model_parallel_size=8"])
