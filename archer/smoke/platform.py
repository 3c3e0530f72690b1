"""verl's CPU platform: the device, backend and Ray resource verl asks its platform for.

Hooks ``verl.plugin.platform.PlatformRegistry`` (verl 0.9.1): :func:`register` adds
:class:`CpuPlatform` under the name ``cpu``, which ``platform_manager._detect_platform_name`` selects when
``VERL_PLATFORM=cpu`` is set (the smoke launcher sets it in every process). Why each answer:

* device ``cpu``, communication backend ``gloo`` (torch.distributed on CPU);
* Ray resource ``GPU``: ``ResourcePoolManager._check_resource_available`` (verl/single_controller/ray/
  base.py) counts only GPU/NPU resources, so the smoke slots are Ray *logical* GPUs
  (``ray.init(num_gpus=N)`` or ``ray start --num-gpus=N`` on a host without one);
* :data:`CPU_DEVICE_MODULE`: what ``verl.utils.device.get_torch_device()`` returns. verl calls CUDA-style
  functions on it (``memory_utils.aggressive_empty_cache`` calls ``memory_reserved``, the profiler and
  checkpoint code call rng-state and memory-stat functions) that ``torch.cpu`` lacks; they answer as a
  device with nothing cached.
"""

from __future__ import annotations

import contextlib
from typing import Any, Optional

import torch

from verl.plugin.platform import PlatformBase, PlatformRegistry

PLATFORM_NAME = "cpu"
RAY_RESOURCE = "GPU"


class CpuDeviceModule:
    """``torch.cpu`` plus the ``torch.cuda`` functions verl calls, as no-ops or host-memory answers."""

    def __getattr__(self, name: str) -> Any:
        return getattr(torch.cpu, name)

    def is_available(self) -> bool:
        return True

    def device_count(self) -> int:
        return 1

    def current_device(self) -> int:
        return 0

    def set_device(self, *args, **kwargs) -> None:
        pass

    def synchronize(self, *args, **kwargs) -> None:
        pass

    def empty_cache(self) -> None:
        pass

    def ipc_collect(self) -> None:
        pass

    def memory_reserved(self, *args, **kwargs) -> int:
        return 0

    memory_allocated = max_memory_reserved = max_memory_allocated = memory_reserved

    def reset_peak_memory_stats(self, *args, **kwargs) -> None:
        pass

    def set_per_process_memory_fraction(self, *args, **kwargs) -> None:
        pass

    def mem_get_info(self, *args, **kwargs) -> tuple[int, int]:
        import psutil

        memory = psutil.virtual_memory()
        return memory.available, memory.total

    def get_rng_state(self, *args, **kwargs) -> torch.Tensor:
        return torch.get_rng_state()

    def set_rng_state(self, state: torch.Tensor, *args, **kwargs) -> None:
        torch.set_rng_state(state)

    def manual_seed(self, seed: int) -> None:
        torch.manual_seed(seed)

    manual_seed_all = manual_seed

    def get_device_name(self, *args, **kwargs) -> str:
        return "cpu"


CPU_DEVICE_MODULE = CpuDeviceModule()


class CpuPlatform(PlatformBase):
    """A host without accelerators, seen by verl as one device per Ray logical GPU slot."""

    @property
    def device_name(self) -> str:
        return "cpu"

    @property
    def vendor_name(self) -> str:
        return "cpu"

    @property
    def device_module(self) -> CpuDeviceModule:
        return CPU_DEVICE_MODULE

    def is_available(self) -> bool:
        return True

    def is_platform_available(self, use_smi_check: bool = True) -> bool:
        return True

    def current_device(self) -> str:
        return "cpu"

    def device_count(self) -> int:
        return 1

    def set_device(self, device_index) -> None:
        pass

    def synchronize(self, device_index: Optional[int] = None) -> None:
        pass

    def manual_seed(self, seed: int) -> None:
        torch.manual_seed(seed)

    def manual_seed_all(self, seed: int) -> None:
        torch.manual_seed(seed)

    def set_allocator_settings(self, settings: str) -> None:
        pass

    def empty_cache(self) -> None:
        pass

    def get_device_capability(self, device_index: int = 0) -> tuple[Optional[int], Optional[int]]:
        return None, None

    def communication_backend_name(self) -> str:
        return "gloo"

    def visible_devices_envvar(self) -> str:
        return "CUDA_VISIBLE_DEVICES"

    @contextlib.contextmanager
    def nvtx_range(self, msg: str):
        yield

    def profiler_start(self) -> None:
        pass

    def profiler_stop(self) -> None:
        pass

    def ray_resource_name(self) -> str:
        return RAY_RESOURCE

    def ray_noset_envvars(self) -> list[str]:
        return []

    def is_ipc_supported(self) -> bool:
        return False

    def cudart(self) -> None:
        return None


def register() -> None:
    """Register :class:`CpuPlatform` as ``cpu`` (once per process)."""
    if PlatformRegistry.get(PLATFORM_NAME) is CpuPlatform:
        return
    PlatformRegistry.register(platform=PLATFORM_NAME)(CpuPlatform)
