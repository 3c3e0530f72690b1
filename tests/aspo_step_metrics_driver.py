"""One rank of the whole-step metric runs (tests/test_aspo_metrics_are_whole_step_values.py).

Builds verl's real ``TrainingWorker`` (the actor's inner worker, as ``ActorRolloutRefWorker`` builds it) on
the CPU platform over gloo, and runs ``train_mini_batch`` — verl's own mini-batch split, epochs, micro-
batches or dynamic batching, data-parallel gather and archer's whole-step patch — on the designed batch
under several batchings. The learning rate is 0, so every run sees the same ratios and the metrics may
only differ by how the step was batched. Writes {run name: metrics} as JSON (rank 0).
"""

from __future__ import annotations

import argparse
import json
import os
from functools import partial
from pathlib import Path

import torch

# 8 responses: two copies of the designed 4 (verl_cpu_support), ratios and advantages by index mod 4
N = 8


def build_batch():
    from verl_cpu_support import ADVANTAGES, OFF_POLICY_RATIOS, make_rollout

    a, b = make_rollout(seed=1), make_rollout(seed=2)
    rollout = {k: torch.cat([a[k], b[k]]) for k in a}
    adv = torch.tensor(ADVANTAGES * 2)[:, None] * rollout["response_mask"].float()
    log_ratio = torch.tensor(OFF_POLICY_RATIOS * 2).log()[:, None]
    return rollout, adv, log_ratio


def make_worker(model_dir: Path, lr: float = 0.0, *overrides: str):
    """verl's TrainingWorker with archer's actor config on the CPU engine (SGD at ``lr``; ``overrides``:
    more hydra overrides of the composed config)."""
    from verl.utils.config import omega_conf_to_dataclass
    from verl.workers.config import TrainingWorkerConfig
    from verl.workers.engine_workers import TrainingWorker
    from verl.workers.utils.losses import ppo_loss

    from verl_cpu_support import compose_engine_config

    cfg = compose_engine_config(
        model_dir,
        f"actor_rollout_ref.actor.ppo_mini_batch_size={N}",
        "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=1",
        "+actor_rollout_ref.actor.fsdp_config.mixed_precision={param_dtype: fp32, reduce_dtype: fp32, buffer_dtype: fp32}",
        "actor_rollout_ref.actor.optim.optimizer=SGD",
        "actor_rollout_ref.actor.optim.weight_decay=0.0",
        f"actor_rollout_ref.actor.optim.lr={lr}",
        "actor_rollout_ref.actor.optim.total_training_steps=100",
        "actor_rollout_ref.actor.shuffle=true",
        *overrides,
    )
    actor_config = omega_conf_to_dataclass(cfg.actor_rollout_ref.actor)
    model_config = omega_conf_to_dataclass(cfg.actor_rollout_ref.model)
    actor_config.model_config = model_config
    training = TrainingWorkerConfig(
        model_type="language_model",
        model_config=model_config,
        engine_config=actor_config.engine,
        optimizer_config=actor_config.optim,
        checkpoint_config=actor_config.checkpoint,
    )
    training.engine_config.use_remove_padding = model_config.get("use_remove_padding", False)
    worker = TrainingWorker(config=training)
    worker.reset()
    worker.set_loss_fn(partial(ppo_loss, config=actor_config))
    return worker, actor_config, float(cfg.actor_rollout_ref.rollout.temperature)


def no_padding(rollout: dict, temperature: float, **tensors):
    from tensordict import TensorDict

    from verl.utils import tensordict_utils as tu
    from verl.workers.utils.padding import left_right_2_no_padding

    td = TensorDict({**rollout, **tensors}, batch_size=[rollout["input_ids"].shape[0]])
    td = left_right_2_no_padding(td)
    tu.assign_non_tensor(td, temperature=temperature)
    return td


