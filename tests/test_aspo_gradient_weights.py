"""The per-token gradient weight of each ASPO region, checked with torch.autograd.grad against the
hand-written scalar reference in conftest.py."""

import math

import pytest
import torch

from archer.aspo import aspo_token_losses

EPS_LOW, EPS_HIGH, C = 0.2, 0.28, 3.0


def token_grads(old, new, adv, hard=False, **kwargs):
    new = new.clone().requires_grad_(True)
    mask = torch.ones_like(new, dtype=torch.bool)
    out = aspo_token_losses(
        old,
        new,
        adv,
        mask,
        clip_low=kwargs.pop("clip_low", EPS_LOW),
        clip_high=kwargs.pop("clip_high", EPS_HIGH),
        dual_clip_c=C,
        negative_dual_clip="hard" if hard else "soft",
        **kwargs,
    )
    (grad,) = torch.autograd.grad(out.loss.sum(), new)
    return out, grad


# (advantage, ratio, expected gradient weight w: d loss / d log_prob = -A * w)
REGIONS = {
    "positive_flipped_1_over_r": (1.5, 1.1, 1 / 1.1),
    "positive_flipped_below_one": (0.7, 0.5, 1 / 0.5),
    "positive_masked_above_1_plus_eps_high": (1.5, 1.4, 0.0),
    "positive_soft_dual_clip_1_over_r_above_c": (2.0, 0.2, C),
    "negative_plain_r": (-1.5, 1.1, 1.1),
    "negative_plain_r_up_to_c": (-0.5, 2.5, 2.5),
    "negative_masked_below_1_minus_eps_low": (-1.0, 0.7, 0.0),
    "negative_soft_dual_clip_r_above_c": (-1.0, 4.0, C),
    "zero_advantage_has_zero_gradient": (0.0, 1.05, 1 / 1.05),
}


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_each_region_has_its_gradient_weight(region):
    adv, ratio, weight = REGIONS[region]
    old = torch.tensor([-1.3])
    new = old + math.log(ratio)
    _, grad = token_grads(old, new, torch.tensor([adv]))
    torch.testing.assert_close(grad, torch.tensor([-adv * weight]), rtol=1e-5, atol=1e-7)


def test_hard_negative_dual_clip_has_constant_loss_and_zero_gradient():
    old = torch.tensor([-1.0, -1.0])
    new = old + torch.tensor([math.log(4.0), math.log(1.5)])
    adv = torch.tensor([-2.0, -2.0])
    out, grad = token_grads(old, new, adv, hard=True)
    torch.testing.assert_close(grad, torch.tensor([0.0, 2.0 * 1.5]))
    torch.testing.assert_close(out.loss.detach()[0], torch.tensor(2.0 * C))


def test_hard_and_soft_differ_only_where_negative_ratio_exceeds_c(h):
    old, new, adv, _, _ = h.make_batch(batch=16, length=32, spread=1.2, seed=3)
    soft_out, soft = token_grads(old, new, adv)
    hard_out, hard = token_grads(old, new, adv, hard=True)
    region = soft_out.dual_clipped_neg
    assert region.any() and (~region).any()
    torch.testing.assert_close(soft[~region], hard[~region])
    assert torch.all(hard[region] == 0)
    torch.testing.assert_close(soft[region], -adv[region] * C)
    # the positive-side dual clip is always soft
    assert torch.equal(soft_out.dual_clipped_pos, hard_out.dual_clipped_pos)


@pytest.mark.parametrize("hard", [False, True])
def test_random_tokens_match_scalar_reference(h, hard):
    old, new, adv, _, _ = h.make_batch(batch=8, length=40, spread=1.5, seed=11)
    out, grad = token_grads(old, new, adv, hard=hard)
    for b in range(old.shape[0]):
        for t in range(old.shape[1]):
            value, weight = h.token(old[b, t].item(), new[b, t].item(), adv[b, t].item(), EPS_LOW, EPS_HIGH, C, hard)
            assert out.loss[b, t].item() == pytest.approx(value, rel=1e-5, abs=1e-6)
            assert grad[b, t].item() == pytest.approx(weight, rel=1e-5, abs=1e-6)


def test_value_of_positive_token_is_minus_a_over_r():
    """-A * p/sg(p)/sg(p): value -A/r, gradient -(A/r) dlog_prob."""
    old = torch.tensor([-2.0])
    new = old + math.log(0.8)
    out, grad = token_grads(old, new, torch.tensor([3.0]))
    torch.testing.assert_close(out.loss.detach(), torch.tensor([-3.0 / 0.8]))
    torch.testing.assert_close(grad, torch.tensor([-3.0 / 0.8]))


def test_soft_dual_clip_value_is_minus_a_c_log_prob():
    old = torch.tensor([-0.5, -3.0])
    new = torch.tensor([-0.5 + math.log(5.0), -3.0 + math.log(0.1)])
    adv = torch.tensor([-1.0, 2.0])
    out, _ = token_grads(old, new, adv)
    torch.testing.assert_close(out.loss.detach(), -adv * C * new)


@pytest.mark.parametrize("agg", ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum"])
def test_on_policy_gradient_equals_verl_grpo_gradient(h, actor_config, agg):
    """At r = 1 every weight (r, 1/r) is 1 and nothing is clipped: ASPO's gradient is GRPO's."""
    from verl.trainer.ppo.core_algos import get_policy_loss_fn

    old, _, adv, entropy, mask = h.make_batch(batch=6, length=16, seed=5)
    grads = {}
    for mode in ("vanilla", "aspo"):
        config = actor_config()
        new = old.clone().requires_grad_(True)
        kwargs = {"entropy": entropy} if mode == "aspo" else {}
        loss, _ = get_policy_loss_fn(mode)(old, new, adv, mask, agg, config, None, **kwargs)
        (grads[mode],) = torch.autograd.grad(loss, new)
    assert grads["vanilla"].abs().sum() > 0
    torch.testing.assert_close(grads["aspo"], grads["vanilla"])
