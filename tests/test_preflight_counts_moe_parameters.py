"""The GPU preflight's disk estimate counts parameters from config.json, experts included: the count equals the
parameters of the model transformers builds from the same config (tiny Qwen3 dense and Qwen3-MoE models),
and the presets' hub models get the totals their model cards state (4.0 B, 8.2 B, 30.5 B)."""

from __future__ import annotations

import pytest

from archer.launch import preflight as pf

TINY = dict(vocab_size=64, hidden_size=32, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
            head_dim=8, max_position_embeddings=64, tie_word_embeddings=False)


def numel(model) -> int:
    return sum(p.numel() for p in model.parameters())


def test_dense_qwen3_count_equals_the_built_model():
    from transformers import Qwen3Config, Qwen3ForCausalLM

    config = Qwen3Config(intermediate_size=48, **TINY)
    assert pf.param_count_from_config(config.to_dict()) == numel(Qwen3ForCausalLM(config))


@pytest.mark.parametrize("mlp_only_layers", [[], [1]])
def test_qwen3_moe_count_equals_the_built_model_with_and_without_dense_layers(mlp_only_layers):
    from transformers import Qwen3MoeConfig, Qwen3MoeForCausalLM

    config = Qwen3MoeConfig(intermediate_size=48, moe_intermediate_size=16, num_experts=4, num_experts_per_tok=2,
                            decoder_sparse_step=1, mlp_only_layers=mlp_only_layers, **TINY)
    assert pf.param_count_from_config(config.to_dict()) == numel(Qwen3MoeForCausalLM(config))


def test_preset_models_have_their_model_card_totals():
    for repo, billions in (("Qwen/Qwen3-4B", 4.0), ("Qwen/Qwen3-8B", 8.2), ("Qwen/Qwen3-30B-A3B", 30.5)):
        assert round(pf.KNOWN_PARAMS[repo] / 1e9, 1) == billions, repo


def test_megatron_checkpoint_estimate_of_the_30b_a3b_preset():
    n = pf.KNOWN_PARAMS["Qwen/Qwen3-30B-A3B"]
    assert pf.checkpoint_bytes(n, pf.MEGATRON_BYTES_PER_PARAM) == 14 * n  # ~427 GB
    result = pf.check_disk(500 * 10**9, "/ckpt", n, 2, pf.MEGATRON_BYTES_PER_PARAM)
    assert not result.ok and "MAX_CKPT_TO_KEEP" in result.message
