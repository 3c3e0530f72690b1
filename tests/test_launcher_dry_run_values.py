"""The launchers' ``--dry-run`` on CPU (in-process, launcher_support.dry): it passes without data or GPU, and
the resolved config's values are the settings table of the launcher issue (Archer2.0 / paper,
R1-Distill-Qwen-1.5B). That the CLI's stdout is only this config as YAML: tests/test_launcher_end_to_end.py."""

from __future__ import annotations

import pytest

from launcher_support import dry, empty_data_dir, get

# the table, written out by hand: key path in the printed config -> value
TABLE = {
    "actor_rollout_ref.model.path": "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",
    "algorithm.adv_estimator": "grpo",
    "data.train_batch_size": 64,
    "actor_rollout_ref.actor.ppo_mini_batch_size": 16,
    "actor_rollout_ref.rollout.n": 16,
    "actor_rollout_ref.rollout.temperature": 1.0,
    "actor_rollout_ref.actor.ppo_epochs": 3,
    "actor_rollout_ref.actor.optim.lr": 1e-6,
    "actor_rollout_ref.actor.optim.lr_warmup_steps": 10,
    "actor_rollout_ref.actor.optim.weight_decay": 0.1,
    "actor_rollout_ref.actor.optim.clip_grad": 1.0,  # what verl 0.9.1's FSDP engine clips with
    "actor_rollout_ref.actor.grad_clip": 1.0,
    "data.max_prompt_length": 2048,
    "data.max_response_length": 32768,
    "actor_rollout_ref.actor.use_kl_loss": True,
    "actor_rollout_ref.actor.kl_loss_coef": 0.001,
    "actor_rollout_ref.actor.kl_loss_type": "low_var_kl",
    "algorithm.use_kl_in_reward": False,
    "actor_rollout_ref.actor.entropy_coeff": 0,
    "actor_rollout_ref.actor.loss_agg_mode": "token-mean",
    # ASPO, archer2 preset: eps 0.2, 0.4 for high-entropy tokens, c = 3
    "actor_rollout_ref.actor.policy_loss._target_": "archer.plugin.config.AspoPolicyLossConfig",
    "actor_rollout_ref.actor.policy_loss.loss_mode": "aspo",
    "actor_rollout_ref.actor.clip_ratio_low": 0.2,
    "actor_rollout_ref.actor.clip_ratio_high": 0.2,
    "actor_rollout_ref.actor.policy_loss.high_entropy_clip_ratio_low": 0.4,
    "actor_rollout_ref.actor.policy_loss.high_entropy_clip_ratio_high": 0.4,
    "actor_rollout_ref.actor.policy_loss.entropy_quantile": 0.8,
    "actor_rollout_ref.actor.policy_loss.dual_clip_c": 3.0,
    "actor_rollout_ref.actor.calculate_entropy": True,
    # overlong buffer 16 tokens, factor 1.0, through verl's DAPO reward manager
    "reward.reward_manager.name": "dapo",
    "reward.reward_kwargs.overlong_buffer_cfg.enable": True,
    "reward.reward_kwargs.overlong_buffer_cfg.len": 16,
    "reward.reward_kwargs.overlong_buffer_cfg.penalty_factor": 1.0,
    "reward.reward_kwargs.max_resp_len": 32768,
    "reward.custom_reward_function.path": "pkg://archer.reward",
    "reward.custom_reward_function.name": "compute_score",
    # group filtering of all-correct / all-wrong groups
    "algorithm.filter_groups.enable": True,
    "algorithm.filter_groups.metric": "acc",
    "algorithm.filter_groups.max_num_gen_batches": 10,
    # vLLM rollouts
    "actor_rollout_ref.rollout.name": "vllm",
    "actor_rollout_ref.rollout.tensor_model_parallel_size": 1,
    "actor_rollout_ref.rollout.gpu_memory_utilization": 0.75,
    "actor_rollout_ref.rollout.enable_chunked_prefill": True,
    "actor_rollout_ref.rollout.max_model_len": 34816,
    # memory: dynamic batches capped at prompt + response tokens per GPU
    "actor_rollout_ref.actor.use_dynamic_bsz": True,
    "actor_rollout_ref.actor.ppo_max_token_len_per_gpu": 34816,
    "actor_rollout_ref.ref.log_prob_max_token_len_per_gpu": 34816,
    "actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu": 34816,
    # trainer
    "trainer.n_gpus_per_node": 8,
    "trainer.nnodes": 1,
    "trainer.save_freq": 10,
    # keep the last 3 checkpoints (verl keeps all by default; ~21 GB each for the 1.5B model with Adam states)
    "trainer.max_actor_ckpt_to_keep": 3,
    "trainer.max_critic_ckpt_to_keep": 3,
    "trainer.resume_mode": "auto",
    "trainer.logger": ["console", "tensorboard"],  # wandb is added when WANDB_API_KEY / WANDB_MODE is set
    "trainer.use_v1": True,
}

TASKS = {
    "math": {
        "trainer.experiment_name": "aspo-r1-distill-qwen-1.5b-math",
        "train": "train/math.parquet",
        "val": ["aime2024", "aime2025", "amc2023", "math500", "minerva", "olympiadbench"],
    },
    "code": {
        "trainer.experiment_name": "aspo-r1-distill-qwen-1.5b-code",
        "train": "train/code.parquet",
        "val": ["livecodebench_v5"],
    },
}


@pytest.fixture(scope="module", params=sorted(TASKS))
def dry_run(request):
    # DATA_DIR empty: a fresh clone without data (shared with the other launcher tests)
    return request.param, empty_data_dir(), dry(request.param)


def test_dry_run_passes_without_data_or_gpu(dry_run):
    task, _, done = dry_run
    assert done.exit_code == 0 and done.problems is None, done.problems


def test_dry_run_runs_verls_validation_and_logs_what_it_checked(dry_run):
    _, _, done = dry_run
    assert isinstance(done.config, dict) and "actor_rollout_ref" in done.config
    assert "[validate_config] All configuration checks passed" in done.log
    assert "verl validation passed; instantiated actor_rollout_ref.actor" in done.log


def test_dry_run_config_has_every_value_of_the_settings_table(dry_run):
    _, _, done = dry_run
    config = done.config
    wrong = {key: get(config, key) for key, value in TABLE.items() if get(config, key) != value}
    assert not wrong, {key: (got, TABLE[key]) for key, got in wrong.items()}


def test_dry_run_uses_the_task_data_files_and_names(dry_run):
    task, data_dir, done = dry_run
    config = done.config
    expected = TASKS[task]
    assert get(config, "trainer.experiment_name") == expected["trainer.experiment_name"]
    assert get(config, "data.train_files") == [str(data_dir / expected["train"])]
    assert get(config, "data.val_files") == [str(data_dir / "eval" / f"{n}.parquet") for n in expected["val"]]


def test_dry_run_names_the_prepare_commands_for_missing_data(dry_run):
    task, data_dir, done = dry_run
    assert f"python -m archer.data prepare --suite {task} --out-dir {data_dir}\n" in done.log
    sets = ",".join(TASKS[task]["val"])
    assert f"python -m archer.data prepare --suite eval --out-dir {data_dir} --sets {sets}\n" in done.log
    assert not any(data_dir.iterdir()), "a dry run must not write data"
