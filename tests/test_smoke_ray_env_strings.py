"""Environment variables handed to Ray workers (``++ray_kwargs.ray_init.runtime_env.env_vars.*``,
archer.launch.resolve.ray_env) stay strings through hydra, whatever they look like: Ray rejects env_vars that
are not ``Dict[str, str]``; the smoke launch hands on the worker variables that are set, and no others."""

from __future__ import annotations

from archer.launch import resolve, run
from archer.launch.dry_run import compose_config
from launcher_support import smoke_launch

VALUES = {"A_NUMBER": "1", "A_FLOAT": "0.5", "A_BOOL": "true", "A_PATH": "/tmp/x y/z.jsonl",
          "A_QUOTE": "it's", "A_LIST": "[1,2]"}
PREFIX = "++ray_kwargs.ray_init.runtime_env.env_vars."


def test_every_passed_env_var_composes_as_the_same_string():
    overrides = resolve.ray_env(VALUES)
    assert len(overrides) == len(VALUES)
    env_vars = compose_config(overrides).ray_kwargs.ray_init.runtime_env.env_vars
    for name, value in VALUES.items():
        assert isinstance(env_vars[name], str) and env_vars[name] == value, (name, env_vars[name])


def test_the_smoke_launch_hands_on_the_set_worker_variables_only(tmp_path):
    launched = smoke_launch("math", {"ARCHER_SMOKE_WEIGHT_SYNC_TIMEOUT": "0.5", "OMP_NUM_THREADS": "2"}, tmp=tmp_path)
    handed = {o[len(PREFIX):].split("=", 1)[0]: o.split("=", 1)[1] for o in launched.overrides if o.startswith(PREFIX)}
    assert handed["ARCHER_SMOKE_WEIGHT_SYNC_TIMEOUT"] == "'0.5'" and handed["OMP_NUM_THREADS"] == "'2'"
    assert "ARCHER_SMOKE_FAULT" not in handed  # unset: not passed
    assert set(handed) <= set(run.SMOKE_WORKER_ENV) | {s for s in launched.environ} | {"TENSORBOARD_DIR"}
