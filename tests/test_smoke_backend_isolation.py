"""The smoke CPU backend exists only where the smoke profile asks for it: a plain ``import verl`` with
archer installed (the GPU path) imports nothing of ``archer.smoke`` and leaves verl's platform, engine and
rollout registries and the patched functions exactly as verl alone has them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

# imports verl, then the modules whose registries the backend fills, and prints what they hold
SNAPSHOT = r"""
import json, os, sys
import verl
import verl.utils.distributed as distributed
import verl.utils.fsdp_utils as fsdp_utils
import verl.workers.engine  # registers verl's engines
from verl.plugin.platform import PlatformRegistry
from verl.workers.engine.base import EngineRegistry
from verl.workers.rollout import base as rollout_base
from verl.workers.rollout.replica import RolloutReplicaRegistry
print(json.dumps({
    "smoke_modules": sorted(m for m in sys.modules if m.startswith("archer.smoke")),
    "archer_plugin_loaded": "archer.plugin" in sys.modules,
    "platforms": sorted(PlatformRegistry.registered_names()),
    "engines": {t: {b: sorted(map(str, keys)) for b, keys in backends.items()}
                for t, backends in EngineRegistry._engines.items()},
    "rollouts": sorted(map(str, rollout_base._ROLLOUT_REGISTRY)),
    "replicas": sorted(RolloutReplicaRegistry._registry),
    "process_group_fn": distributed.initialize_global_process_group_ray.__module__,
    "process_group_patched": hasattr(distributed.initialize_global_process_group_ray, "__wrapped__"),
    "offload_policy": fsdp_utils.CPUOffloadPolicy.__module__ if fsdp_utils.CPUOffloadPolicy else None,
    "engine_device_env": os.environ.get("VERL_ENGINE_DEVICE"),
}))
"""

SMOKE_ENV = ("VERL_USE_EXTERNAL_MODULES", "VERL_PLATFORM", "VERL_ENGINE_DEVICE", "VERL_USE_EXTERNAL_PLUGINS",
             "ARCHER_SMOKE_REWARD_TRACE")


def _start_snapshot(**env: str) -> subprocess.Popen:
    clean = {k: v for k, v in os.environ.items() if k not in SMOKE_ENV}
    clean.update(env)
    return subprocess.Popen([sys.executable, "-c", SNAPSHOT], env=clean, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _result(proc: subprocess.Popen) -> dict:
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-3000:]
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def snapshots() -> dict[str, dict]:
    # three fresh interpreters, side by side (each mostly imports verl)
    procs = {
        "gpu_path": _start_snapshot(),  # archer installed, its plugin loaded by verl, no smoke env
        "verl_alone": _start_snapshot(VERL_USE_EXTERNAL_PLUGINS="none"),
        "smoke": _start_snapshot(VERL_USE_EXTERNAL_MODULES="archer.smoke.backend", VERL_PLATFORM="cpu"),
    }
    return {name: _result(proc) for name, proc in procs.items()}


def test_plain_import_verl_loads_archer_but_not_the_smoke_backend(snapshots):
    gpu = snapshots["gpu_path"]
    assert gpu["archer_plugin_loaded"]
    assert gpu["smoke_modules"] == []
    assert gpu["engine_device_env"] is None


def test_plain_import_verl_leaves_registries_and_functions_as_verl_alone(snapshots):
    gpu, alone = dict(snapshots["gpu_path"]), dict(snapshots["verl_alone"])
    for snap in (gpu, alone):
        snap.pop("archer_plugin_loaded")
    assert gpu == alone
    assert "cpu_transformers" not in gpu["replicas"]
    assert not gpu["process_group_patched"]


def test_smoke_env_installs_the_backend(snapshots):
    """Control: the same snapshot sees the backend when the smoke environment asks for it."""
    smoke, gpu = snapshots["smoke"], snapshots["gpu_path"]
    assert "archer.smoke.backend" in smoke["smoke_modules"]
    assert "cpu" in smoke["platforms"] and "cpu" not in gpu["platforms"]
    assert "cpu_transformers" in smoke["replicas"]
    assert smoke["process_group_patched"] and smoke["offload_policy"] == "archer.smoke.patches"
    assert smoke["engine_device_env"] == "cuda"
