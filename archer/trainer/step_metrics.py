"""Whole-step metric values: patches ``verl.workers.engine_workers.TrainingWorker.train_mini_batch`` (verl 0.9.1).

verl averages a policy loss's metrics over micro-batches and data-parallel ranks (``Metric`` MEAN,
``Metric.aggregate_dp``) and the trainer then averages those over mini-batches (``reduce_metrics``). A
ratio computed per micro-batch (a fraction of a micro-batch's tokens, a mean over its positive responses)
therefore depends on the batching, and a micro-batch without responses of one sign pulls a per-sign
mean towards 0. archer's losses report each metric as two parts instead, its numerator and denominator
sums (:func:`archer.aspo.metric_parts`); verl collects both parts from the same micro-batches of every rank
and mini-batch, so the ratio of their aggregates is the ratio of the whole step's sums. This patch divides
them once, in the worker, when ``train_mini_batch`` returns the step's metrics
(:func:`archer.aspo.finalize_metric_parts`): the driver and every logger see one value per metric.
"""

from __future__ import annotations

import functools
from typing import Callable

from archer.aspo import finalize_metric_parts

PATCH = "TrainingWorker.train_mini_batch"
TARGET_MODULE = "verl.workers.engine_workers"
VERL_VERSION = "0.9.1"


class PatchTargetMissing(RuntimeError):
    """A verl function archer patches is not where (or not what) archer expects."""


def _wrap(original: Callable) -> Callable:
    @functools.wraps(original)  # keeps verl's dispatch attributes (set by @register)
    def train_mini_batch(self, data):
        output = original(self, data)
        if output is None:  # ranks without outputs
            return output
        from verl.utils import tensordict_utils as tu

        metrics = tu.get(output, "metrics")
        if metrics:
            tu.assign_non_tensor(output, metrics=finalize_metric_parts(dict(metrics)))
        return output

    train_mini_batch.__archer_wrapped__ = True
    return train_mini_batch


def install() -> None:
    """Wrap ``TrainingWorker.train_mini_batch`` (idempotent); raises :class:`PatchTargetMissing` if verl
    has no such method."""
    import importlib

    module = importlib.import_module(TARGET_MODULE)
    worker = getattr(module, "TrainingWorker", None)
    original = getattr(worker, "train_mini_batch", None) if worker is not None else None
    if not callable(original):
        raise PatchTargetMissing(
            f"archer patch {PATCH}: {TARGET_MODULE}.{PATCH} not found (written for verl {VERL_VERSION}); "
            "without it ASPO's metrics would be logged as raw numerator/denominator parts"
        )
    if getattr(original, "__archer_wrapped__", False):
        return
    worker.train_mini_batch = _wrap(original)


def installed() -> bool:
    from verl.workers.engine_workers import TrainingWorker

    return getattr(TrainingWorker.train_mini_batch, "__archer_wrapped__", False)
