"""The archer2 preset's dual-token KL is Archer2.0's: each entropy bucket's KL is the token mean over that
bucket's own tokens (their actor's ``agg_loss(kld, mask=<low-entropy tokens>)``, token-mean), weighted by
its coefficient (``kl_loss_coef`` for the low-entropy tokens, ``high_entropy_kl_loss_coef`` = 0 for the
others). Checked through verl's real ``ppo_loss`` against a hand-written reference of that formula, values
and gradients, for one micro-batch (their formula is per micro-batch)."""

from __future__ import annotations


import pytest
import torch

import verl  # noqa: F401  (loads the archer plugin)
import verl.workers.utils.losses as verl_losses
from kl_support import loss_and_grad, low_var_kl, make_inputs

KL_COEF = 0.05
KL_ON = ("actor_rollout_ref.actor.use_kl_loss=true", f"actor_rollout_ref.actor.kl_loss_coef={KL_COEF}")



def archer2_reference(h, new, entropy, mask, ref, coef_low, coef_high):
    """coef_low * mean over low-entropy tokens of KL + coef_high * mean over high-entropy tokens of KL."""
    buckets = {"low": [], "high": []}
    for b in range(new.shape[0]):
        n = int(mask[b].sum())
        threshold = h.quantile(entropy[b, :n].tolist(), 0.8)
        for t in range(n):
            buckets["high" if entropy[b, t].item() > threshold else "low"].append((b, t))
    value, grad = 0.0, torch.zeros_like(new)
    for name, coef in (("low", coef_low), ("high", coef_high)):
        tokens = buckets[name]
        for b, t in tokens:
            v, g = low_var_kl(new[b, t].item(), ref[b, t].item())
            value += coef * v / len(tokens)
            grad[b, t] = coef * g / len(tokens)
    return value, grad, {k: len(v) for k, v in buckets.items()}



def test_archer2_preset_selects_the_bucket_token_mean(actor_config):
    policy_loss = actor_config().policy_loss
    assert policy_loss.dual_token_kl_normalization == "bucket"
    assert policy_loss.high_entropy_kl_loss_coef == 0.0


@pytest.mark.parametrize("coef_high", [0.0, 0.2])
def test_bucket_kl_equals_archer2_formula_values_and_gradients(h, actor_config, coef_high):
    inputs = make_inputs(h)
    _, new, _, entropy, mask, ref = inputs
    no_kl = actor_config()
    dual = actor_config(*KL_ON, f"actor_rollout_ref.actor.policy_loss.high_entropy_kl_loss_coef={coef_high}")
    loss0, _, grad0 = loss_and_grad(h, no_kl, *inputs)
    loss1, _, grad1 = loss_and_grad(h, dual, *inputs)
    ref_value, ref_grad, sizes = archer2_reference(h, new, entropy, mask, ref, KL_COEF, coef_high)
    assert sizes["low"] > 0 and sizes["high"] > 0
    assert (loss1 - loss0).item() == pytest.approx(ref_value, rel=1e-5, abs=5e-7)  # float32 losses
    torch.testing.assert_close(grad1 - grad0, ref_grad, rtol=1e-4, atol=1e-8)


def test_bucket_kl_is_all_tokens_kl_times_tokens_over_low_entropy_tokens(h, actor_config):
    """With the high-entropy coefficient 0, the bucket mean is the all-tokens value scaled by n / n_low
    (about 1 / 0.8 with the 0.8 quantile): the strength gap the all_tokens normalisation had."""
    inputs = make_inputs(h, seed=7)
    _, new, _, entropy, mask, ref = inputs
    loss0, _, _ = loss_and_grad(h, actor_config(), *inputs)
    bucket, _, _ = loss_and_grad(h, actor_config(*KL_ON), *inputs)
    all_tokens, _, _ = loss_and_grad(
        h, actor_config(*KL_ON, "actor_rollout_ref.actor.policy_loss.dual_token_kl_normalization=all_tokens"), *inputs
    )
    _, _, sizes = archer2_reference(h, new, entropy, mask, ref, KL_COEF, 0.0)
    n = sizes["low"] + sizes["high"]
    assert (bucket - loss0).item() == pytest.approx((all_tokens - loss0).item() * n / sizes["low"], rel=1e-4, abs=5e-7)


def test_bucket_kl_with_another_aggregation_names_both_keys(h, actor_config):
    config = actor_config(*KL_ON, "actor_rollout_ref.actor.loss_agg_mode=seq-mean-token-mean")
    old, new, adv, entropy, mask, ref = make_inputs(h)
    data, model_output, _, _ = h.to_verl(old, new, adv, entropy, mask, ref_log_prob=ref)
    with pytest.raises(ValueError, match=r"dual_token_kl_normalization.*loss_agg_mode"):
        verl_losses.ppo_loss(config, model_output, data)


def test_unknown_normalization_is_rejected_with_the_choices(actor_config):
    with pytest.raises(Exception, match=r"dual_token_kl_normalization.*bucket"):
        actor_config("actor_rollout_ref.actor.policy_loss.dual_token_kl_normalization=bukcet")
