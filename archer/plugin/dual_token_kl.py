"""Dual-token KL: a separate KL-loss coefficient for high-entropy tokens (the Archer line's "dual-token
constraints"), on the same entropy bucket as ASPO's clip ranges.

verl 0.9.1's ``ppo_loss`` (verl/workers/utils/losses.py) adds one uniform term
``kl_loss_coef * agg_loss(kld, response_mask)``. With ``policy_loss.high_entropy_kl_loss_coef`` set (null:
verl's uniform KL, nothing changes), archer's ``ppo_loss`` wrapper (:mod:`archer.plugin.entropy_handoff`)
replaces it by a KL term per entropy bucket (``high`` = :func:`archer.aspo.high_entropy_mask` of the current
entropy, same quantile and scope as the clip ranges; ``low`` = the other valid tokens):

    kl_loss_coef * KL_low + high_entropy_kl_loss_coef * KL_high

``policy_loss.dual_token_kl_normalization`` says what each bucket's KL is:

* ``bucket`` (Archer2.0's definition, the archer2 preset): the token mean over the bucket's own tokens,
  ``KL_b = sum(kld * b) / sum(b)``. Archer2.0's actor computes ``agg_loss(kld, mask=b)`` (token-mean) per
  micro-batch; here each micro-batch's bucket mean is weighted by its share of the mini-batch's tokens,
  ``agg_loss(kld * b) * n_tokens / n_b``, which is their formula exactly when a mini-batch is one
  micro-batch. With the 0.8 quantile, ``KL_low`` is about 1 / 0.8 times the ``all_tokens`` value.
* ``all_tokens``: the bucket's KL summed over its tokens and divided by all response tokens,
  ``KL_b = agg_loss(kld * b, response_mask)`` (verl's normalisation; the two parts add up to verl's
  ``kl_loss``); micro-batch and data-parallel invariant like verl's own term.

Both are added as a correction to verl's loss, which already holds ``kl_loss_coef * agg_loss(kld)``.
Metrics ``actor/kl_low_entropy`` / ``actor/kl_high_entropy`` are the token means of the KL estimate over
each bucket's tokens of the whole step (numerator/denominator parts, archer/plugin/step_metrics.py);
verl's ``actor/kl_loss`` keeps its meaning (the token-mean KL over all response tokens).
"""

from __future__ import annotations

from typing import Any, Optional

import torch

from archer.aspo import MetricDef, high_entropy_mask, metric_parts
from archer.plugin.config import KL_NORMALIZATIONS, aspo_settings, missing_entropy_error

__all__ = ["high_entropy_kl_coef", "dual_token_kl_correction", "KL_NORMALIZATIONS", "METRICS"]

METRICS = (
    MetricDef("actor/kl_low_entropy", "token", "KL estimate (actor.kl_loss_type) summed over the low-entropy tokens",
              "low-entropy valid tokens"),
    MetricDef("actor/kl_high_entropy", "token", "KL estimate summed over the high-entropy tokens",
              "high-entropy valid tokens"),
)


def high_entropy_kl_coef(config: Any) -> Optional[float]:
    """The high-entropy tokens' KL coefficient, or None when the KL is verl's uniform term (no KL loss, or
    ``high_entropy_kl_loss_coef`` null)."""
    if not config.get("use_kl_loss", False):
        return None
    policy_loss = config.get("policy_loss", None)
    coef = policy_loss.get("high_entropy_kl_loss_coef", None) if policy_loss is not None else None
    return None if coef is None else float(coef)


def dual_token_kl_correction(config: Any, model_output: dict, data, entropy: Optional[torch.Tensor]):
    """(loss term to add to verl's ppo_loss, {metric name: value tensor}) or None when the KL is uniform.

    ``data``: the TensorDict verl's ``ppo_loss`` received; ``entropy``: the padded current entropy."""
    from verl.trainer.ppo.core_algos import agg_loss, kl_penalty
    from verl.workers.utils.padding import no_padding_2_padding

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

    low = mask & ~high
    coef_low = float(config.kl_loss_coef)
    normalization = aspo.dual_token_kl_normalization
    if normalization == "bucket":
        if config.loss_agg_mode != "token-mean":
            raise ValueError(
                f"policy_loss.dual_token_kl_normalization=bucket is a token mean per bucket and needs "
                f"actor_rollout_ref.actor.loss_agg_mode=token-mean, got {config.loss_agg_mode!r} (or set "
                f"policy_loss.dual_token_kl_normalization=all_tokens)"
            )
        n_tokens = mask.sum()

        def bucket_term(bucket: torch.Tensor) -> torch.Tensor:
            # this micro-batch's bucket mean, weighted by its share of the mini-batch's tokens
            return agg(kld * bucket) * n_tokens / bucket.sum().clamp(min=1)

        applied = coef_low * bucket_term(low) + coef_high * bucket_term(high)
    else:
        applied = coef_low * agg(kld * low) + coef_high * agg(kld * high)
    correction = applied - coef_low * agg(kld)  # verl's ppo_loss already added its uniform term
    parts = {}
    for name, bucket in (("actor/kl_low_entropy", low), ("actor/kl_high_entropy", high)):
        parts.update(metric_parts(name, (kld * bucket).sum().detach(), bucket.sum()))
    return correction, parts
