"""Finite losses and gradients at extreme log-ratios and in bf16."""

import pytest
import torch

from archer.aspo import aspo_token_losses

KW = dict(clip_low=0.2, clip_high=0.2, high_entropy_clip_low=0.4, high_entropy_clip_high=0.4)


def extreme_batch(dtype=torch.float32):
    log_ratio = torch.linspace(-50, 50, 201)
    old = torch.full_like(log_ratio, -60.0)  # log-probs go down to -110 here: also very unlikely tokens
    new = old + log_ratio
    adv = torch.tensor([1.0, -1.0, 3.0, -0.2]).repeat(51)[:201]
    entropy = torch.rand(201, generator=torch.Generator().manual_seed(0))
    return [t.view(1, -1).to(dtype) for t in (old, new, adv, entropy)]


@pytest.mark.parametrize("negative_dual_clip", ["soft", "hard"])
@pytest.mark.parametrize("scope", ["sequence", "batch"])
def test_loss_and_gradient_are_finite_for_log_ratios_in_minus_50_to_50(negative_dual_clip, scope):
    old, new, adv, entropy = extreme_batch()
    new.requires_grad_(True)
    mask = torch.ones_like(new, dtype=torch.bool)
    out = aspo_token_losses(
        old, new, adv, mask, entropy=entropy, negative_dual_clip=negative_dual_clip,
        entropy_quantile_scope=scope, **KW,
    )
    (grad,) = torch.autograd.grad(out.loss.sum(), new)
    assert torch.isfinite(out.loss).all() and torch.isfinite(grad).all()
    # gradient weights never exceed c = 3 in magnitude (|A| <= 3 here)
    assert (grad.abs() <= 3 * adv.abs() + 1e-5).all()


def test_bf16_inputs_give_finite_results_close_to_float32():
    old, new, adv, entropy = extreme_batch(torch.bfloat16)
    new.requires_grad_(True)
    mask = torch.ones_like(new, dtype=torch.bool)
    out = aspo_token_losses(old, new, adv, mask, entropy=entropy, **KW)
    (grad,) = torch.autograd.grad(out.loss.sum(), new)
    assert out.loss.dtype == torch.float32  # computed in float32 whatever the input dtype
    assert grad.dtype == torch.bfloat16
    assert torch.isfinite(out.loss).all() and torch.isfinite(grad.float()).all()

    old32, new32, adv32, ent32 = (t.float() for t in (old, new.detach(), adv, entropy))
    new32.requires_grad_(True)
    ref = aspo_token_losses(old32, new32, adv32, mask, entropy=ent32, **KW)
    (grad32,) = torch.autograd.grad(ref.loss.sum(), new32)
    torch.testing.assert_close(grad.float(), grad32, rtol=1e-2, atol=1e-2)


def test_padding_with_nan_or_inf_garbage_does_not_leak_into_valid_tokens():
    """verl masks padding after the fact; garbage there must not poison anything through the quantile."""
    old = torch.tensor([[-1.0, -1.0, 0.0, 0.0]])
    new = torch.tensor([[-0.9, -1.2, 0.0, 0.0]], requires_grad=True)
    adv = torch.tensor([[1.0, 1.0, 1.0, 1.0]])
    entropy = torch.tensor([[0.5, 0.1, float("nan"), float("inf")]])
    mask = torch.tensor([[True, True, False, False]])
    out = aspo_token_losses(old, new, adv, mask, entropy=entropy, **KW)
    (grad,) = torch.autograd.grad((out.loss * mask).sum(), new)
    assert torch.isfinite(grad).all()
    assert out.high_entropy.tolist() == [[True, False, False, False]]
