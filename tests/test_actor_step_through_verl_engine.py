"""End-to-end ASPO actor updates through verl's real FSDP2 engine, on CPU.

Nothing of verl is mocked. The actor config is composed from archer's own hydra preset
(``aspo_trainer`` + ``aspo_preset=archer2``), the tiny Qwen2 model and its word-level tokenizer are
built locally (no hub access), and each update runs through ``FSDPEngineWithLMHead`` (strategy
``fsdp2``, ``attn_implementation: sdpa``) over a gloo process group, with
``loss_function=partial(verl.workers.utils.losses.ppo_loss, config=actor_config)`` exactly as
``verl.workers.engine_workers.ActorRolloutRefWorker`` wires it. That ``ppo_loss`` is archer's wrapped
one (``import verl`` loads the plugin), which hands verl's per-token entropy to the ASPO loss.

verl detects no accelerator on a CPU-only host and falls back to the CUDA platform
(``get_device_name() == "cuda"``). The tests route around it with verl's own extension points:
a small ``PlatformBase`` subclass registered as "cpu" and installed with ``set_platform``, and
``FSDPEngineWithLMHead`` registered in ``EngineRegistry`` for device "cpu".

Batches have the layout verl's trainer gives the actor worker (left-padded prompts, right-padded
responses, converted with ``left_right_2_no_padding``); old log-probs and entropies are computed by
the same engine's forward-only pass, as ``RayPPOTrainer._compute_old_log_prob`` does.

The two-rank test runs this file as a script in two subprocesses (``--worker``).
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

import verl  # noqa: F401  (loads archer's verl plugin: loss_mode=aspo and the wrapped ppo_loss)
import verl.workers.utils.losses as verl_losses
from verl.plugin.platform import platform_manager

from archer.plugin.config import AspoPolicyLossConfig

# CPU platform, engine registration, gloo group and tiny model (shared with the export tests)
from verl_cpu_support import (
    ADVANTAGES,
    N_RESPONSES,
    RESPONSE_LEN,
    VOCAB,
    EngineActor,
    advantages_for,
    build_tiny_model,
    compose_engine_config,
    expected_aspo_metrics,
    init_gloo,
    make_rollout,
    off_policy_old_log_probs,
    strictly_above_row_quantile,
    use_cpu_platform,
)


ASPO_METRICS = (
    "actor/aspo/clipfrac_upper",
    "actor/aspo/clipfrac_lower",
    "actor/pg_clipfrac_lower",
    "actor/aspo/dual_clipfrac_pos",
    "actor/aspo/dual_clipfrac_neg",
    "actor/aspo/high_entropy_frac",
    "actor/aspo/is_ratio_mean_pos",
)

# the archer2 preset's values (asserted against the composed config below)
EPS = 0.2
HIGH_ENTROPY_EPS = 0.4
ENTROPY_QUANTILE = 0.8
DUAL_CLIP_C = 3.0

# ---------------------------------------------------------------------------------------------------
# tiny model, tokenizer, config


def compose_configs(model_dir: Path, *overrides: str, micro_batch_size: int = N_RESPONSES):
    """(actor config, model config, rollout temperature) composed from archer's ``aspo_trainer``."""
    from verl.utils.config import omega_conf_to_dataclass

    tiny = [
        f"actor_rollout_ref.actor.ppo_mini_batch_size={N_RESPONSES}",
        f"actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu={micro_batch_size}",
        # fp32 compute: bf16 autocast on CPU would blur the log-prob differences asserted on
        "+actor_rollout_ref.actor.fsdp_config.mixed_precision="
        "{param_dtype: fp32, reduce_dtype: fp32, buffer_dtype: fp32}",
        # plain SGD with a small lr, so one step moves log-probs along the first-order direction
        "actor_rollout_ref.actor.optim.optimizer=SGD",
        "actor_rollout_ref.actor.optim.weight_decay=0.0",
        "actor_rollout_ref.actor.optim.lr=0.01",
        "actor_rollout_ref.actor.optim.total_training_steps=1",
    ]
    cfg = compose_engine_config(model_dir, *tiny, *overrides)
    actor_config = omega_conf_to_dataclass(cfg.actor_rollout_ref.actor)
    model_config = omega_conf_to_dataclass(cfg.actor_rollout_ref.model)
    actor_config.model_config = model_config
    return actor_config, model_config, float(cfg.actor_rollout_ref.rollout.temperature)


