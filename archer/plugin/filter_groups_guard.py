"""Bound DAPO group filtering in verl 0.9.1's v1 sync trainer, and log what it kept and dropped.

With ``algorithm.filter_groups.enable=true`` verl's v1 ``ReplayBuffer.sample`` (verl/trainer/ppo/v1/
replay_buffer.py) drops every finished group whose metric (archer: ``acc``) is the same for all its
responses and asks the trainer for fresh prompts (``refill_fn`` = ``PPOTrainer._add_prompts_to_generate``)
until a whole batch of mixed groups is there. verl 0.9.1 ignores ``filter_groups.max_num_gen_batches``
(it only logs that) and the dataloader restarts on StopIteration, so a model that solves nothing (or
everything) on its data makes a step loop forever, silently.

This adapter restores the bound verl's DAPO recipe documents:

* ``PPOTrainer._build_replay_buffer`` (trainer_base.py) is wrapped to hand the buffer the limit
  (``max_num_gen_batches``; 0 means no limit, as in verl) and ``data.train_batch_size``;
* ``ReplayBuffer.sample`` is wrapped, for the training partition with filtering on, to count the prompts
  it asks for beyond the step's own batch. Once that reaches ``max_num_gen_batches`` generation batches
  (of ``train_batch_size`` prompts) without a full batch, the step stops with
  :class:`FilterGroupsExhausted`, which names ``algorithm.filter_groups`` and what to change. With no limit
  a warning is logged at every further generation batch instead, so the refill is never silent.

Each step's metrics gain ``training/filter_groups/kept_groups`` (groups trained on),
``training/filter_groups/dropped_groups`` (groups dropped for a uniform metric) and
``training/filter_groups/gen_batches`` (generation batches the step used, the first included).
The async ``ReplayBufferAsync`` is not wrapped (archer's launchers use the sync trainer).
"""

from __future__ import annotations

import functools
import logging
import math
from typing import Any, Callable

from archer.plugin.post_import import when_imported

logger = logging.getLogger(__name__)

TRAINER_MODULE = "verl.trainer.ppo.v1.trainer_base"
REPLAY_BUFFER_MODULE = "verl.trainer.ppo.v1.replay_buffer"
_MARK = "__archer_filter_groups_guard__"
_LIMIT_ATTR = "_archer_filter_groups_limit"  # (max_num_gen_batches, train_batch_size) set on the buffer


class FilterGroupsExhausted(RuntimeError):
    """Group filtering used its generation-batch budget without filling one training batch."""


def exhausted_message(*, step: int, gen_batches: int, limit: int, kept: int, needed: int, dropped: int,
                      metric: str) -> str:
    return (
        f"algorithm.filter_groups: step {step} used {gen_batches} generation batches "
        f"(algorithm.filter_groups.max_num_gen_batches={limit}) and found {kept} of the {needed} prompt groups "
        f"a step needs; {dropped} groups were dropped because all their responses had the same "
        f"{metric!r}. The model solves none (or all) of these prompts. Start from a model that solves some of "
        f"them (a supervised warm start or a stronger base model), use data of matching difficulty, raise "
        f"algorithm.filter_groups.max_num_gen_batches, or turn filtering off with "
        f"algorithm.filter_groups.enable=False (FILTER_GROUPS=False in the launchers)."
    )


def set_limit(buffer: Any, max_num_gen_batches: int, train_batch_size: int) -> None:
    """Give a replay buffer its refill budget: ``max_num_gen_batches`` generation batches of
    ``train_batch_size`` prompts per step (0: no limit)."""
    setattr(buffer, _LIMIT_ATTR, (max(int(max_num_gen_batches or 0), 0), int(train_batch_size)))


def set_limit_from_config(buffer: Any, config: Any) -> None:
    filter_groups = config.algorithm.get("filter_groups", None) or {}
    set_limit(buffer, filter_groups.get("max_num_gen_batches", 0), config.data.train_batch_size)


def wrap_build_replay_buffer(original: Callable) -> Callable:
    if getattr(original, _MARK, False):
        return original

    @functools.wraps(original)
    def _build_replay_buffer(self, *args, **kwargs):
        buffer = original(self, *args, **kwargs)
        try:
            set_limit_from_config(buffer, self.config)
        except Exception as e:  # a custom sampler may refuse attributes: leave it unbounded
            logger.warning("archer: filter_groups bound not applied to %s: %r", type(buffer).__name__, e)
        return buffer

    setattr(_build_replay_buffer, _MARK, True)
    return _build_replay_buffer


