"""archer/smoke/vllm_cpu.py (the vLLM-on-CPU fixes) is loaded only in the vLLM rehearsal: a GPU run's
``import verl`` and the default smoke profile leave vLLM's linear layers and verl's weight sender and
server adapter as shipped; ``ARCHER_SMOKE_ROLLOUT=vllm`` replaces them. The vLLM parts run where vllm is
installed (.venv-vllm, .ci/run); without vllm the module-loading part still runs."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

HAVE_VLLM = importlib.util.find_spec("vllm") is not None

SNAPSHOT = r"""
import importlib.util, json, sys
import verl
out = {"vllm_cpu_loaded": "archer.smoke.vllm_cpu" in sys.modules}
if importlib.util.find_spec("vllm") is not None:
    from vllm.model_executor.layers import linear, vocab_parallel_embedding
    from verl.workers.rollout.vllm_rollout import bucketed_weight_transfer, vllm_rollout
    mark = "__archer_smoke_vllm_cpu__"
    out["patched"] = {
        "linear": hasattr(linear.UnquantizedLinearMethod.process_weights_after_loading, mark),
        "embedding": hasattr(vocab_parallel_embedding.UnquantizedEmbeddingMethod.process_weights_after_loading, mark),
        "sender": hasattr(bucketed_weight_transfer.BucketedWeightSender._init_socket, mark),
        "server_adapter": hasattr(vllm_rollout.ServerAdapter.update_weights, mark),
    }
print(json.dumps(out))
"""

SMOKE_ENV = ("VERL_USE_EXTERNAL_MODULES", "VERL_PLATFORM", "VERL_ENGINE_DEVICE", "ARCHER_SMOKE_ROLLOUT",
             "ARCHER_SMOKE_FAULT")
SMOKE = {"VERL_USE_EXTERNAL_MODULES": "archer.smoke.backend", "VERL_PLATFORM": "cpu"}


def _start(**env: str) -> subprocess.Popen:
    clean = {k: v for k, v in os.environ.items() if k not in SMOKE_ENV}
    clean.update(env)
    return subprocess.Popen([sys.executable, "-c", SNAPSHOT], env=clean, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def snapshots() -> dict[str, dict]:
    procs = {"gpu_path": _start(), "smoke_default": _start(**SMOKE),
             "rehearsal": _start(**SMOKE, ARCHER_SMOKE_ROLLOUT="vllm")}
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=400)
        assert proc.returncode == 0, f"{name}: {stderr[-3000:]}"
        out[name] = json.loads(stdout.strip().splitlines()[-1])
    return out


def test_gpu_run_and_default_smoke_never_load_the_vllm_cpu_fixes(snapshots):
    for name in ("gpu_path", "smoke_default"):
        assert snapshots[name]["vllm_cpu_loaded"] is False, name
        if HAVE_VLLM:
            assert not any(snapshots[name]["patched"].values()), (name, snapshots[name]["patched"])


def test_vllm_rehearsal_loads_them(snapshots):
    assert snapshots["rehearsal"]["vllm_cpu_loaded"] is True
    if HAVE_VLLM:
        assert all(snapshots["rehearsal"]["patched"].values()), snapshots["rehearsal"]["patched"]
