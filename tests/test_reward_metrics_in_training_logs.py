"""The reward function's numeric extra keys reach the training-step metrics as ``reward/<key>/mean|max``.

verl 0.9.1 logs them only in validation. ``archer.plugin.reward_logging`` (installed by our verl plugin)
wraps the v1 trainer's ``PPOTrainer._compute_metrics`` and the legacy trainer's ``compute_data_metrics``.
The v1 test runs verl's real ``_compute_metrics`` against a real local TransferQueue (ray + SimpleStorage,
CPU only), with the batch laid out as verl writes it in both reward paths:

* agent-loop reward (``verl/trainer/ppo/v1/agent_loop_tq.py``): ``extra_fields[i]["reward_extra_info"]``;
* colocated reward (``PPOTrainer._compute_reward_colocate``): one top-level field per extra key.
"""

from __future__ import annotations

import logging
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import verl  # noqa: F401  (loads our plugin, which installs the hook)

from archer.plugin import reward_logging
from transfer_queue_support import local_transfer_queue
from archer.warn_once import _warned as warned_keys  # to re-arm a one-time warning between tests

PROMPT_LENS = [3, 2, 4, 2]
RESPONSE_LENS = [5, 2, 3, 4]
# the last row is a padding row (tags[i]["is_padding"]): it must not count
EXTRA = {
    "score": [1.0, 0.0, 1.0, 9.0],
    "acc": [True, False, True, True],
    "pred": ["1", None, "x", "y"],
    "repetition_ratio": [0.1, 0.5, 0.3, 9.0],
    "response_has_answer": [True, False, False, True],
    "grader_timeout": [False, False, True, True],
    "passed": [2, 0, 3, 99],
    "total": [3, 3, 3, 99],
    "failure_kind": [None, "no code", None, None],
    "isolation": ["", "", "", ""],
}
EXPECTED = {
    "reward/grader_score/mean": 2 / 3,  # archer's score before verl's overlong penalty
    "reward/grader_score/max": 1.0,
    "reward/acc/mean": 2 / 3,
    "reward/repetition_ratio/mean": 0.3,
    "reward/repetition_ratio/max": 0.5,
    "reward/response_has_answer/mean": 1 / 3,
    "reward/grader_timeout/mean": 1 / 3,
    "reward/passed/mean": 5 / 3,
    "reward/passed/max": 3.0,
    "reward/total/mean": 3.0,
    "reward/total/max": 3.0,
}
NOT_EXPECTED = ("reward/score/mean", "reward/acc/max", "reward/grader_timeout/max", "reward/response_has_answer/max", "reward/pred/mean")


@pytest.fixture(scope="module")
def tq():
    with local_transfer_queue("archer_reward_logging_test") as transfer_queue:
        yield transfer_queue


def _put_batch(tq, partition_id: str, colocated: bool):
    """Write one 4-row training batch (last row padding) the way verl's v1 trainer leaves it before metrics."""
    from transfer_queue import KVBatchMeta
    from verl.utils.tensordict_utils import list_of_dict_to_tensordict

    rows, keys, tags = [], [], []
    for i, (p, r) in enumerate(zip(PROMPT_LENS, RESPONSE_LENS)):
        reward = torch.zeros(r)
        reward[-1] = EXTRA["score"][i]
        info = {k: v[i] for k, v in EXTRA.items()}
        row = {
            "prompts": torch.arange(p, dtype=torch.int64),
            "responses": torch.arange(r, dtype=torch.int64),
            "response_mask": torch.ones(r, dtype=torch.int64),
            "values": torch.zeros(r),
            "advantages": torch.full((r,), 0.5),
            "returns": torch.full((r,), 0.5),
            "rm_scores": reward,
            "token_level_rewards": reward.clone(),
            "num_turns": 2,
            # colocated: the agent loop attached no reward_extra_info
            "extra_fields": {"turn_scores": [], "min_global_steps": 1} if colocated else {"reward_extra_info": info},
        }
        if colocated:
            row.update(info)
        rows.append(row)
        keys.append(f"{partition_id}_{i}")
        tags.append({"status": "success", "min_global_steps": 1, "max_global_steps": 1, "is_padding": i == 3})
    tq.kv_batch_put(keys=keys, partition_id=partition_id, fields=list_of_dict_to_tensordict(rows), tags=tags)
    return KVBatchMeta(keys=keys, tags=tags, partition_id=partition_id)


def _minimal_trainer():
    """verl's concrete v1 trainer (``PPOTrainerSync``) with just what ``_compute_metrics`` touches."""
    from omegaconf import OmegaConf
    from verl.trainer.ppo.v1.trainer_sync import PPOTrainerSync

    trainer = object.__new__(PPOTrainerSync)
    trainer.config = OmegaConf.create({"actor_rollout_ref": {"rollout": {}, "model": {}}})
    trainer.use_critic = False
    trainer._rollout_moe_lb_metrics_accumulator = None
    trainer.resource_pool_manager = SimpleNamespace(get_n_gpus=lambda: 1)
    return trainer


def _run_compute_metrics(trainer, batch):
    metrics: dict = {}
    timing_raw = {"step": 1.0, "gen": 0.5}
    trainer._compute_metrics(batch, metrics, timing_raw, global_steps=2, epoch=0)
    return metrics


