"""The dry run stops on every configuration mistake the CPU can see, naming the variable or key, the value
and the fix, and reports them together: out-of-range values, typos in fixed choices, settings that do not
fit together, data that does not fit the run, run state, and settings the loss ignores. Through
``archer.launch.dry_run.run`` (what ``--dry-run`` and the real run's preflight call), in-process."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from archer.data.rows import make_row
from archer.launch import dry_run
from verl_cpu_support import build_tiny_model


def write_parquet(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def rows(source: str, ability: str, n: int) -> list[dict]:
    return [make_row(source, f"question {i}?", ability, str(i), {"split": "train", "index": i}) for i in range(n)]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mistakes")
    data = tmp / "data"
    return {
        "model": str(build_tiny_model(tmp / "model")),
        "math": str(write_parquet(data / "train" / "math.parquet", rows("deepscaler", "math", 64))),
        "small": str(write_parquet(data / "small" / "math.parquet", rows("deepscaler", "math", 3))),
        "code": str(write_parquet(data / "other" / "code.parquet", rows("archer2_code", "code", 64))),
        "eval": str(write_parquet(data / "eval" / "math500.parquet", rows("math500", "math", 64))),
        "ckpt": str(tmp / "ckpt"),
    }


def base(world, *extra: str) -> list[str]:
    return [
        f"data.train_files=[{world['math']}]", f"data.val_files=[{world['eval']}]",
        f"actor_rollout_ref.model.path={world['model']}", f"trainer.default_local_dir={world['ckpt']}",
        "data.train_batch_size=8", "actor_rollout_ref.actor.ppo_mini_batch_size=4", "actor_rollout_ref.rollout.n=4",
        "data.max_prompt_length=16", "data.max_response_length=32",
        *extra,
    ]


def rejected(world, *extra: str, task: str = "math") -> str:
    with pytest.raises(dry_run.DryRunError) as raised:
        dry_run.run(base(world, *extra), task=task)
    return str(raised.value)


def test_the_base_of_these_cases_passes(world):
    dry_run.run(base(world), task="math")


@pytest.mark.parametrize(
    "override, named",
    [
        ("actor_rollout_ref.actor.clip_ratio_high=1.5", "clip_ratio_high=1.5"),
        ("actor_rollout_ref.actor.clip_ratio_low=-0.1", "clip_ratio_low=-0.1"),
        ("actor_rollout_ref.actor.kl_loss_coef=-0.001", "KL_LOSS_COEF"),
        ("actor_rollout_ref.rollout.gpu_memory_utilization=0", "ROLLOUT_GPU_MEMORY_UTILIZATION"),
        ("actor_rollout_ref.rollout.gpu_memory_utilization=1.2", "ROLLOUT_GPU_MEMORY_UTILIZATION"),
        ("actor_rollout_ref.rollout.top_p=0", "TOP_P"),
        ("actor_rollout_ref.actor.optim.clip_grad=0", "GRAD_CLIP"),
        ("actor_rollout_ref.actor.ppo_epochs=0", "PPO_EPOCHS"),
        ("actor_rollout_ref.rollout.temperature=0", "TEMPERATURE (actor_rollout_ref.rollout.temperature)"),
    ],
)
def test_out_of_range_values_name_the_variable_and_the_range(world, override, named):
    message = rejected(world, override)
    assert named in message and ("range" in message or "use a number" in message), message


@pytest.mark.parametrize(
    "override, named, choice",
    [
        ("algorithm.adv_estimator=grop", "ADV_ESTIMATOR", "grpo"),
        ("actor_rollout_ref.actor.kl_loss_type=low_var", "KL_LOSS_TYPE", "low_var_kl"),
        ("trainer.resume_mode=autoo", "RESUME_MODE", "resume_path"),
        ("trainer.logger=[console,wanb]", "LOGGER", "wandb"),
        ("actor_rollout_ref.actor.loss_agg_mode=token_mean", "LOSS_AGG_MODE", "token-mean"),
    ],
)
def test_typos_in_fixed_choices_list_the_valid_ones(world, override, named, choice):
    message = rejected(world, override)
    assert named in message and choice in message, message


def test_combinations_that_cannot_run(world):
    message = rejected(
        world,
        "actor_rollout_ref.actor.ppo_max_token_len_per_gpu=20",  # below 16 + 32
        "actor_rollout_ref.rollout.max_model_len=40",
        "actor_rollout_ref.rollout.tensor_model_parallel_size=3",
        "trainer.n_gpus_per_node=8",
    )
    assert "PPO_MAX_TOKEN_LEN_PER_GPU" in message and "at least 48" in message
    assert "ROLLOUT_MAX_MODEL_LEN" in message
    assert "ROLLOUT_TP" in message and "does not tile" in message
    assert message.startswith("3 problem(s)") or "problem(s)" in message  # reported together


def test_one_response_with_group_filtering_drops_every_group(world):
    message = rejected(world, "actor_rollout_ref.rollout.n=1", "algorithm.filter_groups.enable=true")
    assert "N_RESPONSES" in message and "FILTER_GROUPS" in message


def test_response_longer_than_the_model_context(world):
    # the tiny model's max_position_embeddings is 64
    message = rejected(world, "data.max_response_length=100", "actor_rollout_ref.actor.ppo_max_token_len_per_gpu=200",
                       "actor_rollout_ref.ref.log_prob_max_token_len_per_gpu=200",
                       "actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu=200",
                       "actor_rollout_ref.rollout.max_model_len=200", "actor_rollout_ref.rollout.max_num_batched_tokens=200")
    assert "max_position_embeddings=64" in message, message


def test_data_of_another_task_an_eval_set_or_too_few_rows(world):
    assert "another task" in rejected(world, f"data.train_files=[{world['code']}]", task="math")
    message = rejected(world, f"data.train_files=[{world['eval']}]")
    assert "math500" in message and "leak" in message
    assert "fewer than one batch" in rejected(world, f"data.train_files=[{world['small']}]")


def test_a_prompt_key_that_is_not_a_column(world):
    message = rejected(world, "data.prompt_key=question")
    assert "data.prompt_key='question'" in message and "columns" in message


def test_a_misspelt_eval_set(world):
    path = str(Path(world["eval"]).with_name("math50.parquet"))
    write_parquet(Path(path), rows("math500", "math", 8))
    message = rejected(world, f"data.val_files=[{path}]")
    assert "'math50'" in message and "math500" in message


def test_run_state_resume_path_and_unwritable_checkpoint_dir(world):
    assert "RESUME_FROM_PATH" in rejected(world, "trainer.resume_mode=resume_path",
                                          "trainer.resume_from_path=/nonexistent/global_step_3")
    assert "CKPT_DIR" in rejected(world, "trainer.default_local_dir=/proc/archer/run")


def test_a_setting_the_loss_ignores_names_the_one_to_use(world):
    message = rejected(world, "actor_rollout_ref.actor.clip_ratio_c=10")
    assert "no effect" in message and "policy_loss.dual_clip_c" in message
