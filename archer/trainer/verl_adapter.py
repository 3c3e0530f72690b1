"""The one place where archer meets verl 0.9.1.

Importing this module (which ``import verl`` does by itself, through our ``verl.plugins`` entry point):

1. registers ``actor_rollout_ref.actor.policy_loss.loss_mode=aspo`` with verl's policy-loss registry;
2. defines :class:`AspoPolicyLossConfig`, the ``PolicyLossConfig`` subclass that carries ASPO's keys
   (select it with ``policy_loss._target_: archer.trainer.verl_adapter.AspoPolicyLossConfig``);
3. wraps ``verl.workers.utils.losses.ppo_loss`` so that the current policy's per-token entropy, which
   verl computes but never passes to policy losses, reaches the ASPO loss (detached);
4. wraps ``verl.workers.engine_workers.TrainingWorker.train_mini_batch`` so that each metric is the
   ratio of the whole step's sums (:mod:`archer.trainer.step_metrics`);
5. installs the two trainer adapters, which patch verl's trainer modules only when they are imported:
   :mod:`archer.trainer.reward_logging` (reward extra keys in the training metrics) and
   :mod:`archer.trainer.filter_groups_guard` (a bound on DAPO group-filtering refills).

The ASPO math itself is in :mod:`archer.aspo` (pure torch).
"""

from __future__ import annotations

import contextvars
import functools
import logging
import sys
from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch

import verl.workers.utils.losses as verl_losses
from verl.trainer.ppo.core_algos import agg_loss, register_policy_loss
from verl.workers.config import PolicyLossConfig
from verl.utils.metric import AggregationType, Metric
from verl.workers.utils.padding import no_padding_2_padding

from archer.aspo import ENTROPY_QUANTILE_SCOPES, NEGATIVE_DUAL_CLIP_MODES, aspo_metric_parts, aspo_token_losses
from archer.trainer.dual_token_kl import KL_NORMALIZATIONS, dual_token_kl_correction
from archer.warn_once import warn_once

logger = logging.getLogger(__name__)

LOSS_MODE = "aspo"
KEY_PREFIX = "actor_rollout_ref.actor.policy_loss"
ENTROPY_SWITCH = "actor_rollout_ref.actor.calculate_entropy"

# modules that bind `ppo_loss` by name at import time (from ... import ppo_loss)
_PPO_LOSS_BINDERS = ("verl.workers.engine_workers", "verl.trainer.distillation.losses")


