"""archer/smoke/vllm_cpu.py (the vLLM-on-CPU fixes) is loaded only in the vLLM rehearsal: a GPU run's
``import verl`` and the default smoke profile leave vLLM's linear layers and verl's weight sender and
server adapter as shipped; ``ARCHER_SMOKE_ROLLOUT=vllm`` replaces them. The vLLM parts run where vllm is
installed (.venv-vllm, .ci/run); without vllm the module-loading part still runs."""

from __future__ import annotations

import importlib.util

import pytest

pytestmark = pytest.mark.slow

HAVE_VLLM = importlib.util.find_spec("vllm") is not None


@pytest.fixture(scope="module")
def snapshots(plugin_snapshots) -> dict[str, dict]:
    # the session's fresh-process snapshots (plugin_snapshot_support.py): the GPU path, the default smoke
    # profile and the vLLM rehearsal's
    return {mine: {"vllm_cpu_loaded": plugin_snapshots[theirs]["vllm_cpu_loaded"],
                   "patched": plugin_snapshots[theirs].get("vllm_patched", {})}
            for mine, theirs in (("gpu_path", "gpu_path"), ("smoke_default", "smoke"), ("rehearsal", "rehearsal"))}


def test_gpu_run_and_default_smoke_never_load_the_vllm_cpu_fixes(snapshots):
    for name in ("gpu_path", "smoke_default"):
        assert snapshots[name]["vllm_cpu_loaded"] is False, name
        if HAVE_VLLM:
            assert not any(snapshots[name]["patched"].values()), (name, snapshots[name]["patched"])


def test_vllm_rehearsal_loads_them(snapshots):
    assert snapshots["rehearsal"]["vllm_cpu_loaded"] is True
    if HAVE_VLLM:
        assert all(snapshots["rehearsal"]["patched"].values()), snapshots["rehearsal"]["patched"]
