"""Launcher values are overridable: an environment variable changes the resolved value, a trailing hydra
override beats both the default and the environment variable, and bad overrides fail with a clear message.
In-process dry runs (launcher_support.dry); the CLI's flags and interpreter choice:
tests/test_launcher_end_to_end.py."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from archer.launch import resolve, run
from launcher_support import REPO_ROOT, build_config_only_model, dry, get, write_verl_parquet


@pytest.fixture(scope="module")
def overridden(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("overrides")
    model = build_config_only_model(tmp / "model")
    data = tmp / "data"
    # one default batch (TRAIN_BATCH_SIZE=64) at least: the dry run refuses a file with fewer rows
    write_verl_parquet(data / "train" / "math.parquet", "deepscaler", [str(i) for i in range(64)])
    write_verl_parquet(data / "eval" / "aime2024.parquet", "aime2024", ["4", "5"])
    env = dict(LR="2e-6", SAVE_FREQ="7", MAX_RESPONSE_LENGTH="4096", MODEL_PATH=str(model), DATA_DIR=str(data),
               VAL_SETS="aime2024", WANDB_MODE="offline")
    done = dry("math", env, ["trainer.save_freq=5", "actor_rollout_ref.rollout.n=8"])
    assert done.exit_code == 0, done.problems
    return done.config, done.log, model, data


def test_environment_variable_changes_the_resolved_value(overridden):
    config, *_ = overridden
    assert get(config, "actor_rollout_ref.actor.optim.lr") == 2e-6
    assert get(config, "trainer.logger") == ["console", "wandb", "tensorboard"]


def test_length_variable_also_moves_the_values_derived_from_it(overridden):
    config, *_ = overridden
    assert get(config, "data.max_response_length") == 4096
    assert get(config, "reward.reward_kwargs.max_resp_len") == 4096
    assert get(config, "actor_rollout_ref.rollout.max_model_len") == 2048 + 4096
    assert get(config, "actor_rollout_ref.actor.ppo_max_token_len_per_gpu") == 2048 + 4096


def test_trailing_hydra_override_wins_over_default_and_environment(overridden):
    config, *_ = overridden
    assert get(config, "trainer.save_freq") == 5  # SAVE_FREQ=7 in the environment
    assert get(config, "actor_rollout_ref.rollout.n") == 8


def test_local_model_dir_is_loaded_through_verls_model_config(overridden):
    config, log, model, _ = overridden
    assert get(config, "actor_rollout_ref.model.path") == str(model)
    assert f"model {model}: qwen2, vocab " in log  # verl built HFModelConfig from the local dir


def test_existing_data_files_are_validated(overridden):
    _, log, _, data = overridden
    assert f"{data / 'train' / 'math.parquet'}: 64 rows, sources {{'deepscaler': 64}}" in log
    assert f"{data / 'eval' / 'aime2024.parquet'}: 2 rows, sources {{'aime2024': 2}}" in log


def test_unknown_key_fails_with_hydras_message():
    done = dry("code", {}, ["trainer.no_such_key=1"])
    assert done.exit_code == 2 and done.config is None
    assert "Could not override 'trainer.no_such_key'" in done.problems


def test_invalid_value_fails_naming_the_key():
    done = dry("math", {}, ["actor_rollout_ref.actor.policy_loss.dual_clip_c=0.5"])
    assert done.exit_code == 2 and done.config is None  # bad input (archer/cli.py's convention)
    assert "actor_rollout_ref.actor.policy_loss.dual_clip_c must be a number > 1, got 0.5" in done.problems


def test_real_run_on_a_node_without_vllm_prints_the_install_command(monkeypatch):
    """The GPU run's first step (archer.launch.run.Launcher.ensure_software), on this CPU machine."""
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed here: the install check would pass")
    monkeypatch.setenv("PYTHON", sys.executable)
    monkeypatch.delenv("ARCHER_AUTO_INSTALL", raising=False)
    values = resolve.resolve("code", {}, repo=str(REPO_ROOT))
    with pytest.raises(run.Failed) as failed:  # exit 1: the work failed, the input was fine
        run.Launcher("code").ensure_software(values)
    message = str(failed.value)
    assert "missing on this node: vllm" in message
    assert "bash scripts/install_gpu.sh" in message
    assert "ARCHER_AUTO_INSTALL=1" in message
