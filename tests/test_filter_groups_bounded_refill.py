"""DAPO group filtering cannot refill forever: verl's real v1 ``ReplayBuffer.sample`` (wrapped by
``archer.plugin.filter_groups_guard``) stops after ``max_num_gen_batches`` generation batches that fill
no batch, with an error naming ``algorithm.filter_groups``; a step that fills its batch logs the groups it
kept and dropped. The bound reaches the buffer from the run's config: verl's own
``PPOTrainer._build_replay_buffer`` (wrapped by the guard) builds it from archer's composed config.

The buffer reads a real local TransferQueue. The trainer's rollout (``refill_fn``, which verl's trainer
passes to the buffer) is played by :class:`GroupWriter`: it writes finished groups with the ``acc`` values
of a model that solves nothing, or of one that solves some, the way the agent loop leaves them.
"""

from __future__ import annotations

import itertools
import logging

import pytest

import verl  # noqa: F401  (loads archer's plugin, which installs the guard)

from archer.plugin import filter_groups_guard
from transfer_queue_support import local_transfer_queue

N_RESPONSES = 4
BATCH = 2


PARTITION = "train"  # verl names the training partition "train" (metrics prefix "training/")


@pytest.fixture(scope="module")
def tq_module():
    with local_transfer_queue("archer_filter_groups_test", total_storage_size=512) as transfer_queue:
        yield transfer_queue


@pytest.fixture
def tq(tq_module):
    """The store with an empty training partition (a test that raised leaves its groups behind)."""
    left = list((tq_module.kv_list(PARTITION) or {}).get(PARTITION, {}))
    if left:
        tq_module.kv_clear(keys=left, partition_id=PARTITION)
    return tq_module


class GroupWriter:
    """Writes finished prompt groups into TransferQueue; ``accs(n)`` gives the n-th group's acc values."""

    _ids = itertools.count()

    def __init__(self, tq, partition: str, accs):
        self.tq, self.partition, self.accs = tq, partition, accs
        self.requested: list[int] = []
        self.groups_written = 0

    def write(self, count: int) -> None:
        from verl.utils.tensordict_utils import list_of_dict_to_tensordict

        for _ in range(count):
            uid = f"g{next(self._ids)}"
            values = self.accs(self.groups_written)
            self.groups_written += 1
            keys = [f"{uid}_{i}" for i in range(N_RESPONSES)]
            rows = [{"extra_fields": {"reward_extra_info": {"acc": float(v)}}} for v in values]
            tags = [{"status": "success", "min_global_steps": 1, "max_global_steps": 1} for _ in keys]
            self.tq.kv_batch_put(keys=keys, partition_id=self.partition, fields=list_of_dict_to_tensordict(rows), tags=tags)
            self.tq.kv_put(key=uid, partition_id=self.partition, tag={"is_prompt": True, "status": "finished", "global_steps": 1})

    def refill(self, count: int) -> int:
        self.requested.append(count)
        self.write(count)
        return count


def _buffer(writer: GroupWriter, max_num_gen_batches: int):
    from verl.trainer.ppo.v1.replay_buffer import ReplayBuffer

    assert getattr(ReplayBuffer.sample, "__archer_filter_groups_guard__", False), "guard not installed by import verl"
    buffer = ReplayBuffer(
        trainer_mode="sync",
        trainer_config={},
        max_off_policy_threshold=None,
        max_off_policy_strategy="drop",
        sampler_kwargs={},
        poll_interval=0.01,
        refill_fn=writer.refill,
        filter_groups_metric="acc",
        train_batch_size=BATCH,
        gen_batch_size=1,
        max_inflight_gen_batches=1,
    )
    filter_groups_guard.set_limit(buffer, max_num_gen_batches, BATCH)
    return buffer


def solves_nothing(_n):
    return [0] * N_RESPONSES


def test_a_model_that_solves_nothing_stops_after_max_num_gen_batches_naming_filter_groups(tq):
    writer = GroupWriter(tq, PARTITION, solves_nothing)
    writer.write(BATCH)  # the step's own batch
    buffer = _buffer(writer, max_num_gen_batches=3)
    with pytest.raises(filter_groups_guard.FilterGroupsExhausted) as err:
        buffer.sample(global_steps=1, partition_id=PARTITION, batch_size=BATCH)
    message = str(err.value)
    assert "algorithm.filter_groups" in message and "max_num_gen_batches=3" in message
    assert "algorithm.filter_groups.enable=False" in message and "'acc'" in message
    # within budget: the step's batch plus at most two more generation batches of BATCH prompts
    assert sum(writer.requested) <= 2 * BATCH
    assert buffer.refill_fn == writer.refill  # the buffer is left as verl built it


