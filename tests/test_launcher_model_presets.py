"""MODEL=<preset> (scripts/models/): each preset's dry run passes on CPU and differs from the default
1.5B run only in what the preset states (docs/models.md): the model, its run name, and for qwen3-8b
sequence parallelism; qwen3-30b-a3b switches to verl's Megatron engine with expert parallelism 8."""

from __future__ import annotations

import pytest
import yaml

from launcher_support import RUN_NAME_KEYS, dry_runs, flatten, run_launcher

pytestmark = pytest.mark.slow

# verl interpolates the model path into these
MODEL_KEYS = {"actor_rollout_ref.model.path", "actor_rollout_ref.rollout.prometheus.served_model_name"}
# (script, MODEL) -> its dry run (launcher_support.dry_runs: two at a time, shared across test files)
RUNS = {
    "default": ("run_aspo_math.sh", None),
    "qwen3-4b": ("run_aspo_math.sh", "qwen3-4b"),
    "qwen3-8b": ("run_aspo_math.sh", "qwen3-8b"),
    "qwen3-30b-a3b": ("run_aspo_math.sh", "qwen3-30b-a3b"),
}


@pytest.fixture(scope="module")
def configs() -> dict[str, dict]:
    requests = {name: (script, {"MODEL": model} if model else {}) for name, (script, model) in RUNS.items()}
    out = {}
    for name, proc in dry_runs(requests).items():
        assert proc.returncode == 0, f"{name}: {proc.stderr[-3000:]}"
        out[name] = flatten(yaml.safe_load(proc.stdout))
    return out


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
    proc = run_launcher("math", "--dry-run", MODEL="qwen3-14b")
    assert proc.returncode == 1
    assert "MODEL=qwen3-14b is not a model preset" in proc.stderr
    for preset in ("r1-distill-qwen-1.5b", "qwen3-4b", "qwen3-8b", "qwen3-30b-a3b"):
        assert preset in proc.stderr


@pytest.mark.parametrize("env, message", [
    ({"TRAIN_EP": "8"}, "TRAIN_EP=8 is a Megatron setting: set ENGINE=megatron too"),
    ({"MODEL": "qwen3-30b-a3b", "SP_SIZE": "2"}, "SP_SIZE=2 is FSDP's Ulysses sequence parallelism"),
    ({"ENGINE": "deepspeed"}, "ENGINE=deepspeed: use fsdp"),
])
def test_engine_settings_of_the_other_engine_are_rejected_before_python_starts(env, message):
    proc = run_launcher("math", "--dry-run", **env)
    assert proc.returncode == 1
    assert message in proc.stderr


@pytest.mark.parametrize("env", [{"MODEL": "qwen3-30b-a3b"}, {"ENGINE": "megatron"}])
def test_smoke_profile_refuses_a_model_preset_or_the_megatron_engine(env):
    proc = run_launcher("math", "--smoke", timeout=60, **env)
    assert proc.returncode == 1
    assert "--smoke" in proc.stderr and ("unset MODEL" in proc.stderr or "unset ENGINE" in proc.stderr)