@pytest.mark.parametrize("colocated", [False, True], ids=["agent_loop_reward", "colocated_reward"])
def test_v1_compute_metrics_logs_reward_extra_keys_from_transfer_queue(tq, colocated):
    from verl.trainer.ppo.v1.trainer_base import PPOTrainer

    assert getattr(PPOTrainer._compute_metrics, "__archer_reward_logging__", False), "hook not installed"
    batch = _put_batch(tq, "train_colocated" if colocated else "train_agent_loop", colocated)
    metrics = _run_compute_metrics(_minimal_trainer(), batch)

    assert "critic/score/mean" in metrics and "training/global_step" in metrics  # verl's own metrics still there
    for key, value in EXPECTED.items():
        assert metrics.get(key) == pytest.approx(value), (key, {k: v for k, v in metrics.items() if "reward/" in k})
    for key in NOT_EXPECTED:
        assert key not in metrics


def test_v1_compute_metrics_without_reward_extra_keys_is_unchanged_and_warns_once(tq, caplog):
    from transfer_queue import KVBatchMeta
    from verl.utils.tensordict_utils import list_of_dict_to_tensordict

    keys = ["plain_0", "plain_1"]
    tags = [{"min_global_steps": 1, "max_global_steps": 1}] * 2
    rows = [
        {
            "prompts": torch.arange(2),
            "responses": torch.arange(n),
            "response_mask": torch.ones(n, dtype=torch.int64),
            "values": torch.zeros(n),
            "advantages": torch.zeros(n),
            "returns": torch.zeros(n),
            "rm_scores": torch.ones(n),
            "token_level_rewards": torch.ones(n),
            "num_turns": 2,
        }
        for n in (2, 3)
    ]
    tq.kv_batch_put(keys=keys, partition_id="plain", fields=list_of_dict_to_tensordict(rows), tags=tags)
    batch = KVBatchMeta(keys=keys, tags=tags, partition_id="plain")
    warned_keys.discard("reward_logging:v1:absent")
    with caplog.at_level(logging.WARNING, logger=reward_logging.__name__):
        metrics = _run_compute_metrics(_minimal_trainer(), batch)
        _run_compute_metrics(_minimal_trainer(), batch)
    assert "critic/score/mean" in metrics
    assert not any(k.startswith("reward/") for k in metrics)
    assert sum("reward/* not logged" in r.getMessage() for r in caplog.records) == 1


def test_a_failing_fetch_never_breaks_the_metrics_step(tq, caplog):
    calls = []

    def original(self, batch, metrics, timing_raw, global_steps, epoch):
        calls.append(batch)
        metrics["training/global_step"] = global_steps

    wrapped = reward_logging.wrap_compute_metrics(original)
    missing = SimpleNamespace(keys=["no_such_key"], tags=[{}], partition_id="no_such_partition")
    warned_keys.discard("reward_logging:v1:error")
    warned_keys.discard("reward_logging:v1:absent")
    metrics: dict = {}
    with caplog.at_level(logging.WARNING, logger=reward_logging.__name__):
        wrapped(None, missing, metrics, {}, global_steps=3, epoch=0)
        wrapped(None, missing, metrics, {}, global_steps=3, epoch=0)
    assert metrics == {"training/global_step": 3} and len(calls) == 2
    assert len([r for r in caplog.records if r.name == reward_logging.__name__]) <= 1


def test_wrapping_is_idempotent():
    from verl.trainer.ppo import ray_trainer
    from verl.trainer.ppo.v1.trainer_base import PPOTrainer

    wrapped, legacy = PPOTrainer._compute_metrics, ray_trainer.compute_data_metrics
    reward_logging.install()
    reward_logging.install()
    assert PPOTrainer._compute_metrics is wrapped and ray_trainer.compute_data_metrics is legacy
    assert reward_logging.wrap_compute_metrics(wrapped) is wrapped
    assert not getattr(wrapped.__wrapped__, "__archer_reward_logging__", False)  # wrapped once
    assert wrapped.__name__ == "_compute_metrics" and wrapped.__qualname__ == "PPOTrainer._compute_metrics"
    assert sum(type(f).__name__ == "_PostImportFinder" for f in sys.meta_path) == 1


def test_legacy_trainer_compute_data_metrics_logs_reward_extra_keys():
    from verl import DataProto
    from verl.trainer.ppo import ray_trainer

    n, p, r = 3, 2, 4
    tensors = {
        "token_level_scores": torch.tensor([[0, 0, 0, 1.0], [0, 0, 0, 0], [0, 0, 0, 1.0]]),
        "advantages": torch.zeros(n, r),
        "returns": torch.zeros(n, r),
        "prompts": torch.zeros(n, p, dtype=torch.long),
        "responses": torch.zeros(n, r, dtype=torch.long),
        "response_mask": torch.ones(n, r, dtype=torch.long),
        "attention_mask": torch.ones(n, p + r, dtype=torch.long),
    }
    tensors["token_level_rewards"] = tensors["token_level_scores"].clone()
    # what ray_trainer does: batch.non_tensor_batch.update({k: np.array(v) for k, v in reward_extra_infos_dict.items()})
    non_tensor = {k: np.array(v[:n]) for k, v in EXTRA.items()}
    batch = DataProto.from_dict(tensors=tensors, non_tensors=non_tensor)
    metrics = ray_trainer.compute_data_metrics(batch=batch, use_critic=False)
    assert "critic/score/mean" in metrics
    for key, value in EXPECTED.items():
        assert metrics.get(key) == pytest.approx(value), key
    for key in NOT_EXPECTED:
        assert key not in metrics


def test_plain_import_verl_hooks_the_trainers_lazily_in_a_fresh_process(plugin_snapshots):
    gpu = plugin_snapshots["gpu_path"]  # plugin_snapshot_support.py
    assert gpu["reward_logging_loaded"], "hook not installed by import verl"
    assert not gpu["trainer_base_imported_by_import_verl"], "plugin imported the heavy trainer"
    assert gpu["compute_metrics_hooked"] and gpu["compute_data_metrics_hooked"]
    assert gpu["compute_metrics_wraps_verls"]
