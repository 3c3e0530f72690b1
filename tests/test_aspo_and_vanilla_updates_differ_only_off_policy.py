"""ASPO's update differs from verl's vanilla PPO/GRPO update off-policy, and equals it on-policy.

verl's real ``TrainingWorker.train_mini_batch`` (tests/aspo_vs_vanilla_update_driver.py) trains the same
8-response batch from the same start weights with ``loss_mode=aspo`` and ``loss_mode=vanilla`` (everything
else the same, as LOSS_MODE=vanilla in the launchers), the batch's old log-probs being the start policy's:

* on-policy (one mini-batch, one epoch): r = 1 on every token, where both losses have value -A and
  gradient weight -A per token: the same pg_loss (worked out by hand below), grad norm and new weights;
* off-policy (2 mini-batches x 3 epochs, the smoke's regime of several updates per rollout): the first
  update is on-policy and still the same; from the second on the ratio has moved, ASPO weighs A > 0 tokens
  by 1/r where vanilla weighs them by r, and the grad norms, pg_losses and the weights after differ.

The smoke's own checks that its default run is off-policy and that ASPO's clip terms act there are in
tests/test_smoke_off_policy.py."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from verl_cpu_support import ADVANTAGES, RESPONSE_LENS, build_tiny_model

DRIVER = Path(__file__).with_name("aspo_vs_vanilla_update_driver.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("aspo_vs_vanilla")
    model_dir = build_tiny_model(tmp / "model")
    out = tmp / "runs.json"
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env.update(OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    done = subprocess.run([sys.executable, str(DRIVER), "--port", str(free_port()), "--model-dir", str(model_dir),
                           "--out", str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return json.loads(out.read_text())["runs"]


def params(run: dict, key: str = "params") -> torch.Tensor:
    return torch.cat([torch.tensor(v) for v in run[key].values()])


def test_every_run_starts_from_the_same_weights(runs):
    start = params(runs["aspo/on_policy"], "params_start")
    for name, run in runs.items():
        assert torch.equal(params(run, "params_start"), start), name
        assert (params(run) - start).abs().max() > 1e-3, f"{name}: the update did not move the weights"


def test_on_policy_aspo_and_vanilla_updates_are_the_same(runs):
    aspo, vanilla = runs["aspo/on_policy"], runs["vanilla/on_policy"]
    assert len(aspo["grad_norm"]) == len(vanilla["grad_norm"]) == 1
    # r = 1 on every token: both losses are -A per token, token-mean over the 8 responses (2 x the 4 designed)
    tokens = 2 * sum(RESPONSE_LENS)
    by_hand = -2 * sum(a * n for a, n in zip(ADVANTAGES, RESPONSE_LENS)) / tokens
    assert aspo["pg_loss"][0] == pytest.approx(by_hand, rel=1e-5)
    assert vanilla["pg_loss"][0] == pytest.approx(by_hand, rel=1e-5)
    assert aspo["grad_norm"][0] == pytest.approx(vanilla["grad_norm"][0], rel=1e-5)
    moved = (params(aspo) - params(aspo, "params_start")).abs().max()
    assert (params(aspo) - params(vanilla)).abs().max() < 1e-4 * moved


def test_off_policy_aspo_and_vanilla_updates_differ_after_the_first_mini_batch(runs):
    aspo, vanilla = runs["aspo/off_policy"], runs["vanilla/off_policy"]
    assert len(aspo["grad_norm"]) == len(vanilla["grad_norm"]) == 6  # 2 mini-batches x 3 epochs
    # the first update is on-policy (same mini-batch: same shuffle seed): the same for both losses
    assert aspo["grad_norm"][0] == pytest.approx(vanilla["grad_norm"][0], rel=1e-5)
    assert aspo["pg_loss"][0] == pytest.approx(vanilla["pg_loss"][0], rel=1e-5, abs=1e-7)
    # the later ones see the ratio the earlier updates moved
    for update in range(1, 6):
        assert aspo["grad_norm"][update] != pytest.approx(vanilla["grad_norm"][update], rel=1e-2), update
    assert any(a != pytest.approx(v, rel=1e-2) for a, v in zip(aspo["pg_loss"][1:], vanilla["pg_loss"][1:]))
    moved = (params(aspo) - params(aspo, "params_start")).abs().max()
    assert (params(aspo) - params(vanilla)).abs().max() > 0.1 * moved
