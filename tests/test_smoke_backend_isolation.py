"""The smoke CPU backend exists only where the smoke profile asks for it: a plain ``import verl`` with
archer installed (the GPU path) imports nothing of ``archer.smoke`` and leaves verl's platform, engine and
rollout registries and the patched functions exactly as verl alone has them."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


# what the snapshots of a plain `import verl` and of the smoke profile compare (plugin_snapshot_support.py)
def _view(snap: dict) -> dict:
    return {"smoke_modules": snap["smoke_modules"], "engine_device_env": snap["engine_device_env"],
            **snap["registries"]}


@pytest.fixture(scope="module")
def snapshots(plugin_snapshots) -> dict[str, dict]:
    return {name: {**_view(snap), "archer_plugin_loaded": snap["archer_plugin_loaded"]}
            for name, snap in plugin_snapshots.items() if name in ("gpu_path", "verl_alone", "smoke")}


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
