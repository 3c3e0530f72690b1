"""Dual-token KL through verl's real ``ppo_loss``: ``high_entropy_kl_loss_coef`` weights the KL of the
high-entropy tokens (ASPO's entropy bucket), ``kl_loss_coef`` the others; null is verl's uniform KL.
Here with ``dual_token_kl_normalization=all_tokens`` (verl's normalisation), checked against a hand-written
per-token reference (values and gradients), for every aggregation mode, and split into micro-batches. The
archer2 preset's ``bucket`` normalisation: tests/test_dual_token_kl_matches_archer2_formula.py."""

from __future__ import annotations


import pytest
import torch

import verl  # noqa: F401  (loads the archer plugin)
import verl.workers.utils.losses as verl_losses
from kl_support import loss_and_grad, low_var_kl, make_inputs

KL_COEF = 0.05
ALL_TOKENS = "actor_rollout_ref.actor.policy_loss.dual_token_kl_normalization=all_tokens"





def finalized(metrics) -> dict:
    from archer.aspo import finalize_metric_parts
    from verl.utils.metric import reduce_metrics

    return finalize_metric_parts(reduce_metrics(dict(metrics)))


def reference_kl_term(h, new, entropy, mask, ref, coef_low, coef_high):
    """token-mean of coef(token) * KL(token), the bucket from hand-computed per-response quantiles."""
    total = mask.sum().item()
    value, grad = 0.0, torch.zeros_like(new)
    for b in range(new.shape[0]):
        n = int(mask[b].sum())
        threshold = h.quantile(entropy[b, :n].tolist(), 0.8)
        for t in range(n):
            coef = coef_high if entropy[b, t].item() > threshold else coef_low
            v, g = low_var_kl(new[b, t].item(), ref[b, t].item())
            value += coef * v / total
            grad[b, t] = coef * g / total
    return value, grad


@pytest.mark.parametrize("coef_high", [0.0, 0.2])
def test_high_entropy_tokens_get_their_own_kl_coefficient(h, actor_config, coef_high):
    base = ["actor_rollout_ref.actor.use_kl_loss=true", f"actor_rollout_ref.actor.kl_loss_coef={KL_COEF}"]
    inputs = make_inputs(h)
    old, new, adv, entropy, mask, ref = inputs
    no_kl = actor_config()
    dual = actor_config(*base, ALL_TOKENS, f"actor_rollout_ref.actor.policy_loss.high_entropy_kl_loss_coef={coef_high}")
    loss0, _, grad0 = loss_and_grad(h, no_kl, *inputs)
    loss1, metrics, grad1 = loss_and_grad(h, dual, *inputs)
    ref_value, ref_grad = reference_kl_term(h, new, entropy, mask, ref, KL_COEF, coef_high)
    assert (loss1 - loss0).item() == pytest.approx(ref_value, rel=1e-5, abs=1e-7)
    torch.testing.assert_close(grad1 - grad0, ref_grad, rtol=1e-4, atol=1e-7)
    # each bucket metric is that bucket's token-mean KL; weighted by the bucket sizes they give verl's kl_loss
    values = finalized(metrics)
    n_high = sum(
        sum(1 for t in range(int(mask[b].sum())) if entropy[b, t].item() > h.quantile(entropy[b, : int(mask[b].sum())].tolist(), 0.8))
        for b in range(mask.shape[0])
    )
    n_valid = int(mask.sum())
    assert (values["actor/kl_high_entropy"] * n_high + values["actor/kl_low_entropy"] * (n_valid - n_high)) / n_valid == (
        pytest.approx(values["kl_loss"], rel=1e-5)
    )


def test_null_coefficient_is_verl_uniform_kl(h, actor_config):
    inputs = make_inputs(h, seed=5)
    uniform = actor_config(
        "actor_rollout_ref.actor.use_kl_loss=true",
        f"actor_rollout_ref.actor.kl_loss_coef={KL_COEF}",
        "actor_rollout_ref.actor.policy_loss.high_entropy_kl_loss_coef=null",
    )
    same = actor_config(
        ALL_TOKENS,
        "actor_rollout_ref.actor.use_kl_loss=true",
        f"actor_rollout_ref.actor.kl_loss_coef={KL_COEF}",
        f"actor_rollout_ref.actor.policy_loss.high_entropy_kl_loss_coef={KL_COEF}",
    )
    assert uniform.policy_loss.high_entropy_kl_loss_coef is None
    loss_u, metrics_u, grad_u = loss_and_grad(h, uniform, *inputs)
    loss_s, _, grad_s = loss_and_grad(h, same, *inputs)
    assert "actor/kl_high_entropy" not in finalized(metrics_u)  # nothing added: verl's own term only
    torch.testing.assert_close(loss_s, loss_u)
    torch.testing.assert_close(grad_s, grad_u)
    _, ref_grad = reference_kl_term(h, inputs[1], inputs[3], inputs[4], inputs[5], KL_COEF, KL_COEF)
    loss0, _, grad0 = loss_and_grad(h, actor_config(), *inputs)
    torch.testing.assert_close(grad_u - grad0, ref_grad, rtol=1e-4, atol=1e-7)


def test_presets_archer2_kl_on_low_entropy_tokens_only_paper_uniform(actor_config):
    assert actor_config().policy_loss.high_entropy_kl_loss_coef == 0.0
    assert actor_config("aspo_preset=paper").policy_loss.high_entropy_kl_loss_coef is None


@pytest.mark.parametrize("agg", ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum"])
def test_two_micro_batches_with_global_batch_info_equal_one_batch(h, actor_config, agg):
    from verl.utils import tensordict_utils as tu

    config = actor_config(
        ALL_TOKENS,
        "actor_rollout_ref.actor.use_kl_loss=true",
        f"actor_rollout_ref.actor.kl_loss_coef={KL_COEF}",
        "actor_rollout_ref.actor.policy_loss.high_entropy_kl_loss_coef=0.0",
        f"actor_rollout_ref.actor.loss_agg_mode={agg}",
    )
    old, new, adv, entropy, mask, ref = make_inputs(h, seed=9)
    whole, _, _ = loss_and_grad(h, config, old, new, adv, entropy, mask, ref)
    total_tokens, total_rows = int(mask.sum()), mask.shape[0]
    parts = 0.0
    for rows in (slice(0, 2), slice(2, None)):
        data, model_output, _, _ = h.to_verl(old[rows], new[rows], adv[rows], entropy[rows], mask[rows], ref_log_prob=ref[rows])
        tu.assign_non_tensor(data, dp_size=1, batch_num_tokens=total_tokens, global_batch_size=total_rows)
        loss, _ = verl_losses.ppo_loss(config, model_output, data)
        parts += loss.item()
    assert parts == pytest.approx(whole.item(), rel=1e-5, abs=1e-7)


def test_dual_token_kl_without_entropy_names_the_switch(h, actor_config):
    config = actor_config(
        "aspo_preset=paper",
        "actor_rollout_ref.actor.use_kl_loss=true",
        "actor_rollout_ref.actor.policy_loss.high_entropy_kl_loss_coef=0.0",
    )
    old, new, adv, entropy, mask, ref = make_inputs(h)
    data, model_output, _, _ = h.to_verl(old, new, adv, entropy, mask, ref_log_prob=ref)
    del model_output["entropy"]  # calculate_entropy=false in the paper preset
    with pytest.raises(ValueError, match=r"calculate_entropy"):
        verl_losses.ppo_loss(config, model_output, data)
