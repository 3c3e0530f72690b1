"""One process of tests/test_aspo_and_vanilla_updates_differ_only_off_policy.py.

For each loss (archer's ``aspo``, verl's ``vanilla`` PPO/GRPO loss) and each batching (on-policy: one
mini-batch, one epoch; off-policy: 2 mini-batches x 3 epochs, as the smoke runs several updates per
rollout), builds verl's real ``TrainingWorker`` from the same start weights (the tiny model on disk), takes
the start policy's log-probs as the rollout's old log-probs (the batch is on-policy when training starts)
and runs ``train_mini_batch`` with a non-zero learning rate. Writes, per run, the grad norm and pg_loss of
every update (as the worker returns them, before the trainer averages them) and the parameters before and
after, as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch

LR = 0.2  # SGD: large enough that the later updates of a rollout see ratios clearly away from 1
BATCHINGS = {"on_policy": dict(mini_batch_size=8, epochs=1), "off_policy": dict(mini_batch_size=4, epochs=3)}
LOSSES = ("aspo", "vanilla")


def parameters(worker) -> dict[str, list[float]]:
    """The FSDP module's full parameters, flattened."""
    return {k: (v.full_tensor() if hasattr(v, "full_tensor") else v).detach().float().flatten().tolist()
            for k, v in worker.engine.module.state_dict().items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(args.port))

    from verl_cpu_support import use_cpu_platform

    use_cpu_platform()
    torch.distributed.init_process_group("gloo", rank=0, world_size=1)
    import verl  # noqa: F401  (archer's plugin: loss_mode=aspo, the ppo_loss wrapper, the whole-step patch)

    from aspo_step_metrics_driver import build_batch, current_log_probs, make_worker, train

    rollout, adv, _ = build_batch()
    runs = {}
    for loss in LOSSES:
        for batching, sizes in BATCHINGS.items():
            worker, actor_config, temperature = make_worker(
                args.model_dir, LR, f"actor_rollout_ref.actor.policy_loss.loss_mode={loss}")
            assert actor_config.policy_loss.loss_mode == loss
            start, _ = current_log_probs(worker, rollout, temperature)  # the rollout policy = the start weights
            start_params = parameters(worker)
            metrics = train(worker, rollout, start, adv, temperature, micro_batch_size=2, reduce=False, **sizes)
            runs[f"{loss}/{batching}"] = {
                "grad_norm": [float(x) for x in metrics["grad_norm"]],
                "pg_loss": [float(x) for x in metrics["actor/pg_loss"]],
                "params_start": start_params,
                "params": parameters(worker),
            }
            del worker
    args.out.write_text(json.dumps({"runs": runs, "response_mask": rollout["response_mask"].tolist(),
                                    "advantages": adv.tolist()}))
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
