"""The CPU backend for verl, loaded into every verl process of a smoke run.

The smoke launcher sets ``VERL_USE_EXTERNAL_MODULES=archer.smoke.backend`` (with ``VERL_PLATFORM=cpu``)
in the driver and, through ``ray_kwargs.ray_init.runtime_env.env_vars``, in every Ray worker; ``import
verl`` then imports this module (``verl/__init__.py`` -> ``verl.utils.import_utils.import_external_libs``)
in the driver, the TaskRunner, the FSDP actor/ref workers, the agent-loop and reward-loop workers and the
rollout server. Importing it installs:

* :mod:`archer.smoke.platform` - verl's ``cpu`` platform (device module, gloo, Ray logical GPUs);
* :mod:`archer.smoke.patches`  - gloo process-group backend, no pinned memory for the reference engine;
* :mod:`archer.smoke.rollout`  - the ``cpu_transformers`` rollout (server + weight sync);
* ``VERL_ENGINE_DEVICE=cuda`` unless set: ``verl.workers.engine.base.EngineRegistry.get_engine_cls``
  then picks the FSDP engine (registered for cuda/npu only; it runs on CPU tensors unchanged);
* :mod:`archer.smoke.reward_trace` - only with ``ARCHER_SMOKE_REWARD_TRACE`` set;
* :mod:`archer.smoke.vllm_cpu` - only with ``ARCHER_SMOKE_ROLLOUT=vllm`` (the vLLM rehearsal,
  ``SMOKE_ROLLOUT=vllm``): the fixes verl's vLLM rollout needs on vLLM's CPU build.

Without that environment nothing imports this package: a GPU run is unaffected
(tests/test_smoke_backend_isolation.py).
"""

from __future__ import annotations

import os

from archer.smoke import patches, platform, reward_trace, rollout

ENGINE_DEVICE_ENV = "VERL_ENGINE_DEVICE"
ROLLOUT_ENV = "ARCHER_SMOKE_ROLLOUT"


def install() -> None:
    platform.register()
    patches.install()
    rollout.register()
    os.environ.setdefault(ENGINE_DEVICE_ENV, "cuda")
    reward_trace.install()
    if os.environ.get(ROLLOUT_ENV) == "vllm":
        from archer.smoke import vllm_cpu

        vllm_cpu.install()


install()