@dataclass
class AspoPolicyLossConfig(PolicyLossConfig):
    """verl's policy-loss config plus ASPO's keys; validated when instantiated.

    Args:
        dual_clip_c: soft dual-clip bound c (> 1) for both advantage signs.
        negative_dual_clip: "soft" (gradient weight c where r > c) or "hard" (verl's dual clip: constant
            loss, no gradient) for negative-advantage tokens.
        entropy_quantile: tokens strictly above this quantile of the reference entropies use the
            high-entropy clip ratios.
        entropy_quantile_scope: "sequence" (quantile over each response's valid tokens) or "batch" (over
            all valid tokens of the micro-batch the loss sees).
        high_entropy_clip_ratio_low / high_entropy_clip_ratio_high: eps for high-entropy tokens, in [0, 1);
            both null for a uniform eps (actor.clip_ratio_low / clip_ratio_high for every token).
        high_entropy_kl_loss_coef: KL-loss coefficient of the high-entropy tokens (same bucket); null: the
            same as actor.kl_loss_coef (verl's uniform KL). See archer/trainer/dual_token_kl.py.
        dual_token_kl_normalization: "bucket" (each bucket's KL is the token mean over its own tokens, as
            Archer2.0 computes it) or "all_tokens" (divided by all response tokens, verl's normalisation).
    """

    loss_mode: str = LOSS_MODE
    dual_clip_c: float = 3.0
    negative_dual_clip: str = "soft"
    entropy_quantile: float = 0.8
    entropy_quantile_scope: str = "sequence"
    high_entropy_clip_ratio_low: Optional[float] = 0.4
    high_entropy_clip_ratio_high: Optional[float] = 0.4
    high_entropy_kl_loss_coef: Optional[float] = None
    dual_token_kl_normalization: str = "bucket"

    def __post_init__(self):
        parent_post_init = getattr(super(), "__post_init__", None)
        if parent_post_init is not None:
            parent_post_init()
        validate_aspo_keys(self)

    @property
    def uses_entropy(self) -> bool:
        """Whether the loss needs the current entropy: entropy-dependent eps or a dual-token KL."""
        return self.high_entropy_clip_ratio_low is not None or self.high_entropy_kl_loss_coef is not None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate_aspo_keys(cfg: Any) -> None:
    """Raise ValueError naming the offending key for any invalid ASPO setting."""

    def fail(key: str, value: Any, expected: str) -> None:
        raise ValueError(f"{KEY_PREFIX}.{key} must be {expected}, got {value!r}")

    c = cfg.dual_clip_c
    if not _is_number(c) or not c > 1:
        fail("dual_clip_c", c, "a number > 1")
    if cfg.negative_dual_clip not in NEGATIVE_DUAL_CLIP_MODES:
        fail("negative_dual_clip", cfg.negative_dual_clip, f"one of {list(NEGATIVE_DUAL_CLIP_MODES)}")
    q = cfg.entropy_quantile
    if not _is_number(q) or not 0 < q < 1:
        fail("entropy_quantile", q, "a number in (0, 1)")
    if cfg.entropy_quantile_scope not in ENTROPY_QUANTILE_SCOPES:
        fail("entropy_quantile_scope", cfg.entropy_quantile_scope, f"one of {list(ENTROPY_QUANTILE_SCOPES)}")
    low, high = cfg.high_entropy_clip_ratio_low, cfg.high_entropy_clip_ratio_high
    for key, value in (("high_entropy_clip_ratio_low", low), ("high_entropy_clip_ratio_high", high)):
        if value is not None and (not _is_number(value) or not 0 <= value < 1):
            fail(key, value, "null or a number in [0, 1)")
    kl = cfg.high_entropy_kl_loss_coef
    if kl is not None and (not _is_number(kl) or kl < 0):
        fail("high_entropy_kl_loss_coef", kl, "null or a number >= 0")
    if cfg.dual_token_kl_normalization not in KL_NORMALIZATIONS:
        fail("dual_token_kl_normalization", cfg.dual_token_kl_normalization, f"one of {list(KL_NORMALIZATIONS)}")
    if (low is None) != (high is None):
        raise ValueError(
            f"{KEY_PREFIX}.high_entropy_clip_ratio_low and {KEY_PREFIX}.high_entropy_clip_ratio_high must be "
            f"both set (entropy-dependent eps) or both null (uniform eps), got {low!r} and {high!r}"
        )


def aspo_settings(config: Any) -> AspoPolicyLossConfig:
    """The validated ASPO settings of an actor config (dataclass or DictConfig) whose ``policy_loss`` is
    our dataclass or any mapping; keys it lacks take their defaults, with a warning."""
    policy_loss = config.policy_loss
    if isinstance(policy_loss, AspoPolicyLossConfig):
        return policy_loss
    known = AspoPolicyLossConfig.__dataclass_fields__
    absent = object()
    values = {k: policy_loss.get(k, absent) for k in known if k != "_target_"}
    values = {k: v for k, v in values.items() if v is not absent}
    missing = sorted(set(known) - set(values) - set(PolicyLossConfig.__dataclass_fields__))
    if missing:
        _warn_once(
            "defaults",
            f"{KEY_PREFIX} has no ASPO keys {missing}; using their defaults. Set "
            f"{KEY_PREFIX}._target_=archer.trainer.verl_adapter.AspoPolicyLossConfig (the archer presets do).",
        )
    values.pop("rollout_correction", None)
    return AspoPolicyLossConfig(**values)