class Actor(EngineActor):
    """verl's FSDP2 engine for the tiny model, composed from archer's config (see EngineActor)."""

    def __init__(self, model_dir: Path, *overrides: str, micro_batch_size: int = N_RESPONSES):
        super().__init__(*compose_configs(model_dir, *overrides, micro_batch_size=micro_batch_size))


# ---------------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """CPU platform + engine registration, a single-rank gloo group and the tiny model, for the module."""
    tmp = tmp_path_factory.mktemp("aspo_engine")
    previous = use_cpu_platform()
    started = init_gloo(tmp / "gloo_init", rank=0, world_size=1)
    try:
        yield build_tiny_model(tmp / "model")
    finally:
        if started:
            dist.destroy_process_group()
        platform_manager._current_platform = previous


# ---------------------------------------------------------------------------------------------------
# tests


def test_aspo_step_uses_entropy_dependent_eps_and_reports_aspo_metrics(model_dir):
    actor = Actor(model_dir)
    policy_loss = actor.config.policy_loss
    assert isinstance(policy_loss, AspoPolicyLossConfig) and policy_loss.loss_mode == "aspo"
    assert actor.config.calculate_entropy is True
    assert (actor.config.clip_ratio_low, actor.config.clip_ratio_high) == (EPS, EPS)
    assert (policy_loss.high_entropy_clip_ratio_low, policy_loss.high_entropy_clip_ratio_high) == (
        HIGH_ENTROPY_EPS,
        HIGH_ENTROPY_EPS,
    )
    assert policy_loss.entropy_quantile == ENTROPY_QUANTILE and policy_loss.entropy_quantile_scope == "sequence"
    assert policy_loss.dual_clip_c == DUAL_CLIP_C and policy_loss.negative_dual_clip == "soft"
    assert getattr(verl_losses.ppo_loss, "__archer_wrapped__", False), "archer's ppo_loss wrapper is not installed"

    rollout = make_rollout()
    mask = rollout["response_mask"].bool()
    log_probs, _ = actor.log_probs_and_entropy(rollout)
    before = actor.parameters()

    metrics, update_output = actor.update(
        rollout, off_policy_old_log_probs(log_probs), advantages_for(rollout), global_batch_size=N_RESPONSES
    )

    for name in (*ASPO_METRICS, "actor/pg_loss", "grad_norm"):
        assert name in metrics, f"{name} missing from {sorted(metrics)}"
    assert all(math.isfinite(float(v)) for v in metrics.values()), metrics
    assert metrics["grad_norm"] > 0

    # the update forward reproduces the forward-only log-probs, so the ratios are the designed ones
    torch.testing.assert_close(update_output["log_probs"][mask], log_probs[mask], rtol=0, atol=1e-5)

    # expected metrics, from the entropy of the update forward and an independent quantile
    high = strictly_above_row_quantile(update_output["entropy"], mask, ENTROPY_QUANTILE)
    n_valid = mask.sum().item()
    tokens = mask.sum(-1).tolist()
    assert high[0].any() and high[1].any() and not high[0].all() and not high[1].all()
    expected = expected_aspo_metrics(high, mask)
    for name, value in expected.items():
        assert metrics[name] == pytest.approx(value, rel=1e-4, abs=1e-6), name
    # a uniform eps of 0.2 would have masked every token of responses 0 and 1
    assert metrics["actor/aspo/clipfrac_upper"] < tokens[0] / n_valid
    assert metrics["actor/aspo/clipfrac_lower"] < tokens[1] / n_valid

    after = actor.parameters()
    assert any(not torch.equal(before[k], after[k]) for k in before), "the step left every parameter unchanged"
    assert all(torch.isfinite(p).all() for p in after.values())


def test_on_policy_step_raises_positive_and_lowers_negative_response_log_probs(model_dir):
    actor = Actor(model_dir)
    rollout = make_rollout(seed=2)
    mask = rollout["response_mask"].bool()
    advantages = advantages_for(rollout)
    log_probs, _ = actor.log_probs_and_entropy(rollout)
    before = actor.parameters()

    # on-policy: old log-probs are the engine's own, so r = 1 and no token is clipped
    metrics, _ = actor.update(rollout, log_probs, advantages, global_batch_size=N_RESPONSES)
    assert metrics["actor/aspo/is_ratio_mean_pos"] == pytest.approx(1.0, abs=1e-5)
    assert metrics["actor/aspo/is_ratio_mean_neg"] == pytest.approx(1.0, abs=1e-5)
    for name in ASPO_METRICS[:4]:
        assert metrics[name] == 0.0, name
    # at r = 1 the ASPO loss value is the token-mean of -A
    assert metrics["actor/pg_loss"] == pytest.approx(-(advantages.sum() / mask.sum()).item(), rel=1e-5)

    after = actor.parameters()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert changed, "the step left every parameter unchanged"
    assert all(torch.isfinite(p).all() for p in after.values())

    new_log_probs, _ = actor.log_probs_and_entropy(rollout)
    change = ((new_log_probs - log_probs) * mask).sum(-1)
    for i, adv in enumerate(ADVANTAGES):
        if adv > 0:
            assert change[i] > 0, f"log-prob of positive response {i} did not go up: {change.tolist()}"
        else:
            assert change[i] < 0, f"log-prob of negative response {i} did not go down: {change.tolist()}"


