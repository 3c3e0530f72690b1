"""Environment variables handed to Ray workers (``++ray_kwargs.ray_init.runtime_env.env_vars.*``) stay
strings through hydra, whatever they look like: Ray rejects env_vars that are not ``Dict[str, str]``."""

from __future__ import annotations

import os
import subprocess

from launcher_support import REPO_ROOT

from archer.launch.dry_run import compose_config

VALUES = {"A_NUMBER": "1", "A_FLOAT": "0.5", "A_BOOL": "true", "A_PATH": "/tmp/x y/z.jsonl",
          "A_QUOTE": "it's", "A_LIST": "[1,2]"}


def _overrides() -> list[str]:
    script = f"source {REPO_ROOT}/scripts/aspo_common.sh; aspo_ray_env_overrides {' '.join(VALUES)} UNSET_VAR"
    env = {**{k: v for k, v in os.environ.items() if k != "UNSET_VAR"}, **VALUES}
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


def test_every_passed_env_var_composes_as_the_same_string():
    overrides = _overrides()
    assert len(overrides) == len(VALUES)  # an unset variable is not passed
    env_vars = compose_config(overrides).ray_kwargs.ray_init.runtime_env.env_vars
    for name, value in VALUES.items():
        assert isinstance(env_vars[name], str) and env_vars[name] == value, (name, env_vars[name])
