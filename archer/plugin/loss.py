"""The ``aspo`` policy loss, registered in verl's policy-loss registry (``loss_mode=aspo``).

verl's ``ppo_loss`` calls it per micro-batch; the ASPO math is :mod:`archer.aspo` (pure torch). Its
metrics are numerator/denominator parts that :mod:`archer.plugin.step_metrics` divides over the whole step.
"""

from __future__ import annotations

from typing import Any, Optional

import torch

from archer.aspo import aspo_metric_parts, aspo_token_losses
from archer.plugin.entropy_handoff import current_entropy
from archer.plugin.names import LOSS_MODE
from archer.plugin.post_import import when_imported

TARGET_MODULE = "verl.trainer.ppo.core_algos"
_VERIFIED = False


def _verify_worker_patches() -> None:
    """Once per process: the patches the loss relies on are applied here (a worker process, typically),
    else stop with the patch named (verl swallows plugin import errors)."""
    global _VERIFIED
    if not _VERIFIED:
        from archer.plugin import patches

        patches.verify(patches.WORKER)
        _VERIFIED = True


# ---------------------------------------------------------------------------------------------------
# the policy loss


def compute_policy_loss_aspo(
    old_log_prob: torch.Tensor,
    log_prob: torch.Tensor,
    advantages: torch.Tensor,
    response_mask: torch.Tensor,
    loss_agg_mode: str = "token-mean",
    config: Any = None,
    rollout_is_weights: Optional[torch.Tensor] = None,
    entropy: Optional[torch.Tensor] = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """verl policy-loss function for ``loss_mode=aspo``.

    ``entropy`` defaults to the one handed over by the wrapped ``ppo_loss``; pass it to call directly.
    """
    from verl.trainer.ppo.core_algos import agg_loss

    from archer.plugin.config import KEY_PREFIX, _warn_once, aspo_settings, missing_entropy_error

    if config is None:
        raise ValueError("the aspo policy loss needs the actor config (verl passes it as `config`)")
    _verify_worker_patches()
    aspo = aspo_settings(config)
    clip_low = config.clip_ratio_low if config.clip_ratio_low is not None else config.clip_ratio
    clip_high = config.clip_ratio_high if config.clip_ratio_high is not None else config.clip_ratio
    actor_c = config.get("clip_ratio_c", aspo.dual_clip_c)
    if actor_c != aspo.dual_clip_c:
        _warn_once(
            "clip_ratio_c",
            f"loss_mode=aspo uses {KEY_PREFIX}.dual_clip_c={aspo.dual_clip_c}; "
            f"actor_rollout_ref.actor.clip_ratio_c={actor_c} is ignored",
        )
    if entropy is None:
        entropy = current_entropy()
    if aspo.uses_entropy and entropy is None:
        raise missing_entropy_error()
    if entropy is not None and entropy.shape != log_prob.shape:
        raise ValueError(f"entropy shape {tuple(entropy.shape)} does not match log_prob {tuple(log_prob.shape)}")

    out = aspo_token_losses(
        old_log_prob,
        log_prob,
        advantages,
        response_mask,
        clip_low=clip_low,
        clip_high=clip_high,
        dual_clip_c=aspo.dual_clip_c,
        negative_dual_clip=aspo.negative_dual_clip,
        entropy=entropy,
        high_entropy_clip_low=aspo.high_entropy_clip_ratio_low,
        high_entropy_clip_high=aspo.high_entropy_clip_ratio_high,
        entropy_quantile=aspo.entropy_quantile,
        entropy_quantile_scope=aspo.entropy_quantile_scope,
    )
    token_losses = out.loss
    if rollout_is_weights is not None:
        token_losses = token_losses * rollout_is_weights
    pg_loss = agg_loss(
        loss_mat=token_losses,
        loss_mask=response_mask,
        loss_agg_mode=loss_agg_mode,
        **config.global_batch_info,
    )
    # each metric as its numerator and denominator sums over this micro-batch; the worker divides the
    # whole step's sums once (archer/plugin/step_metrics.py, archer.aspo.METRICS)
    parts = aspo_metric_parts(out, advantages, response_mask, entropy)
    values = torch.stack(list(parts.values())).tolist()  # one device sync
    return pg_loss, dict(zip(parts.keys(), values))



def _register(core_algos) -> None:
    core_algos.register_policy_loss(LOSS_MODE)(compute_policy_loss_aspo)


def install() -> None:
    """Register ``loss_mode=aspo`` in verl's policy-loss registry: at once if ``core_algos`` is imported, else
    right after it is (it pulls in verl's worker configs and transformers: processes that never look a
    loss up do not pay for it)."""
    when_imported(TARGET_MODULE, _register)


def installed() -> bool:
    from verl.trainer.ppo.core_algos import POLICY_LOSS_REGISTRY

    return POLICY_LOSS_REGISTRY.get(LOSS_MODE) is compute_policy_loss_aspo