def test_entropy_eps_without_calculate_entropy_fails_naming_the_switch(model_dir):
    actor = Actor(model_dir, "aspo_preset=archer2", "actor_rollout_ref.actor.calculate_entropy=false")
    assert actor.config.calculate_entropy is False
    assert actor.config.policy_loss.high_entropy_clip_ratio_low == HIGH_ENTROPY_EPS
    rollout = make_rollout()
    old_log_probs = torch.full(rollout["responses"].shape, -math.log(VOCAB))
    before = actor.parameters()

    with pytest.raises(ValueError, match=r"actor_rollout_ref\.actor\.calculate_entropy"):
        actor.update(rollout, old_log_probs, advantages_for(rollout), global_batch_size=N_RESPONSES)

    after = actor.parameters()
    assert all(torch.equal(before[k], after[k]) for k in before), "a failed step changed parameters"


def low_var_kl(log_prob: torch.Tensor, ref_log_prob: torch.Tensor) -> torch.Tensor:
    """verl's low_var_kl per token, written out: exp(ref - lp) - (ref - lp) - 1 (values here stay far below
    verl's clamp at 10)."""
    x = ref_log_prob - log_prob
    return x.exp() - x - 1


def test_dual_token_kl_step_puts_the_kl_on_low_entropy_tokens_only(model_dir):
    """The archer2 preset's dual-token KL (kl_loss_coef on low-entropy tokens, 0 on high-entropy ones) through
    verl's engine: its bucket metrics are the hand-computed KL of each bucket, and its update equals a
    uniform-KL update whose reference agrees with the policy on the high-entropy tokens (KL and KL gradient 0
    there), i.e. the high-entropy tokens' KL moved no parameter."""
    kl = ["actor_rollout_ref.actor.use_kl_loss=true", "actor_rollout_ref.actor.kl_loss_coef=0.5",
          "actor_rollout_ref.actor.kl_loss_type=low_var_kl",
          # verl's normalisation, so that the uniform-KL twin below is the same objective (the preset's
          # bucket means: tests/test_dual_token_kl_matches_archer2_formula.py)
          "actor_rollout_ref.actor.policy_loss.dual_token_kl_normalization=all_tokens"]
    rollout = make_rollout(seed=4)
    mask = rollout["response_mask"].bool()
    advantages = advantages_for(rollout)
    dual = Actor(model_dir, *kl)
    assert dual.config.policy_loss.high_entropy_kl_loss_coef == 0.0
    log_probs, entropy = dual.log_probs_and_entropy(rollout)
    high = strictly_above_row_quantile(entropy, mask, ENTROPY_QUANTILE)
    assert high.any() and (mask & ~high).any()
    # a reference policy 0.3 nats away from the current one on every token, alternating in sign
    offset = 0.3 * (1 - 2 * (torch.arange(RESPONSE_LEN) % 2)).float()
    ref = log_probs + offset

    before = dual.parameters()
    metrics, update_output = dual.update(rollout, log_probs, advantages, global_batch_size=N_RESPONSES, ref_log_prob=ref)
    dual_step = {k: v - before[k] for k, v in dual.parameters().items()}
    torch.testing.assert_close(update_output["entropy"][mask], entropy[mask], rtol=0, atol=1e-5)
    assert torch.equal(strictly_above_row_quantile(update_output["entropy"], mask, ENTROPY_QUANTILE), high)

    kld = low_var_kl(log_probs, ref)
    n_valid = mask.sum().item()
    # each bucket's token-mean KL (verl's worker adds the "actor/" prefix to kl_loss only)
    low = mask & ~high
    assert metrics["actor/kl_high_entropy"] == pytest.approx((kld * high).sum().item() / high.sum().item(), rel=1e-4)
    assert metrics["actor/kl_low_entropy"] == pytest.approx((kld * low).sum().item() / low.sum().item(), rel=1e-4)
    assert metrics["kl_loss"] == pytest.approx((kld * mask).sum().item() / n_valid, rel=1e-4)

    # the same step with verl's uniform KL and a reference equal to the policy on the high-entropy tokens
    uniform = Actor(model_dir, *kl, "actor_rollout_ref.actor.policy_loss.high_entropy_kl_loss_coef=null")
    assert uniform.parameters().keys() == before.keys()
    assert all(torch.equal(uniform.parameters()[k], before[k]) for k in before)
    ref_low_only = torch.where(high, log_probs, ref)
    uniform.update(rollout, log_probs, advantages, global_batch_size=N_RESPONSES, ref_log_prob=ref_low_only)
    uniform_step = {k: v - before[k] for k, v in uniform.parameters().items()}
    for name in before:
        torch.testing.assert_close(dual_step[name], uniform_step[name], rtol=1e-4, atol=1e-8, msg=name)
    assert any(dual_step[k].abs().max() > 0 for k in dual_step)


