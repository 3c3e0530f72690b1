"""The two verl 0.9.1 functions that cannot run on a CPU-only host as shipped, and the fix for each.

Each fix is installed by :func:`install` (called by :mod:`archer.smoke.backend`, i.e. only in smoke
processes) and is a no-op when the detected device is not the CPU.

1. ``verl.utils.distributed.initialize_global_process_group_ray`` (called by
   ``verl.workers.engine_workers.ActorRolloutRefWorker.__init__``) builds the torch.distributed backend
   string ``f"cpu:gloo,{device}:{nccl backend}"``, which is ``"cpu:gloo,cpu:gloo"`` on CPU; torch rejects it
   ("Duplicate device type cpu"). The wrapper passes plain ``"gloo"`` when no backend is given on CPU.
   ``engine_workers`` and ``verl.checkpoint_engine.base`` bind the function by name (``from ... import``),
   so the wrapper is also bound there, now or when they are imported (:func:`archer.plugin.post_import.when_imported`).
2. ``verl.utils.fsdp_utils.CPUOffloadPolicy``: ``FSDPEngine._build_fsdp_module``
   (verl/workers/engine/fsdp/transformer_impl.py) gives forward-only FSDP2 engines (the reference model)
   ``CPUOffloadPolicy(pin_memory=True)``; pinning host memory needs an accelerator ("Cannot access
   accelerator device when none is available"). The class is replaced, in ``verl.utils.fsdp_utils`` where
   transformer_impl imports it from, by a subclass that never pins.
"""

from __future__ import annotations

from types import ModuleType

from archer.plugin.post_import import when_imported

_MARK = "__archer_smoke_patch__"
PROCESS_GROUP_BINDERS = ("verl.workers.engine_workers", "verl.checkpoint_engine.base")


def _on_cpu() -> bool:
    from verl.utils.device import get_device_name

    return get_device_name() == "cpu"


def patch_process_group_backend() -> None:
    """Fix 1: plain ``gloo`` for verl's process group on CPU (see the module docstring)."""
    import verl.utils.distributed as distributed

    original = distributed.initialize_global_process_group_ray
    if getattr(original, _MARK, False):
        return

    def initialize_global_process_group_ray(timeout_second=None, backend=None):
        if backend is None and _on_cpu():
            backend = "gloo"
        return original(timeout_second=timeout_second, backend=backend)

    setattr(initialize_global_process_group_ray, _MARK, True)
    initialize_global_process_group_ray.__wrapped__ = original
    distributed.initialize_global_process_group_ray = initialize_global_process_group_ray

    def rebind(module: ModuleType) -> None:
        if getattr(module, "initialize_global_process_group_ray", None) is original:
            module.initialize_global_process_group_ray = initialize_global_process_group_ray

    for name in PROCESS_GROUP_BINDERS:
        when_imported(name, rebind)


def patch_cpu_offload_policy(fsdp_utils: ModuleType) -> None:
    """Fix 2: ``CPUOffloadPolicy`` that never pins memory on CPU (see the module docstring)."""
    base = fsdp_utils.CPUOffloadPolicy
    if getattr(base, _MARK, False):
        return

    class NoPinCPUOffloadPolicy(base):
        def __init__(self, pin_memory: bool = True, *args, **kwargs):
            super().__init__(*args, pin_memory=pin_memory and not _on_cpu(), **kwargs)

    setattr(NoPinCPUOffloadPolicy, _MARK, True)
    fsdp_utils.CPUOffloadPolicy = NoPinCPUOffloadPolicy


def install() -> None:
    patch_process_group_backend()
    when_imported("verl.utils.fsdp_utils", patch_cpu_offload_policy)
