"""A real local TransferQueue (Ray + SimpleStorage, CPU only) for tests that drive verl's v1 trainer
pieces (``_compute_metrics``, ``ReplayBuffer``) against the store they read in training."""

from __future__ import annotations

import contextlib

import pytest


@contextlib.contextmanager
def local_transfer_queue(namespace: str, total_storage_size: int = 64):
    ray = pytest.importorskip("ray")
    transfer_queue = pytest.importorskip("transfer_queue")
    from omegaconf import OmegaConf

    owns_ray = not ray.is_initialized()
    if owns_ray:
        ray.init(num_cpus=2, include_dashboard=False, namespace=namespace, log_to_driver=False)
    conf = {
        "controller": {"polling_mode": True},
        "backend": {
            "storage_backend": "SimpleStorage",
            "SimpleStorage": {"total_storage_size": total_storage_size, "num_data_storage_units": 1},
        },
    }
    transfer_queue.init(OmegaConf.create(conf))
    try:
        yield transfer_queue
    finally:
        transfer_queue.close()
        if owns_ray:
            ray.shutdown()
