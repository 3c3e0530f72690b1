"""MODEL=<preset> (archer/launch/presets.py): each preset's dry run passes on CPU and differs from the default
1.5B run only in what the preset states (docs/models.md): the model, its run name, and for qwen3-8b
sequence parallelism; qwen3-30b-a3b switches to verl's Megatron engine with expert parallelism 8. In-process
dry runs (launcher_support.dry); the engine rules of the presets: tests/test_rules_engine_layout.py."""

from __future__ import annotations

import pytest

from archer.launch.presets import PRESETS
from launcher_support import RUN_NAME_KEYS, dry, dry_config, flatten

# verl interpolates the model path into these
MODEL_KEYS = {"actor_rollout_ref.model.path", "actor_rollout_ref.rollout.prometheus.served_model_name"}
# name -> MODEL of the math launcher's dry runs (launcher_support.dry: shared across test files)
RUNS = {"default": None, "qwen3-4b": "qwen3-4b", "qwen3-8b": "qwen3-8b", "qwen3-30b-a3b": "qwen3-30b-a3b"}


@pytest.fixture(scope="module")
def configs() -> dict[str, dict]:
    return {name: flatten(dry_config("math", {"MODEL": model} if model else {})) for name, model in RUNS.items()}


def differing(a: dict, b: dict) -> set[str]:
    return {k for k in set(a) | set(b) if a.get(k) != b.get(k)}


def test_qwen3_4b_differs_from_the_default_run_only_in_the_model_and_run_name(configs):
    c = configs["qwen3-4b"]
    assert differing(configs["default"], c) == MODEL_KEYS | RUN_NAME_KEYS
    assert c["actor_rollout_ref.model.path"] == "Qwen/Qwen3-4B"
    assert c["trainer.experiment_name"] == "aspo-qwen3-4b-math"


def test_qwen3_8b_adds_only_ulysses_sequence_parallel_2(configs):
    c = configs["qwen3-8b"]
    sp = {k for k in differing(configs["default"], c) if k.endswith("ulysses_sequence_parallel_size")}
    assert differing(configs["default"], c) == MODEL_KEYS | RUN_NAME_KEYS | sp
    assert {"actor_rollout_ref.actor.ulysses_sequence_parallel_size",
            "actor_rollout_ref.ref.ulysses_sequence_parallel_size"} <= sp
    assert all(c[k] == 2 for k in sp)
    assert c["actor_rollout_ref.model.path"] == "Qwen/Qwen3-8B"


def test_qwen3_30b_a3b_runs_megatron_with_expert_parallel_8_and_cpu_optimizer(configs):
    c = configs["qwen3-30b-a3b"]
    assert c["model_engine"] == "megatron"
    assert c["actor_rollout_ref.model.path"] == "Qwen/Qwen3-30B-A3B"
    for role in ("actor", "ref"):
        m = f"actor_rollout_ref.{role}.megatron"
        assert c[f"actor_rollout_ref.{role}.strategy"] == "megatron"
        assert (c[f"{m}.tensor_model_parallel_size"], c[f"{m}.pipeline_model_parallel_size"],
                c[f"{m}.context_parallel_size"], c[f"{m}.expert_model_parallel_size"],
                c[f"{m}.expert_tensor_parallel_size"]) == (1, 1, 1, 8, 1)
        assert c[f"{m}.param_offload"] is True
        assert (c[f"{m}.use_mbridge"], c[f"{m}.vanilla_mbridge"]) == (True, True)
        assert c[f"{m}.override_transformer_config.recompute_granularity"] == "full"
        assert c[f"{m}.override_transformer_config.moe_router_dtype"] == "fp32"
    o = "actor_rollout_ref.actor.optim.override_optimizer_config"
    assert c[f"{o}.optimizer_cpu_offload"] is True and c[f"{o}.optimizer_offload_fraction"] == 1.0
    assert c["actor_rollout_ref.rollout.tensor_model_parallel_size"] == 4
    assert c["trainer.max_actor_ckpt_to_keep"] == 2
    assert c["trainer.experiment_name"] == "aspo-qwen3-30b-a3b-math"


def test_qwen3_30b_a3b_keeps_every_algorithm_setting_of_the_default_run(configs):
    """The engine changes; the recipe (lengths, batch, loss, KL, optimiser numbers, reward, filtering) does not."""
    default, c = configs["default"], configs["qwen3-30b-a3b"]
    for key in ("data.max_prompt_length", "data.max_response_length", "data.train_batch_size",
                "actor_rollout_ref.rollout.n", "actor_rollout_ref.rollout.temperature",
                "actor_rollout_ref.actor.ppo_mini_batch_size", "actor_rollout_ref.actor.ppo_epochs",
                "actor_rollout_ref.actor.optim.lr", "actor_rollout_ref.actor.optim.lr_warmup_steps",
                "actor_rollout_ref.actor.optim.weight_decay", "actor_rollout_ref.actor.optim.clip_grad",
                "actor_rollout_ref.actor.loss_agg_mode", "actor_rollout_ref.actor.use_kl_loss",
                "actor_rollout_ref.actor.kl_loss_coef", "actor_rollout_ref.actor.kl_loss_type",
                "actor_rollout_ref.actor.clip_ratio_low", "actor_rollout_ref.actor.clip_ratio_high",
                "actor_rollout_ref.actor.calculate_entropy", "actor_rollout_ref.actor.use_dynamic_bsz",
                "actor_rollout_ref.actor.ppo_max_token_len_per_gpu", "algorithm.adv_estimator",
                "algorithm.filter_groups.enable", "algorithm.filter_groups.max_num_gen_batches",
                "reward.reward_manager.name", "reward.custom_reward_function.path"):
        assert c[key] == default[key], key
    policy_loss = {k for k in default if k.startswith("actor_rollout_ref.actor.policy_loss.")}
    assert {k: c[k] for k in policy_loss} == {k: default[k] for k in policy_loss}


def test_unknown_model_preset_fails_listing_the_presets():
    done = dry("math", {"MODEL": "qwen3-14b"})
    assert done.exit_code == 2 and done.config is None
    assert "MODEL=qwen3-14b: qwen3-14b not allowed" in done.problems
    for preset in ("r1-distill-qwen-1.5b", "qwen3-4b", "qwen3-8b", "qwen3-30b-a3b"):
        assert preset in done.problems
    assert sorted(PRESETS) == ["qwen3-30b-a3b", "qwen3-4b", "qwen3-8b", "r1-distill-qwen-1.5b"]


def test_a_preset_value_is_still_overridden_by_the_environment():
    from archer.launch import resolve

    values = resolve.resolve("math", {"MODEL": "qwen3-8b", "SP_SIZE": "1"}, repo="/repo")
    assert (values["SP_SIZE"], values.source("SP_SIZE")) == ("1", "environment")
    values = resolve.resolve("math", {"MODEL": "qwen3-8b"}, repo="/repo")
    assert (values["SP_SIZE"], values.source("SP_SIZE")) == ("2", "MODEL=qwen3-8b preset")
