"""Launcher values are overridable: an environment variable changes the printed value, a trailing hydra
override beats both the default and the environment variable, and bad overrides fail with a clear message."""

from __future__ import annotations

import pytest
import yaml

from launcher_support import REPO_ROOT, build_config_only_model, dry_runs, get, run_launcher, write_verl_parquet


VENV_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """This file's three dry runs, side by side (launcher_support.dry_runs)."""
    tmp = tmp_path_factory.mktemp("overrides")
    model = build_config_only_model(tmp / "model")
    data = tmp / "data"
    # one default batch (TRAIN_BATCH_SIZE=64) at least: the dry run refuses a file with fewer rows
    write_verl_parquet(data / "train" / "math.parquet", "deepscaler", [str(i) for i in range(64)])
    write_verl_parquet(data / "eval" / "aime2024.parquet", "aime2024", ["4", "5"])
    env = dict(LR="2e-6", SAVE_FREQ="7", MAX_RESPONSE_LENGTH="4096", MODEL_PATH=str(model), DATA_DIR=str(data),
               VAL_SETS="aime2024", WANDB_MODE="offline")
    requests = {
        "overridden": ("run_aspo_math.sh", env, ["trainer.save_freq=5", "actor_rollout_ref.rollout.n=8"]),
        "unknown_key": ("run_aspo_code.sh", {}, ["trainer.no_such_key=1"]),
        "invalid_value": ("run_aspo_math.sh", {}, ["actor_rollout_ref.actor.policy_loss.dual_clip_c=0.5"]),
    }
    if bare_path() is not None:
        requests["no_python"] = ("run_aspo_math.sh", {"PATH": bare_path()})
    return dry_runs(requests), model, data


def bare_path():
    """A PATH whose python3 has no verl, if this machine has one, while the repo's CPU venv exists."""
    import shutil
    import subprocess

    dirs = [d for d in ("/usr/bin", "/bin") if shutil.which("python3", path=d)]
    if not (VENV_PYTHON.is_file() and dirs):
        return None
    path = ":".join(dirs + ["/usr/sbin", "/sbin"])
    if subprocess.run(["python3", "-c", "import verl"], env={"PATH": path}, capture_output=True).returncode == 0:
        return None
    return path


@pytest.fixture(scope="module")
def overridden(runs):
    procs, model, data = runs
    proc = procs["overridden"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    return yaml.safe_load(proc.stdout), proc.stderr, model, data


def test_environment_variable_changes_the_printed_value(overridden):
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
    config, stderr, model, _ = overridden
    assert get(config, "actor_rollout_ref.model.path") == str(model)
    assert f"model {model}: qwen2, vocab " in stderr  # verl built HFModelConfig from the local dir


def test_existing_data_files_are_validated(overridden):
    pytest.importorskip("archer.data", reason="archer.data (data preparation) is not installed yet")
    _, stderr, _, data = overridden
    assert f"{data / 'train' / 'math.parquet'}: 64 rows, sources {{'deepscaler': 64}}" in stderr
    assert f"{data / 'eval' / 'aime2024.parquet'}: 2 rows, sources {{'aime2024': 2}}" in stderr


def test_unknown_key_fails_with_hydras_message(runs):
    proc = runs[0]["unknown_key"]
    assert proc.returncode == 2
    assert "Could not override 'trainer.no_such_key'" in proc.stderr
    assert proc.stdout == ""


def test_invalid_value_fails_naming_the_key(runs):
    proc = runs[0]["invalid_value"]
    assert proc.returncode == 2  # bad input (archer/cli.py's convention)
    assert "actor_rollout_ref.actor.policy_loss.dual_clip_c must be a number > 1, got 0.5" in proc.stderr
    assert proc.stdout == ""


def test_unknown_flag_and_help():
    bad = run_launcher("math", "--dryrun", timeout=30)
    assert bad.returncode == 1 and "unknown flag '--dryrun'" in bad.stderr
    usage = run_launcher("code", "--help", timeout=30)
    assert usage.returncode == 0 and "--dry-run" in usage.stdout and "hydra overrides" in usage.stdout


def test_real_run_on_a_node_without_vllm_prints_the_install_command():
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed here: the install check would pass")
    proc = run_launcher("code", timeout=60)
    assert proc.returncode == 1
    assert "missing on this node: vllm" in proc.stderr
    assert "bash scripts/install_gpu.sh" in proc.stderr
    assert "ARCHER_AUTO_INSTALL=1" in proc.stderr



def test_dry_run_without_python_uses_the_repos_cpu_venv(runs):
    """A newcomer after `bash scripts/test.sh`: PYTHON unset and a python3 without verl on PATH."""
    if "no_python" not in runs[0]:
        pytest.skip(f"needs the CPU venv at {VENV_PYTHON} and a python3 without verl on this machine")
    proc = runs[0]["no_python"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"using {VENV_PYTHON}" in proc.stderr
