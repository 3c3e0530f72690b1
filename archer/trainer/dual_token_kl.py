"""Dual-token KL: a separate KL-loss coefficient for high-entropy tokens (the Archer line's "dual-token
constraints"), on the same entropy bucket as ASPO's clip ranges.

verl 0.9.1's ``ppo_loss`` (verl/workers/utils/losses.py) adds one uniform term
``kl_loss_coef * agg_loss(kld, response_mask)``. Archer2.0's scripts pass
``high_entropy_kl_loss_scale_coef=0.0``: KL on the confident (low-entropy) tokens only. With
``policy_loss.high_entropy_kl_loss_coef`` set (null: the same as ``actor.kl_loss_coef``, verl's
behaviour), archer's ``ppo_loss`` wrapper (:mod:`archer.trainer.verl_adapter`) adds the difference

    (high_entropy_kl_loss_coef - kl_loss_coef) * agg_loss(kld * high, response_mask)

to verl's loss, where ``high`` is :func:`archer.aspo.high_entropy_mask` of the current entropy (same
quantile and scope as the clip ranges). ``agg_loss`` is linear in its token values for every
``loss_agg_mode`` and uses verl's global batch info (set by ``ppo_loss`` for this micro-batch), so the
total is ``kl_loss_coef * KL(low tokens) + high_entropy_kl_loss_coef * KL(high tokens)``, micro-batch and
data-parallel invariant like verl's own term. Metrics ``kl_loss_low_entropy`` / ``kl_loss_high_entropy``
are the two parts of verl's ``kl_loss`` (they add up to it).
"""

from __future__ import annotations

from typing import Any, Optional

import torch

from archer.aspo import high_entropy_mask

__all__ = ["high_entropy_kl_coef", "dual_token_kl_correction"]


def high_entropy_kl_coef(config: Any) -> Optional[float]:
    """The high-entropy tokens' KL coefficient when it differs from ``kl_loss_coef``, else None (verl's
    uniform KL, nothing to add)."""
    if not config.get("use_kl_loss", False):
        return None
    policy_loss = config.get("policy_loss", None)
    coef = policy_loss.get("high_entropy_kl_loss_coef", None) if policy_loss is not None else None
    if coef is None or float(coef) == float(config.kl_loss_coef):
        return None
    return float(coef)


def dual_token_kl_correction(config: Any, model_output: dict, data, entropy: Optional[torch.Tensor]):
    """(loss term to add to verl's ppo_loss, {metric name: value tensor}) or None when the KL is uniform.

    ``data``: the TensorDict verl's ``ppo_loss`` received; ``entropy``: the padded current entropy."""
    from verl.trainer.ppo.core_algos import agg_loss, kl_penalty
    from verl.workers.utils.padding import no_padding_2_padding

    from archer.trainer.verl_adapter import aspo_settings, missing_entropy_error

    coef_high = high_entropy_kl_coef(config)
    if coef_high is None:
        return None
    if entropy is None:
        raise missing_entropy_error()
    aspo = aspo_settings(config)
    log_prob = no_padding_2_padding(model_output["log_probs"], data)
    padded = data.select("response_mask", "ref_log_prob").to_padded_tensor()
    mask = padded["response_mask"].to(bool)
    kld = kl_penalty(logprob=log_prob, ref_logprob=padded["ref_log_prob"], kl_penalty=config.kl_loss_type)
    high = high_entropy_mask(entropy, mask, aspo.entropy_quantile, aspo.entropy_quantile_scope)

    def agg(values: torch.Tensor) -> torch.Tensor:
        return agg_loss(loss_mat=values, loss_mask=mask, loss_agg_mode=config.loss_agg_mode, **config.global_batch_info)

    kl_high = agg(kld * high)
    kl_low = agg(kld * (mask & ~high))
    correction = (coef_high - float(config.kl_loss_coef)) * kl_high
    return correction, {"kl_loss_high_entropy": kl_high.detach(), "kl_loss_low_entropy": kl_low.detach()}
