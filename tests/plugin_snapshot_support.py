"""What ``import verl`` installs, seen from fresh interpreters: one snapshot per environment profile, taken
once per test session (``plugin_snapshots`` in conftest.py) and read by every test of plugin installation
(test_plugin_registration.py, test_smoke_backend_isolation.py, test_smoke_vllm_patch_isolation.py,
test_reward_metrics_in_training_logs.py, test_patch_target_mismatch_stops_with_the_patch_named.py).

Profiles: ``gpu_path`` (archer installed, no smoke environment: what a GPU run's workers get), ``verl_alone``
(verl's plugin loading switched off), ``smoke`` (the default smoke profile's CPU backend) and
``rehearsal`` (the smoke profile with the vLLM rollout). The four interpreters start side by side; each
mostly imports verl.

The probe records facts in the order a worker meets them: right after ``import verl``; then verl's
registries (importing the modules that hold them); then the lazily hooked trainers; then vLLM's layers
where vllm is installed; last, in the ``gpu_path`` profile only, the checks that mutate the process:
whether installing the entropy hand-off again wraps ``ppo_loss`` twice, then each :data:`TAMPER_CASES`
target made not to match (as another verl would have it), its patch applied again and
``archer.plugin.patches.verify`` called (what the driver runs before Ray starts and the loss in a worker).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

SMOKE = {"VERL_USE_EXTERNAL_MODULES": "archer.smoke.backend", "VERL_PLATFORM": "cpu"}
PROFILES = {
    "gpu_path": {},
    "verl_alone": {"VERL_USE_EXTERNAL_PLUGINS": "none"},
    "smoke": SMOKE,
    "rehearsal": {**SMOKE, "ARCHER_SMOKE_ROLLOUT": "vllm"},
}
# the smoke profile's variables (and the ones the probe sets itself) never leak in from the caller
CLEARED = ("VERL_USE_EXTERNAL_MODULES", "VERL_PLATFORM", "VERL_ENGINE_DEVICE", "VERL_USE_EXTERNAL_PLUGINS",
           "ARCHER_SMOKE_REWARD_TRACE", "ARCHER_SMOKE_ROLLOUT", "ARCHER_SMOKE_FAULT", "ARCHER_SNAPSHOT_PROFILE",
           "ARCHER_SNAPSHOT_TAMPER")

# patch -> code that makes its verl target not match, run in the gpu_path probe one after the other
TAMPER_CASES = {
    # the worker method is gone: the whole-step metric patch cannot wrap it
    "whole_step_metrics": "import verl.workers.engine_workers as ew\n"
                          "ew.TrainingWorker.train_mini_batch = 42  # no longer a function",
    # ppo_loss renamed in another verl: nothing to wrap
    "entropy_handoff": "import verl.workers.utils.losses as L\ndel L.ppo_loss",
    # the trainer's replay-buffer builder renamed: the filter-groups bound would silently vanish
    "filter_groups_bound": "import verl.trainer.ppo.v1.trainer_base as tb\ndel tb.PPOTrainer._build_replay_buffer",
}

PROBE = r"""
import importlib.util, inspect, json, os, sys
out = {}
HEAVY = ("verl", "datasets", "pandas", "transformers", "ray", "transfer_queue", "vllm")

def error_of(fn):
    try:
        fn()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"

import verl
# right after import verl
mods = set(sys.modules)
out["archer_plugin_loaded"] = "archer.plugin" in mods
out["reward_logging_loaded"] = "archer.plugin.reward_logging" in mods
out["trainer_base_imported_by_import_verl"] = "verl.trainer.ppo.v1.trainer_base" in mods
out["vllm_cpu_loaded"] = "archer.smoke.vllm_cpu" in mods
# the heavy modules loaded by then (verl's own and the libraries its loss / trainer modules pull in)
out["heavy_modules_after_import"] = sorted(m for m in mods if m.split(".")[0] in HEAVY)

# the policy loss, the patches, the entropy hand-off's binding
if out["archer_plugin_loaded"]:
    from verl.trainer.ppo.core_algos import get_policy_loss_fn
    out["aspo_loss_module"] = get_policy_loss_fn("aspo").__module__
    from archer.plugin import patches
    out["patches_verify_error"] = error_of(patches.verify)
import verl.workers.utils.losses as losses
import verl.workers.engine_workers as engine_workers
import verl.trainer.distillation.losses as distillation
out["ppo_loss_wrapped"] = bool(getattr(losses.ppo_loss, "__archer_wrapped__", False))
out["engine_workers_bind_the_wrapped_ppo_loss"] = engine_workers.ppo_loss is losses.ppo_loss
out["distillation_binds_the_wrapped_ppo_loss"] = distillation.ppo_loss is losses.ppo_loss