def _warn_once(key: str, message: str) -> None:
    warn_once(logger, "verl_adapter:" + key, message)


def missing_entropy_error() -> ValueError:
    return ValueError(
        f"{KEY_PREFIX}.high_entropy_clip_ratio_low/high (or high_entropy_kl_loss_coef) are set, so ASPO needs "
        f"the per-token entropy, but the actor does not compute it: set {ENTROPY_SWITCH}=true (or set both "
        f"high_entropy_clip_ratio_* and high_entropy_kl_loss_coef to null for a uniform eps and KL)"
    )


# ---------------------------------------------------------------------------------------------------
# entropy hand-off: ppo_loss -> policy loss

_current_entropy: contextvars.ContextVar[Optional[Callable[[], torch.Tensor]]] = contextvars.ContextVar(
    "archer_current_entropy", default=None
)


def current_entropy() -> Optional[torch.Tensor]:
    """The padded, detached entropy of the micro-batch whose ppo_loss is running, or None."""
    getter = _current_entropy.get()
    return None if getter is None else getter()


def _wrap_ppo_loss(original: Callable) -> Callable:
    @functools.wraps(original)
    def ppo_loss(config, model_output, data, dp_group=None):
        entropy = model_output.get("entropy", None)
        getter = None
        if entropy is not None:
            # converted lazily (and once): losses that do not need entropy pay nothing
            getter = functools.cache(lambda: no_padding_2_padding(entropy, data).detach())
        token = _current_entropy.set(getter)
        try:
            loss, metrics = original(config, model_output, data, dp_group)
            extra = dual_token_kl_correction(config, model_output, data, None if getter is None else getter())
        finally:
            _current_entropy.reset(token)
        if extra is not None:
            correction, kl_parts = extra
            loss = loss + correction
            # numerator/denominator parts, collected like the policy loss's (archer/trainer/step_metrics.py)
            metrics.update({k: Metric(value=v, aggregation=AggregationType.MEAN) for k, v in kl_parts.items()})
        return loss, metrics

    ppo_loss.__archer_wrapped__ = True
    return ppo_loss


def install() -> None:
    """Wrap verl's ``ppo_loss`` (idempotent), also where other modules already bound it by name."""
    original = verl_losses.ppo_loss
    if getattr(original, "__archer_wrapped__", False):
        return
    wrapped = _wrap_ppo_loss(original)
    verl_losses.ppo_loss = wrapped
    for name in _PPO_LOSS_BINDERS:
        module = sys.modules.get(name)
        if module is not None and getattr(module, "ppo_loss", None) is original:
            module.ppo_loss = wrapped


# ---------------------------------------------------------------------------------------------------
# the policy loss


@register_policy_loss(LOSS_MODE)
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
    if config is None:
        raise ValueError("the aspo policy loss needs the actor config (verl passes it as `config`)")
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
    # whole step's sums once (archer/trainer/step_metrics.py, archer.aspo.METRICS)
    parts = aspo_metric_parts(out, advantages, response_mask, entropy)
    values = torch.stack(list(parts.values())).tolist()  # one device sync
    return pg_loss, dict(zip(parts.keys(), values))


install()

# whole-step values of the metrics above (patches verl's TrainingWorker.train_mini_batch)
from archer.trainer import step_metrics  # noqa: E402

step_metrics.install()

# training-step reward/<key> metrics from the reward extra keys (patches verl's trainers lazily)
from archer.trainer import reward_logging  # noqa: E402

reward_logging.install()

# bounded DAPO group filtering (verl 0.9.1's v1 trainer ignores filter_groups.max_num_gen_batches)
from archer.trainer import filter_groups_guard  # noqa: E402

filter_groups_guard.install()