def current_log_probs(worker, rollout, temperature):
    from verl.utils import tensordict_utils as tu
    from verl.workers.utils.padding import no_padding_2_padding

    td = no_padding(rollout, temperature)
    tu.assign_non_tensor(td, calculate_entropy=True, compute_loss=False, use_dynamic_bsz=False,
                         micro_batch_size_per_gpu=2)
    output = worker.infer_batch(td)  # the model outputs are its tensor entries
    return (no_padding_2_padding(output["log_probs"], td).float(),
            no_padding_2_padding(output["entropy"], td).float())


def train(worker, rollout, old_log_probs, advantages, temperature, *, mini_batch_size, epochs,
          micro_batch_size=None, max_token_len=None, reduce=True):
    """``TrainingWorker.train_mini_batch`` on the batch; its metrics reduced as the trainer reduces them
    (``reduce=False``: as the worker returns them, a list of one value per update for per-update ones)."""
    from verl.utils import tensordict_utils as tu

    td = no_padding(rollout, temperature, old_log_probs=old_log_probs, advantages=advantages)
    dynamic = max_token_len is not None
    tu.assign_non_tensor(
        td,
        calculate_entropy=True,
        global_batch_size=mini_batch_size,
        mini_batch_size=mini_batch_size,
        epochs=epochs,
        seed=7,
        dataloader_kwargs={"shuffle": True},
        use_dynamic_bsz=dynamic,
        max_token_len_per_gpu=max_token_len if dynamic else 10_000,
        micro_batch_size_per_gpu=micro_batch_size if micro_batch_size is not None else 1,
    )
    output = worker.train_mini_batch(td)
    if output is None:
        return None
    from verl.utils.metric import reduce_metrics

    if not reduce:
        return dict(tu.get(output, "metrics"))
    # what the trainer does with the worker's output (RayPPOTrainer._update_actor)
    return {k: float(v) for k, v in reduce_metrics(dict(tu.get(output, "metrics"))).items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rank", type=int, required=True)
    parser.add_argument("--world-size", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    os.environ.update(RANK=str(args.rank), WORLD_SIZE=str(args.world_size), LOCAL_RANK="0",
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(args.port))

    from verl_cpu_support import use_cpu_platform

    use_cpu_platform()
    # gloo only (verl's default backend string names the CPU twice on this platform)
    torch.distributed.init_process_group("gloo", rank=args.rank, world_size=args.world_size)
    import verl  # noqa: F401  (archer's plugin: loss, ppo_loss wrapper, whole-step patch)

    from archer.plugin import step_metrics

    assert step_metrics.installed(), "archer's TrainingWorker.train_mini_batch patch is not installed"
    worker, _, temperature = make_worker(args.model_dir)
    rollout, adv, log_ratio = build_batch()
    rows = slice(args.rank * N // args.world_size, (args.rank + 1) * N // args.world_size)
    shard = {k: v[rows] for k, v in rollout.items()}
    log_probs, entropy = current_log_probs(worker, shard, temperature)
    old = log_probs - log_ratio[rows]
    shard_adv = adv[rows]

    runs = {}
    if args.world_size == 1:
        common = dict(temperature=temperature)
        runs["micro_batch_1"] = train(worker, shard, old, shard_adv, mini_batch_size=N, epochs=1, micro_batch_size=1, **common)
        runs["whole_batch"] = train(worker, shard, old, shard_adv, mini_batch_size=N, epochs=1, micro_batch_size=N, **common)
        runs["dynamic_batching"] = train(worker, shard, old, shard_adv, mini_batch_size=N, epochs=1, max_token_len=20, **common)
        runs["two_mini_batches_three_epochs"] = train(worker, shard, old, shard_adv, mini_batch_size=N // 2, epochs=3,
                                                      micro_batch_size=2, **common)
        runs["on_policy"] = train(worker, shard, log_probs, shard_adv, mini_batch_size=N, epochs=1, micro_batch_size=1, **common)
        extra = {"entropy": entropy.tolist(), "response_mask": shard["response_mask"].tolist()}
    else:
        runs["dp2_micro_batch_1"] = train(worker, shard, old, shard_adv, temperature=temperature, mini_batch_size=N,
                                          epochs=1, micro_batch_size=1)
        extra = {}
    if args.rank == 0:
        args.out.write_text(json.dumps({"runs": runs, **extra}))
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