# verl's registries and the functions the smoke backend may replace
import verl.utils.distributed as distributed
import verl.utils.fsdp_utils as fsdp_utils
import verl.workers.engine  # registers verl's engines
from verl.plugin.platform import PlatformRegistry
from verl.workers.engine.base import EngineRegistry
from verl.workers.rollout import base as rollout_base
from verl.workers.rollout.replica import RolloutReplicaRegistry
out["registries"] = {
    "platforms": sorted(PlatformRegistry.registered_names()),
    "engines": {t: {b: sorted(map(str, keys)) for b, keys in backends.items()}
                for t, backends in EngineRegistry._engines.items()},
    "rollouts": sorted(map(str, rollout_base._ROLLOUT_REGISTRY)),
    "replicas": sorted(RolloutReplicaRegistry._registry),
    "process_group_fn": distributed.initialize_global_process_group_ray.__module__,
    "process_group_patched": hasattr(distributed.initialize_global_process_group_ray, "__wrapped__"),
    "offload_policy": fsdp_utils.CPUOffloadPolicy.__module__ if fsdp_utils.CPUOffloadPolicy else None,
}
out["engine_device_env"] = os.environ.get("VERL_ENGINE_DEVICE")
out["smoke_modules"] = sorted(m for m in sys.modules if m.startswith("archer.smoke"))

# the trainers, hooked when first imported
import verl.trainer.ppo.v1.trainer_base as tb
import verl.trainer.ppo.ray_trainer as rt
out["compute_metrics_hooked"] = bool(getattr(tb.PPOTrainer._compute_metrics, "__archer_reward_logging__", False))
out["compute_data_metrics_hooked"] = bool(getattr(rt.compute_data_metrics, "__archer_reward_logging__", False))
wrapped = getattr(tb.PPOTrainer._compute_metrics, "__wrapped__", None)
out["compute_metrics_wraps_verls"] = wrapped is not None and "def _compute_metrics" in inspect.getsource(wrapped)

# vLLM's layers and verl's weight sender / server adapter, where vllm is installed
if importlib.util.find_spec("vllm") is not None:
    from vllm.model_executor.layers import linear, vocab_parallel_embedding
    from verl.workers.rollout.vllm_rollout import bucketed_weight_transfer, vllm_rollout
    mark = "__archer_smoke_vllm_cpu__"
    out["vllm_patched"] = {
        "linear": hasattr(linear.UnquantizedLinearMethod.process_weights_after_loading, mark),
        "embedding": hasattr(vocab_parallel_embedding.UnquantizedEmbeddingMethod.process_weights_after_loading, mark),
        "sender": hasattr(bucketed_weight_transfer.BucketedWeightSender._init_socket, mark),
        "server_adapter": hasattr(vllm_rollout.ServerAdapter.update_weights, mark),
    }

# last (it mutates the process): installing the entropy hand-off again keeps the one wrapper
if os.environ["ARCHER_SNAPSHOT_PROFILE"] == "gpu_path":
    import archer.plugin.entropy_handoff as handoff
    before = losses.ppo_loss
    handoff.install(); handoff.install()
    out["reinstall_keeps_one_wrapper"] = (losses.ppo_loss is before
                                          and not getattr(before.__wrapped__, "__archer_wrapped__", False))
    from archer.plugin import patches
    out["tampered"] = {}
    for name, tamper in json.loads(os.environ["ARCHER_SNAPSHOT_TAMPER"]).items():
        exec(tamper, {})
        patches.apply(name)
        try:
            patches.verify()
        except patches.PatchNotApplied as error:
            out["tampered"][name] = str(error)
        else:
            out["tampered"][name] = None
print(json.dumps(out))
"""


def take_snapshots(timeout: int = 400) -> dict[str, dict]:
    """Every profile's snapshot, from interpreters started side by side; a failed one fails naming its profile."""
    procs = {}
    for name, env in PROFILES.items():
        clean = {k: v for k, v in os.environ.items() if k not in CLEARED}
        clean.update(env, ARCHER_SNAPSHOT_PROFILE=name, ARCHER_SNAPSHOT_TAMPER=json.dumps(TAMPER_CASES))
        procs[name] = subprocess.Popen([sys.executable, "-c", PROBE], env=clean, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True)
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=timeout)
        if proc.returncode != 0:
            raise AssertionError(f"the {name} snapshot failed (exit {proc.returncode}): {stderr[-3000:]}")
        out[name] = json.loads(stdout.strip().splitlines()[-1])
    return out
