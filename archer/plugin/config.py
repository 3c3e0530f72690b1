"""ASPO's settings as a verl policy-loss config: :class:`AspoPolicyLossConfig`, validated when instantiated.

Select it with ``actor_rollout_ref.actor.policy_loss._target_: archer.plugin.config.AspoPolicyLossConfig``
(the archer presets do); verl's ``PolicyLossConfig`` rejects unknown keys, so the ASPO keys need this
subclass. Runs wherever verl instantiates the actor config: the driver (dry run, checks) and the workers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Optional

from verl.workers.config import PolicyLossConfig

from archer.aspo import ENTROPY_QUANTILE_SCOPES, NEGATIVE_DUAL_CLIP_MODES
from archer.plugin.names import LOSS_MODE
from archer.warn_once import warn_once

logger = logging.getLogger(__name__)

KEY_PREFIX = "actor_rollout_ref.actor.policy_loss"
ENTROPY_SWITCH = "actor_rollout_ref.actor.calculate_entropy"
KL_NORMALIZATIONS = ("bucket", "all_tokens")


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
            same as actor.kl_loss_coef (verl's uniform KL). See archer/plugin/dual_token_kl.py.
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
            f"{KEY_PREFIX}._target_=archer.plugin.config.AspoPolicyLossConfig (the archer presets do).",
        )
    values.pop("rollout_correction", None)
    return AspoPolicyLossConfig(**values)


def _warn_once(key: str, message: str) -> None:
    warn_once(logger, "plugin.config:" + key, message)


def missing_entropy_error() -> ValueError:
    return ValueError(
        f"{KEY_PREFIX}.high_entropy_clip_ratio_low/high (or high_entropy_kl_loss_coef) are set, so ASPO needs "
        f"the per-token entropy, but the actor does not compute it: set {ENTROPY_SWITCH}=true (or set both "
        f"high_entropy_clip_ratio_* and high_entropy_kl_loss_coef to null for a uniform eps and KL)"
    )

