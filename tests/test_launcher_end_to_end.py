"""The launcher scripts end to end, as a user runs them (bash, a subprocess each): --help, an unknown flag,
a bad setting under --smoke stopping before any set-up, and one real --dry-run of the GRPO baseline script
(PYTHON unset: the launcher finds the repository's .venv) whose stdout is only the config as YAML. Everything
else about the launcher is tested in-process (launcher_support.dry)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from launcher_support import REPO_ROOT, get, run_launcher

VENV_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"


def bare_path():
    """A PATH whose python3 has no verl, if this machine has one, while the repo's CPU venv exists."""
    dirs = [d for d in ("/usr/bin", "/bin") if shutil.which("python3", path=d)]
    if not (VENV_PYTHON.is_file() and dirs):
        return None
    path = ":".join(dirs + ["/usr/sbin", "/sbin"])
    if subprocess.run(["python3", "-c", "import verl"], env={"PATH": path}, capture_output=True).returncode == 0:
        return None
    return path


def test_help_prints_the_usage():
    usage = run_launcher("code", "--help", timeout=60)
    assert usage.returncode == 0, usage.stderr
    assert "usage: bash scripts/run_aspo_code.sh" in usage.stdout
    assert "--dry-run" in usage.stdout and "--smoke" in usage.stdout and "hydra overrides" in usage.stdout


def test_unknown_flag_exits_2_naming_it():
    bad = run_launcher("math", "--dryrun", timeout=60)
    assert bad.returncode == 2
    assert "unknown flag '--dryrun'" in bad.stderr and bad.stdout == ""


def test_bad_setting_under_smoke_stops_before_setting_anything_up(tmp_path):
    venv, ckpt, cache = tmp_path / "venv", tmp_path / "ckpt", tmp_path / "cache"
    # PYTHON unset: a valid run would now create VENV; CKPT_DIR would receive config.yaml and train.log
    proc = run_launcher("math", "--smoke", timeout=60, VENV=str(venv), CKPT_DIR=str(ckpt),
                        ARCHER_CACHE_DIR=str(cache), TOP_P="1.5")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "[run_aspo_math] error: 1 problem(s) in the settings; nothing was started" in proc.stderr
    assert "TOP_P=1.5 is out of range: use a number in (0, 1]" in proc.stderr
    assert not venv.exists() and not ckpt.exists() and not cache.exists()
    assert "smoke assets" not in proc.stderr


@pytest.fixture(scope="module")
def grpo_dry_run(tmp_path_factory):
    """``bash scripts/run_grpo_math.sh --dry-run`` with PYTHON unset, on a PATH whose python3 lacks verl where
    this machine has one (a newcomer after `bash scripts/test.sh`)."""
    path = bare_path()
    env = {"DATA_DIR": str(tmp_path_factory.mktemp("no-data"))}
    if path is not None:
        env["PATH"] = path
    return path, run_launcher("math", "--dry-run", script="run_grpo_math.sh", timeout=600, **env)


def test_grpo_dry_run_prints_only_the_config_as_yaml(grpo_dry_run):
    _, proc = grpo_dry_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    config = yaml.safe_load(proc.stdout)
    assert get(config, "actor_rollout_ref.actor.policy_loss.loss_mode") == "vanilla"
    assert get(config, "trainer.experiment_name") == "grpo-r1-distill-qwen-1.5b-math"
    # logs go to stderr
    assert "archer.dry_run:" not in proc.stdout and "validate_config" not in proc.stdout
    assert "[validate_config] All configuration checks passed" in proc.stderr
    assert "config OK" in proc.stderr


def test_dry_run_without_python_uses_the_repos_cpu_venv_and_says_so(grpo_dry_run):
    path, proc = grpo_dry_run
    if path is None:
        pytest.skip(f"needs the CPU venv at {VENV_PYTHON} and a python3 without verl on this machine")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"using {VENV_PYTHON} (python3 has no verl; set PYTHON to choose)" in proc.stderr
