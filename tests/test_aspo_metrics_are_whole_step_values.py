"""Every ASPO metric is its value over the whole update step, however verl batches the step.

verl's real ``TrainingWorker.train_mini_batch`` (tests/aspo_step_metrics_driver.py, learning rate 0 so the
ratios stay the designed ones) runs the same 8-response batch with micro-batches of 1, the whole batch as
one micro-batch, dynamic batching, 2 mini-batches x 3 epochs, and on 2 gloo data-parallel ranks. Each run's
metrics must equal the values worked out by hand from the batch design over all 8 responses; before the
whole-step patch, a micro-batch without a response of one sign counted as 0 in that sign's mean (an
on-policy run logged is_ratio_mean_pos / _neg = 0.375 / 0.625, the shares of each sign)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from verl_cpu_support import ADVANTAGES, OFF_POLICY_RATIOS, build_tiny_model, strictly_above_row_quantile

from archer.aspo import METRIC_NAMES

DRIVER = Path(__file__).with_name("aspo_step_metrics_driver.py")
ENTROPY_QUANTILE = 0.8
C = 3.0


def free_ports(n: int) -> list[int]:
    """n distinct free ports (all bound at once while chosen)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def start_driver(model_dir: Path, out: Path, world_size: int, port: int) -> list[subprocess.Popen]:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env.update(OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return [
        subprocess.Popen([sys.executable, str(DRIVER), "--rank", str(rank), "--world-size", str(world_size),
                          "--port", str(port), "--model-dir", str(model_dir), "--out", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
        for rank in range(world_size)
    ]


def finish_driver(procs: list[subprocess.Popen], out: Path) -> dict:
    logs = [p.communicate(timeout=300)[0] for p in procs]
    for rank, (p, log) in enumerate(zip(procs, logs)):
        assert p.returncode == 0, f"rank {rank} of {len(procs)} failed:\n{log[-4000:]}"
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("step_metrics")
    model_dir = build_tiny_model(tmp / "model")
    # the one-rank and the two-rank run side by side (three processes that mostly import verl)
    port_one, port_two = free_ports(2)
    one = start_driver(model_dir, tmp / "dp1.json", 1, port_one)
    two = start_driver(model_dir, tmp / "dp2.json", 2, port_two)
    return finish_driver(one, tmp / "dp1.json"), finish_driver(two, tmp / "dp2.json")


def expected_metrics(entropy: torch.Tensor, mask: torch.Tensor) -> dict[str, float]:
    """The batch design, by hand (archer2 preset: eps 0.2, high-entropy eps 0.4, c = 3), per response
    i by i % 4: 0 A>0 r=1.3 (masked unless high-entropy), 1 A<0 r=1/1.3 (masked unless high-entropy),
    2 A>0 1/r=4 > c (all dual-clipped), 3 A<0 r=4 > c (all dual-clipped)."""
    high = strictly_above_row_quantile(entropy, mask, ENTROPY_QUANTILE)
    n_valid = mask.sum().item()
    kind = [i % 4 for i in range(mask.shape[0])]
    tokens = mask.sum(-1).tolist()
    masked_upper = sum((mask[i] & ~high[i]).sum().item() for i in range(len(kind)) if kind[i] == 0)
    masked_lower = sum((mask[i] & ~high[i]).sum().item() for i in range(len(kind)) if kind[i] == 1)
    pos_tokens = sum(t for t, k in zip(tokens, kind) if ADVANTAGES[k] > 0)
    neg_tokens = sum(t for t, k in zip(tokens, kind) if ADVANTAGES[k] < 0)
    dual_pos = sum(t for t, k in zip(tokens, kind) if k == 2)
    dual_neg = sum(t for t, k in zip(tokens, kind) if k == 3)
    log_r = sum(t * torch.tensor(OFF_POLICY_RATIOS[k]).log().item() for t, k in zip(tokens, kind))
    pos = [i for i, k in enumerate(kind) if ADVANTAGES[k] > 0]
    neg = [i for i, k in enumerate(kind) if ADVANTAGES[k] < 0]

    def response_mean(x: torch.Tensor, rows: list[int]) -> float:
        return sum(x[i][mask[i]].mean().item() for i in rows) / len(rows)

    return {
        "actor/pg_clipfrac": (masked_upper + masked_lower) / n_valid,
        "actor/pg_clipfrac_lower": dual_neg / n_valid,
        "actor/ppo_kl": -log_r / n_valid,
        "actor/aspo/clipfrac_upper": masked_upper / n_valid,
        "actor/aspo/clipfrac_lower": masked_lower / n_valid,
        "actor/aspo/dual_clipfrac_pos": dual_pos / pos_tokens,
        "actor/aspo/dual_clipfrac_neg": dual_neg / neg_tokens,
        "actor/aspo/is_ratio_mean_pos": sum(OFF_POLICY_RATIOS[kind[i]] for i in pos) / len(pos),
        "actor/aspo/is_ratio_mean_neg": sum(OFF_POLICY_RATIOS[kind[i]] for i in neg) / len(neg),
        "actor/aspo/entropy_mean_pos": response_mean(entropy, pos),
        "actor/aspo/entropy_mean_neg": response_mean(entropy, neg),
        "actor/aspo/high_entropy_frac": high.sum().item() / n_valid,
    }


OFF_POLICY_RUNS = ("micro_batch_1", "whole_batch", "dynamic_batching", "two_mini_batches_three_epochs")


@pytest.mark.slow
def test_every_batching_gives_the_hand_computed_whole_step_values(results):
    one, two = results
    entropy = torch.tensor(one["entropy"])
    mask = torch.tensor(one["response_mask"]).bool()
    expected = expected_metrics(entropy, mask)
    assert set(expected) == set(METRIC_NAMES)
    runs = {name: one["runs"][name] for name in OFF_POLICY_RUNS}
    runs["dp2_micro_batch_1"] = two["runs"]["dp2_micro_batch_1"]
    for run, metrics in runs.items():
        for name, value in expected.items():
            assert metrics[name] == pytest.approx(value, rel=1e-5, abs=1e-6), f"{run}: {name}"
        assert not any("@" in key for key in metrics), f"{run}: raw metric parts reached the trainer"


@pytest.mark.slow
def test_batchings_agree_to_float_precision(results):
    one, two = results
    runs = [one["runs"][name] for name in OFF_POLICY_RUNS] + [two["runs"]["dp2_micro_batch_1"]]
    worst = max(abs(run[name] - runs[0][name]) for run in runs for name in METRIC_NAMES)
    assert worst < 1e-5, worst


@pytest.mark.slow
def test_on_policy_is_ratio_means_are_one(results):
    one, _ = results
    metrics = one["runs"]["on_policy"]
    assert metrics["actor/aspo/is_ratio_mean_pos"] == pytest.approx(1.0, abs=1e-6)
    assert metrics["actor/aspo/is_ratio_mean_neg"] == pytest.approx(1.0, abs=1e-6)
    for name in ("actor/pg_clipfrac", "actor/pg_clipfrac_lower", "actor/aspo/dual_clipfrac_pos",
                 "actor/aspo/dual_clipfrac_neg"):
        assert metrics[name] == 0.0, name