# ---------------------------------------------------------------------------------------------------
# two data-parallel ranks


def _rank_slice(rank: int) -> slice:
    half = N_RESPONSES // 2
    return slice(rank * half, (rank + 1) * half)


def _worker_main(argv: list[str]) -> None:
    """One rank of the two-rank update: its half of the batch, one step, full parameters to --out."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--rank", type=int, required=True)
    parser.add_argument("--world-size", type=int, required=True)
    parser.add_argument("--init-file", type=Path, required=True)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    use_cpu_platform()
    init_gloo(args.init_file, args.rank, args.world_size)
    data = torch.load(args.data)
    part = _rank_slice(args.rank)
    rollout = {k: v[part] for k, v in data["rollout"].items()}
    actor = Actor(args.model_dir, micro_batch_size=N_RESPONSES // args.world_size)
    actor.update(rollout, data["old_log_probs"][part], data["advantages"][part], global_batch_size=N_RESPONSES)
    params = actor.parameters()  # collective: every rank takes part
    if args.rank == 0:
        torch.save(params, args.out)
    dist.barrier()
    dist.destroy_process_group()


@pytest.mark.slow
def test_aspo_update_on_two_gloo_ranks_matches_the_single_rank_update(model_dir, tmp_path):
    """Ranks hold responses with different token counts; ASPO normalizes by verl's global token count,
    so the data-parallel update must equal the single-rank update of the whole batch."""
    rollout = make_rollout(seed=3)
    actor = Actor(model_dir)
    log_probs, _ = actor.log_probs_and_entropy(rollout)
    old_log_probs = off_policy_old_log_probs(log_probs)
    advantages = advantages_for(rollout)
    tokens = rollout["response_mask"].sum(-1)
    assert tokens[_rank_slice(0)].sum() != tokens[_rank_slice(1)].sum()

    before = actor.parameters()
    actor.update(rollout, old_log_probs, advantages, global_batch_size=N_RESPONSES)
    single_rank = actor.parameters()

    data = tmp_path / "batch.pt"
    torch.save({"rollout": rollout, "old_log_probs": old_log_probs, "advantages": advantages}, data)
    out = tmp_path / "two_ranks.pt"
    init_file = tmp_path / "gloo_init_2"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    logs = [tmp_path / f"rank{rank}.log" for rank in range(2)]
    procs = []
    for rank, log in enumerate(logs):
        with open(log, "w") as log_file:
            command = [sys.executable, __file__, "--worker", "--rank", str(rank), "--world-size", "2"]
            command += ["--init-file", str(init_file), "--model-dir", str(model_dir), "--data", str(data)]
            command += ["--out", str(out)]
            procs.append(subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + 240
    try:
        for proc in procs:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        pytest.fail("the two-rank workers did not finish in time")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for rank, (proc, log) in enumerate(zip(procs, logs)):
        assert proc.returncode == 0, f"rank {rank} failed:\n{log.read_text()[-4000:]}"

    two_ranks = torch.load(out)
    assert set(two_ranks) == set(single_rank)
    for name in single_rank:
        torch.testing.assert_close(
            two_ranks[name] - before[name], single_rank[name] - before[name], rtol=1e-4, atol=1e-7, msg=name
        )
    assert any(not torch.equal(before[k], single_rank[k]) for k in before)


if __name__ == "__main__" and "--worker" in sys.argv:
    _worker_main(sys.argv[1:])
