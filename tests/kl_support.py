"""Shared by the dual-token KL tests: verl's low_var_kl for one token written out by hand, the inputs, and
one ``ppo_loss`` call with its gradient."""

from __future__ import annotations

import math

import torch


def low_var_kl(lp: float, ref: float) -> tuple[float, float]:
    """verl's low_var_kl for one token, (value, d value / d log_prob), written out by hand."""
    x = ref - lp
    value = math.exp(x) - x - 1
    if not -10 <= value <= 10:
        return max(-10.0, min(10.0, value)), 0.0
    return value, 1 - math.exp(x)


def make_inputs(h, seed=3):
    old, new, adv, entropy, mask = h.make_batch(batch=5, length=11, spread=0.5, seed=seed)
    ref = new + torch.randn(new.shape, generator=torch.Generator().manual_seed(seed + 100)) * 0.4
    return old, new, adv, entropy, mask, ref


def loss_and_grad(h, config, old, new, adv, entropy, mask, ref):
    import verl.workers.utils.losses as verl_losses

    data, model_output, leaf, index = h.to_verl(old, new, adv, entropy, mask, ref_log_prob=ref)
    loss, metrics = verl_losses.ppo_loss(config, model_output, data)
    (flat_grad,) = torch.autograd.grad(loss, leaf)
    return loss, metrics, h.gather_grad(flat_grad, index)
