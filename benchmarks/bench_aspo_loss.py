"""Loss forward+backward time of ASPO vs verl's vanilla (GRPO/PPO) policy loss, measured in one run.

    python benchmarks/bench_aspo_loss.py [--batch 64] [--length 8192] [--device cpu|cuda] [--repeats 30]

Both losses are called exactly as verl calls them (the registered policy-loss functions, token-mean
aggregation, an actor config composed from archer's aspo_trainer.yaml). ASPO is timed with the
Archer2.0 preset (entropy-dependent eps: includes the per-response entropy quantile) and with the paper
preset (uniform eps). Prints medians and the ratios ASPO / vanilla; target <= 1.25.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

import verl  # noqa: F401  (loads the archer plugin)
from verl.trainer.ppo.core_algos import get_policy_loss_fn
from verl.utils.config import omega_conf_to_dataclass

CONFIG_DIR = Path(__file__).resolve().parents[1] / "archer" / "trainer" / "config"


def actor_config(*overrides):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        cfg = compose("aspo_trainer", overrides=["actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=1", *overrides])
    return omega_conf_to_dataclass(cfg.actor_rollout_ref.actor)


def make_inputs(batch, length, device):
    g = torch.Generator().manual_seed(0)
    old = -torch.rand(batch, length, generator=g) * 3
    new = old + torch.randn(batch, length, generator=g) * 0.3
    adv = torch.randn(batch, 1, generator=g).expand(batch, length).contiguous()
    entropy = torch.rand(batch, length, generator=g) * 2
    lengths = torch.randint(length // 2, length + 1, (batch,), generator=g)
    mask = torch.arange(length)[None, :] < lengths[:, None]
    return [t.to(device) for t in (old, new, adv, entropy, mask)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--length", type=int, default=8192)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    old, new, adv, entropy, mask = make_inputs(args.batch, args.length, args.device)
    cases = {
        "vanilla": (get_policy_loss_fn("vanilla"), actor_config(), {}),
        "aspo_archer2": (get_policy_loss_fn("aspo"), actor_config(), {"entropy": entropy}),
        "aspo_paper": (get_policy_loss_fn("aspo"), actor_config("aspo_preset=paper"), {}),
    }

    def sync():
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()

    def once(fn, config, extra):
        leaf = new.detach().requires_grad_(True)
        sync()
        start = time.perf_counter()
        loss, metrics = fn(old, leaf, adv, mask, "token-mean", config, None, **extra)
        loss.backward()
        sync()
        return time.perf_counter() - start

    times = {name: [] for name in cases}
    for _ in range(3):  # warm-up
        for name, case in cases.items():
            once(*case)
    for _ in range(args.repeats):  # interleaved, so drift hits every case alike
        for name, case in cases.items():
            times[name].append(once(*case))

    median = {name: statistics.median(ts) * 1e3 for name, ts in times.items()}
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"cpu ({torch.get_num_threads()} threads)"
    print(f"device: {device}; tokens: {args.batch} x {args.length}; repeats: {args.repeats}")
    for name, ms in median.items():
        print(f"{name:14s} fwd+bwd median {ms:8.2f} ms")
    for name in ("aspo_archer2", "aspo_paper"):
        ratio = median[name] / median["vanilla"]
        print(f"ratio {name} / vanilla = {ratio:.3f}  (target <= 1.25: {'OK' if ratio <= 1.25 else 'MISSED'})")


if __name__ == "__main__":
    main()
