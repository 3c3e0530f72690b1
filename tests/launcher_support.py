"""Shared helpers of the launcher tests.

* :func:`dry` / :func:`dry_config` / :func:`dry_problems`: the launcher's ``--dry-run`` in-process, as
  ``python -m archer.launch.run --task T --dry-run ARGS`` does it (archer.launch.run): the environment's
  settings checked, the values resolved and checked (archer.launch.resolve), their hydra overrides + ARGS
  through ``archer.launch.dry_run.run``. Each distinct (task, env, args) runs once per session; DATA_DIR is
  one empty session temp dir unless ENV sets it (a fresh clone without data). ENV is the whole environment
  the launcher sees: nothing of the caller's shell leaks in.
* :func:`smoke_launch`: what ``--smoke`` applies (its environment and overrides), in-process, without the
  venv set-up, the assets or the run.
* :func:`run_launcher`: ``bash scripts/run_aspo_<task>.sh`` as a subprocess, for the few end-to-end tests.
* small local inputs (a verl-format parquet, a config+tokenizer-only model dir) and config readers.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import io
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from archer.launch.settings import VARIABLES

REPO_ROOT = Path(__file__).resolve().parents[1]

# every environment variable the launcher reads: its declared settings (archer/launch/settings.py) and the
# few it reads besides them. Cleared for the subprocess runs, so that the caller's shell cannot change a test
LAUNCHER_VARS = tuple(s.var for s in VARIABLES) + (
    "WANDB_API_KEY", "WANDB_MODE", "REPO_ROOT", "MEGATRON", "RAY_ADDRESS", "VENV", "VLLM_VENV",
    "ARCHER_SMOKE_SETUP_SECONDS", "ARCHER_ALLOW_RESUME_MISMATCH",
)


def launcher_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARS}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


def run_launcher(task: str, *args: str, timeout: int = 300, script: Optional[str] = None,
                 **env: str) -> subprocess.CompletedProcess:
    """``bash scripts/run_aspo_<task>.sh ARGS`` (or ``scripts/<script>``) with ENV on top of a cleaned
    environment."""
    return subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / (script or f"run_aspo_{task}.sh")), *args],
        cwd=REPO_ROOT,
        env=launcher_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# ---------------------------------------------------------------------------------------------------
# the dry run, in-process

_EMPTY_DATA_DIR: list[Path] = []


def empty_data_dir() -> Path:
    """The session's empty DATA_DIR of the shared dry runs (removed when the session's process exits)."""
    if not _EMPTY_DATA_DIR:
        path = Path(tempfile.mkdtemp(prefix="archer-dry-run-data-"))
        atexit.register(shutil.rmtree, path, True)
        _EMPTY_DATA_DIR.append(path)
    return _EMPTY_DATA_DIR[0]


@dataclass(frozen=True)
class DryRun:
    """One in-process dry run: the resolved config (None when rejected), the log (archer's log records and
    what verl printed, one line each) and, when rejected, the error text and the CLI's exit status."""

    config: Optional[dict]
    log: str
    problems: Optional[str]
    exit_code: int
    overrides: tuple[str, ...]


_DRY_RUNS: dict[tuple, DryRun] = {}


class _Lines(logging.Handler):
    def __init__(self, out: io.StringIO):
        super().__init__(logging.DEBUG)
        self.out = out

    def emit(self, record: logging.LogRecord) -> None:
        self.out.write(record.getMessage() + "\n")


@contextlib.contextmanager
def _captured(out: io.StringIO):
    """archer's log records (INFO and up) and everything printed on stdout, into ``out``."""
    handler = _Lines(out)
    loggers = [logging.getLogger(name) for name in ("archer", "archer.dry_run")]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.INFO)
    loggers[0].addHandler(handler)
    dry_logger = loggers[1]
    own = not dry_logger.propagate  # setup_logging elsewhere may have cut it off from "archer"
    if own:
        dry_logger.addHandler(handler)
    try:
        with contextlib.redirect_stdout(out):
            yield
    finally:
        loggers[0].removeHandler(handler)
        if own:
            dry_logger.removeHandler(handler)
        for lg, level in saved:
            lg.setLevel(level)


def _key(task: str, env: Mapping[str, str], args: Sequence[str]) -> tuple:
    return task, tuple(sorted(env.items())), tuple(args)


def dry(task: str, env: Optional[Mapping[str, str]] = None, args: Sequence[str] = ()) -> DryRun:
    """``--dry-run`` of the ``task`` launcher with exactly ENV as its environment (DATA_DIR defaults to the
    session's empty dir) and ARGS as the trailing hydra overrides; cached for the session (do not mutate)."""
    env = {"DATA_DIR": str(empty_data_dir()), **(env or {})}
    key = _key(task, env, args)
    if key not in _DRY_RUNS:
        _DRY_RUNS[key] = _dry(task, env, list(args))
    return _DRY_RUNS[key]


def _dry(task: str, env: dict[str, str], args: list[str]) -> DryRun:
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from archer.launch import dry_run, resolve
    from archer.launch.run import Launcher

    out, overrides = io.StringIO(), []
    launcher = Launcher(task, ["--dry-run", *args])
    with _captured(out):
        try:
            # archer.launch.run.Launcher.main's --dry-run path, the final exec of python -m archer.launch.dry_run
            # replaced by its run() in this process
            launcher._stop_if(resolve.environment_problems(env, smoke=False))
            values = launcher.values(env)
            overrides = resolve.overrides(values) + args
            cfg = dry_run.run(overrides, task=task)
            config = OmegaConf.to_container(cfg, resolve=True)
        except (resolve.LaunchError, dry_run.DryRunError) as exc:
            return DryRun(None, out.getvalue(), str(exc), exc.exit_code, tuple(overrides))
        except (HydraException, OmegaConfBaseException) as exc:  # as dry_run's CLI reports them: exit 2
            return DryRun(None, out.getvalue(), f"the overrides do not compose: {type(exc).__name__}: {exc}", 2,
                          tuple(overrides))
    return DryRun(config, out.getvalue(), None, 0, tuple(overrides))