class _StepCounter:
    """What one ``sample`` call asked for and dropped; raises once the refill budget is spent."""

    def __init__(self, buffer: Any, global_steps: int, batch_size: int):
        self.buffer = buffer
        self.step = global_steps
        self.limit, self.train_batch_size = getattr(buffer, _LIMIT_ATTR, (0, batch_size))
        self.train_batch_size = max(int(self.train_batch_size or batch_size), 1)
        self.needed = batch_size
        self.refilled = 0
        self.dropped = 0
        self.warned_batches = 1

    def gen_batches(self) -> int:
        return 1 + math.ceil(self.refilled / self.train_batch_size)

    def kept_so_far(self, partition_id: str) -> int:
        finished = getattr(self.buffer, "finished_keys", {}).get(partition_id, ())
        return min(len(finished), self.needed)

    def refill(self, original: Callable, partition_id: str) -> Callable:
        def refill_fn(count: int):
            batches_after = 1 + math.ceil((self.refilled + count) / self.train_batch_size)
            if self.limit and batches_after > self.limit:
                raise FilterGroupsExhausted(
                    exhausted_message(
                        step=self.step,
                        gen_batches=self.gen_batches(),
                        limit=self.limit,
                        kept=self.kept_so_far(partition_id),
                        needed=self.needed,
                        dropped=self.dropped,
                        metric=str(self.buffer.filter_groups_metric),
                    )
                )
            self.refilled += count
            if not self.limit and batches_after > self.warned_batches:
                self.warned_batches = batches_after
                logger.warning(
                    "archer: filter_groups: step %s is on generation batch %s (no limit: "
                    "algorithm.filter_groups.max_num_gen_batches=0); %s groups dropped so far",
                    self.step, batches_after, self.dropped,
                )
            return original(count)

        return refill_fn

    def metrics(self, partition_id: str) -> dict[str, float]:
        prefix = f"{self.buffer._metrics_prefix(partition_id)}/filter_groups/"  # verl's own "training/..."
        return {
            prefix + "kept_groups": float(self.needed),
            prefix + "dropped_groups": float(self.dropped),
            prefix + "gen_batches": float(self.gen_batches()),
        }


def wrap_sample(original: Callable) -> Callable:
    if getattr(original, _MARK, False):
        return original

    @functools.wraps(original)
    def sample(self, global_steps: int, partition_id: str, batch_size: int):
        if partition_id == "val" or getattr(self, "filter_groups_metric", None) is None:
            return original(self, global_steps, partition_id, batch_size)
        counter = _StepCounter(self, global_steps, batch_size)
        refill, evict = self.refill_fn, self._evict_terminal_groups

        def counting_evict(*args, **kwargs):
            result = evict(*args, **kwargs)
            counter.dropped += result[2]  # (evicted uids, stale count, DAPO-dropped count, metrics)
            return result

        self.refill_fn = counter.refill(refill, partition_id)
        self._evict_terminal_groups = counting_evict
        try:
            batch, metrics = original(self, global_steps, partition_id, batch_size)
        finally:
            self.refill_fn = refill
            del self._evict_terminal_groups  # back to the class's method
        metrics = dict(metrics)
        metrics.update(counter.metrics(partition_id))
        return batch, metrics

    setattr(sample, _MARK, True)
    return sample


def _patch_trainer(module) -> None:
    cls = module.PPOTrainer
    cls._build_replay_buffer = wrap_build_replay_buffer(cls.__dict__["_build_replay_buffer"])


def _patch_replay_buffer(module) -> None:
    cls = module.ReplayBuffer
    cls.sample = wrap_sample(cls.__dict__["sample"])


def install() -> None:
    """Hook the v1 trainer and replay buffer when (and if) they are imported. Idempotent."""
    when_imported(TRAINER_MODULE, _patch_trainer)
    when_imported(REPLAY_BUFFER_MODULE, _patch_replay_buffer)


def installed() -> bool:
    """Whether the v1 trainer and replay buffer carry the wrappers (imports them, which runs the hooks)."""
    import importlib

    trainer = getattr(importlib.import_module(TRAINER_MODULE), "PPOTrainer", None)
    buffer = getattr(importlib.import_module(REPLAY_BUFFER_MODULE), "ReplayBuffer", None)
    return getattr(getattr(trainer, "_build_replay_buffer", None), _MARK, False) and getattr(
        getattr(buffer, "sample", None), _MARK, False
    )
