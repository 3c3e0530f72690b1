"""Patch of ``verl.workers.engine_workers.TrainingWorker.train_mini_batch`` (verl 0.9.1): whole-step metrics.

verl averages a policy loss's metrics over micro-batches and data-parallel ranks (``Metric`` MEAN,
``Metric.aggregate_dp``) and the trainer then averages those over mini-batches (``reduce_metrics``). A
ratio computed per micro-batch (a fraction of a micro-batch's tokens, a mean over its positive responses)
therefore depends on the batching, and a micro-batch without responses of one sign pulls a per-sign
mean towards 0. archer's losses report each metric as two parts instead, its numerator and denominator
sums (:func:`archer.aspo.metric_parts`); verl collects both parts from the same micro-batches of every rank
and mini-batch, so the ratio of their aggregates is the ratio of the whole step's sums. This patch divides
them once, in the worker, when ``train_mini_batch`` returns the step's metrics
(:func:`archer.aspo.finalize_metric_parts`): the driver and every logger see one value per metric.
The worker module is heavy, so it is patched when imported (:func:`archer.plugin.post_import.when_imported`).
"""

from __future__ import annotations

import functools
from typing import Callable

from archer.aspo import finalize_metric_parts
from archer.plugin.post_import import when_imported

TARGET_MODULE = "verl.workers.engine_workers"
TARGET = f"{TARGET_MODULE}.TrainingWorker.train_mini_batch"
_MARK = "__archer_wrapped__"


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

    setattr(train_mini_batch, _MARK, True)
    return train_mini_batch


def _patch(module) -> None:
    worker = module.TrainingWorker  # AttributeError: the patch reports the target as missing
    original = worker.__dict__["train_mini_batch"]
    if not callable(original):
        raise TypeError(f"{TARGET} is not a function")
    if not getattr(original, _MARK, False):
        worker.train_mini_batch = _wrap(original)


def install() -> None:
    when_imported(TARGET_MODULE, _patch)


def installed() -> bool:
    import importlib

    worker = getattr(importlib.import_module(TARGET_MODULE), "TrainingWorker", None)
    return getattr(getattr(worker, "train_mini_batch", None), _MARK, False)