def dry_config(task: str, env: Optional[Mapping[str, str]] = None, args: Sequence[str] = ()) -> dict:
    """The resolved config of a dry run that must pass (a copy: yours to change)."""
    done = dry(task, env, args)
    if done.problems is not None:
        raise AssertionError(f"the {task} dry run with {env or {}} {list(args)} was rejected:\n{done.problems}")
    return copy.deepcopy(done.config)


def dry_problems(task: str, env: Optional[Mapping[str, str]] = None, args: Sequence[str] = ()) -> str:
    """The error text of a dry run that must be rejected."""
    done = dry(task, env, args)
    if done.problems is None:
        raise AssertionError(f"the {task} dry run with {env or {}} {list(args)} passed; expected it to be rejected")
    return done.problems


# ---------------------------------------------------------------------------------------------------
# --smoke, in-process


@dataclass(frozen=True)
class SmokeLaunch:
    """What ``--smoke --dry-run`` would hand to the dry run: its hydra overrides, the environment it set,
    and the asset settings it asked for."""

    overrides: list[str]
    environ: dict[str, str]
    asset_settings: Any


def smoke_launch(task: str, env: Optional[Mapping[str, str]] = None, args: Sequence[str] = (),
                 tmp: Optional[Path] = None) -> SmokeLaunch:
    """``archer.launch.run --task T --smoke --dry-run ARGS`` with ENV (PYTHON = this interpreter, so no venv
    set-up) on a cleaned environment; the assets are not built (a stand-in manifest) and the dry run's exec is
    replaced by recording its overrides. The process environment is restored afterwards."""
    from archer.launch import run
    from archer.smoke import assets, cpu_settings

    tmp = Path(tmp or tempfile.mkdtemp(prefix="archer-smoke-launch-"))
    forced = {s.name for s in cpu_settings.SETTINGS if s.is_env}
    base = {k: v for k, v in launcher_env().items() if k not in forced and k not in run.SMOKE_WORKER_ENV}
    base.update({"PYTHON": sys.executable, "CKPT_DIR": str(tmp / "ckpt"), **(env or {})})
    asked: list = []

    def fake_assets(settings, root=None):
        asked.append(settings)
        manifest = {"model": str(tmp / "model"), "data_dir": str(tmp / "data"),
                    "train_file": str(tmp / "data" / "train.parquet"), "prompt_length": 64, "response_length": 72}
        return tmp / "assets", manifest, False

    launcher = run.Launcher(task, ["--smoke", "--dry-run", *args])
    recorded: list[list[str]] = []
    launcher.dry_run = lambda overrides: recorded.append(list(overrides)) or 0
    saved_environ, saved_assets = dict(os.environ), assets.ensure_assets
    os.environ.clear()
    os.environ.update(base)
    assets.ensure_assets = fake_assets
    try:
        rc = launcher.main(["--smoke", "--dry-run", *args])
        environ = dict(os.environ)
    finally:
        assets.ensure_assets = saved_assets
        os.environ.clear()
        os.environ.update(saved_environ)
    assert rc == 0 and recorded, f"the smoke launch returned {rc}"
    return SmokeLaunch(recorded[0], environ, asked[0] if asked else None)


# ---------------------------------------------------------------------------------------------------
# config readers and inputs

# keys of a resolved config named after the experiment (they differ between two runs of other names)
RUN_NAME_KEYS = {
    "trainer.experiment_name",
    "actor_rollout_ref.rollout.trace.experiment_name",  # verl interpolates trainer.experiment_name
    "trainer.default_local_dir",
    "trainer.validation_data_dir",
    "ray_kwargs.ray_init.runtime_env.env_vars.TENSORBOARD_DIR",
}


def flatten(node, prefix: str = "") -> dict[str, Any]:
    """A nested dict as {dotted key path: leaf value}."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: node}


def get(config: dict, key: str) -> Any:
    """The value at a dotted key path of a plain nested dict; KeyError names the missing part."""
    node = config
    for i, part in enumerate(key.split(".")):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"{'.'.join(key.split('.')[: i + 1])} is not in the printed config")
        node = node[part]
    return node


def write_verl_parquet(path: Path, data_source: str, answers: list[str]) -> Path:
    """A small prepared math file in the shared data contract format."""
    import pandas as pd

    rows = [
        {
            "data_source": data_source,
            "prompt": [{"role": "user", "content": f"What is {a} + 0? Put the answer in \\boxed{{}}."}],
            "ability": "math",
            "reward_model": {"ground_truth": a, "style": "rule"},
            "extra_info": {"index": i, "split": "test"},
        }
        for i, a in enumerate(answers)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(path)
    return path


def build_config_only_model(model_dir: Path) -> Path:
    """A local model dir with what verl's HFModelConfig reads (config.json, tokenizer), no weights; its context
    (max_position_embeddings) fits the launchers' default prompt + response lengths, as a real model's does."""
    from transformers import Qwen2Config

    from verl_cpu_support import save_word_level_tokenizer

    save_word_level_tokenizer(model_dir)
    Qwen2Config(
        vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=131072, pad_token_id=0, eos_token_id=1, bos_token_id=2,
        architectures=["Qwen2ForCausalLM"],
    ).save_pretrained(model_dir)
    return model_dir