def test_the_trainers_buffer_takes_max_num_gen_batches_from_the_config(tq, compose_config):
    """What ``FILTER_GROUPS=True FILTER_GROUPS_MAX_NUM_GEN_BATCHES=3`` gives the trainer, with a model that
    solves nothing (the smoke's random-init model): the buffer verl's trainer builds stops the step."""
    from verl.trainer.ppo.v1.trainer_sync import PPOTrainerSync  # the trainer_mode=sync trainer

    config = compose_config("algorithm.filter_groups.enable=True", "algorithm.filter_groups.metric=acc",
                            "algorithm.filter_groups.max_num_gen_batches=3", f"data.train_batch_size={BATCH}")
    # a bound that did not arrive would refill forever: fail instead, well past 3 generation batches
    writer = GroupWriter(tq, PARTITION, lambda n: solves_nothing(n) if n < 10 * BATCH else pytest.fail("no bound"))
    writer.write(BATCH)
    # verl's trainer, just far enough for its _build_replay_buffer: the config and the mode it reads, and
    # the rollout that refills (played by the writer, as above)
    trainer = PPOTrainerSync.__new__(PPOTrainerSync)
    trainer.config, trainer.trainer_mode = config, config.trainer.v1.trainer_mode
    trainer._add_prompts_to_generate = writer.refill
    buffer = trainer._build_replay_buffer()
    assert type(buffer).__name__ == "ReplayBuffer" and buffer.filter_groups_metric == "acc"
    with pytest.raises(filter_groups_guard.FilterGroupsExhausted) as err:
        buffer.sample(global_steps=1, partition_id=PARTITION, batch_size=BATCH)
    message = str(err.value)
    assert "algorithm.filter_groups: step 1 used" in message
    assert "max_num_gen_batches=3" in message and "algorithm.filter_groups.enable=False" in message
    assert sum(writer.requested) <= 2 * BATCH


def test_a_step_that_fills_its_batch_logs_kept_and_dropped_groups(tq):
    # the first two groups are all wrong, then every group is mixed
    writer = GroupWriter(tq, PARTITION, lambda n: solves_nothing(n) if n < 2 else [0, 1, 0, 1])
    writer.write(BATCH)
    buffer = _buffer(writer, max_num_gen_batches=3)
    batch, metrics = buffer.sample(global_steps=1, partition_id=PARTITION, batch_size=BATCH)
    assert len({key.split("_")[0] for key in batch.keys}) == BATCH
    assert metrics["training/filter_groups/kept_groups"] == BATCH
    assert metrics["training/filter_groups/dropped_groups"] == 2
    assert metrics["training/filter_groups/gen_batches"] >= 2
    assert metrics["training/filter_groups/evicted_samples"] == 2  # verl's own count is still there


def test_no_limit_keeps_refilling_but_says_so_at_every_generation_batch(tq, caplog):
    writer = GroupWriter(tq, PARTITION, lambda n: solves_nothing(n) if n < 6 else [1, 0, 0, 0])
    writer.write(BATCH)
    buffer = _buffer(writer, max_num_gen_batches=0)
    with caplog.at_level(logging.WARNING, logger=filter_groups_guard.__name__):
        _batch, metrics = buffer.sample(global_steps=4, partition_id=PARTITION, batch_size=BATCH)
    warnings = [r.getMessage() for r in caplog.records if "filter_groups" in r.getMessage()]
    assert metrics["training/filter_groups/dropped_groups"] == 6
    assert len(warnings) >= 2 and all("step 4" in w and "max_num_gen_batches=0" in w for w in warnings)


def test_validation_and_unfiltered_sampling_are_not_touched(tq):
    writer = GroupWriter(tq, PARTITION, solves_nothing)
    writer.write(BATCH)
    buffer = _buffer(writer, max_num_gen_batches=1)
    buffer.filter_groups_metric = None  # filtering off: verl's plain path, no archer metrics
    _batch, metrics = buffer.sample(global_steps=1, partition_id=PARTITION, batch_size=BATCH)
    assert not any(k.startswith("training/filter_groups/") for k in metrics)
