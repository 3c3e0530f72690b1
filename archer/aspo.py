"""ASPO per-token policy loss, in plain torch (no verl import).

ASPO (Asymmetric Importance Sampling Policy Optimization, arXiv 2510.06062) changes how PPO/GRPO weight
each token's gradient by the importance-sampling ratio r = pi / pi_old:

* advantage A < 0: the usual weight r. Tokens with r < 1 - eps_low are masked (zero gradient). Where
  r > c the soft dual clip replaces the loss by -A * sg(c) * log pi (gradient weight c); the "hard"
  variant is verl's dual clip (constant loss -A * c, no gradient).
* advantage A >= 0: the flipped weight 1 / r (loss value -A / r, gradient -(A / r) dlog pi). Tokens
  with r > 1 + eps_high are masked. Where 1 / r > c the loss is -A * sg(c) * log pi.

eps may depend on the token: with ``entropy`` given and both ``high_entropy_clip_*`` set, tokens whose
entropy is strictly above the ``entropy_quantile`` of the reference set (the valid tokens of the same
response, or of the whole batch) use the high-entropy eps; all others use ``clip_low`` / ``clip_high``.

Every token's loss is built as ``-A * (w * (log_prob - sg(log_prob)) + v)`` with detached ``w`` (the
gradient weight) and ``v`` (the value), so the backward pass is a single multiply whatever the region.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional

import torch

NEGATIVE_DUAL_CLIP_MODES = ("soft", "hard")
ENTROPY_QUANTILE_SCOPES = ("sequence", "batch")
LOG_RATIO_LIMIT = 20.0


class AspoTokenOutput(NamedTuple):
    """Per-token results, all shaped like ``log_prob`` (bool masks are not yet restricted to valid tokens
    except where noted)."""

    loss: torch.Tensor  # float32 token losses; differentiable w.r.t. log_prob
    ratio: torch.Tensor  # r = exp(clamp(log_prob - old_log_prob)), detached
    log_ratio: torch.Tensor  # clamped log r, detached
    clipped_upper: torch.Tensor  # A >= 0 and r > 1 + eps_high (masked)
    clipped_lower: torch.Tensor  # A < 0 and r < 1 - eps_low (masked)
    dual_clipped_pos: torch.Tensor  # A >= 0 and 1 / r > c
    dual_clipped_neg: torch.Tensor  # A < 0 and r > c
    high_entropy: Optional[torch.Tensor]  # valid tokens strictly above the entropy quantile, or None


def masked_quantile(values: torch.Tensor, mask: torch.Tensor, q: float) -> torch.Tensor:
    """Quantile ``q`` of ``values[mask]`` along the last dim, torch's default linear interpolation.

    Equals ``torch.nanquantile(values.where(mask, nan), q, dim=-1)`` but (a) has no 2**24 size limit and
    (b) only partially sorts (top-k of the upper tail), which is several times faster for q near 1.
    Rows without any valid element get +inf (so nothing in them lies above the quantile).
    """
    values = values.float()
    count = mask.sum(dim=-1, keepdim=True)
    # rank (0-based, ascending among valid) and interpolation weight, computed as torch does
    rank = q * (count.clamp(min=1) - 1).to(values.dtype)
    below = rank.floor().long()
    above = torch.minimum(below + 1, (count - 1).clamp(min=0))
    weight = rank - below.to(values.dtype)
    # valid values sorted descending come first; descending position of ascending rank j is count-1-j.
    # count - floor(q * (count - 1)) grows with count, so the full width bounds the k needed by any row
    # (+1 against float rounding); taken from the shape, it costs no device sync.
    width = values.shape[-1]
    k = min(width, width - math.floor(q * (width - 1)) + 1)
    top = values.masked_fill(~mask, float("-inf")).topk(k, dim=-1, largest=True, sorted=True).values
    v_below = top.gather(-1, (count - 1 - below).clamp(0, k - 1))
    v_above = top.gather(-1, (count - 1 - above).clamp(0, k - 1))
    result = torch.lerp(v_below, v_above, weight)
    return result.masked_fill(count == 0, float("inf")).squeeze(-1)


def high_entropy_mask(
    entropy: torch.Tensor, response_mask: torch.Tensor, quantile: float, scope: str = "sequence"
) -> torch.Tensor:
    """Valid tokens whose entropy is strictly above the ``quantile`` of the valid entropies of their
    response (``scope="sequence"``) or of all valid tokens given (``scope="batch"``)."""
    mask = response_mask.bool()
    entropy = entropy.detach().float()
    if scope == "sequence":
        threshold = masked_quantile(entropy, mask, quantile).unsqueeze(-1)
    elif scope == "batch":
        threshold = masked_quantile(entropy.reshape(1, -1), mask.reshape(1, -1), quantile)
    else:
        raise ValueError(f"entropy_quantile_scope must be one of {ENTROPY_QUANTILE_SCOPES}, got {scope!r}")
    return (entropy > threshold) & mask


def aspo_token_losses(
    old_log_prob: torch.Tensor,
    log_prob: torch.Tensor,
    advantages: torch.Tensor,
    response_mask: torch.Tensor,
    *,
    clip_low: float,
    clip_high: float,
    dual_clip_c: float = 3.0,
    negative_dual_clip: str = "soft",
    entropy: Optional[torch.Tensor] = None,
    high_entropy_clip_low: Optional[float] = None,
    high_entropy_clip_high: Optional[float] = None,
    entropy_quantile: float = 0.8,
    entropy_quantile_scope: str = "sequence",
) -> AspoTokenOutput:
    """Per-token ASPO losses and region masks; aggregate ``loss`` over ``response_mask`` yourself."""
    if negative_dual_clip not in NEGATIVE_DUAL_CLIP_MODES:
        raise ValueError(f"negative_dual_clip must be one of {NEGATIVE_DUAL_CLIP_MODES}, got {negative_dual_clip!r}")
    entropy_ranges = high_entropy_clip_low is not None or high_entropy_clip_high is not None
    if entropy_ranges and (high_entropy_clip_low is None or high_entropy_clip_high is None):
        raise ValueError("high_entropy_clip_ratio_low and high_entropy_clip_ratio_high must both be set or both null")
    if entropy_ranges and entropy is None:
        raise ValueError("entropy-dependent clip ranges need the per-token entropy, but none was given")

    lp = log_prob.float()
    with torch.no_grad():
        adv = advantages.float()
        log_ratio = (lp - old_log_prob.float()).clamp(-LOG_RATIO_LIMIT, LOG_RATIO_LIMIT)
        ratio = log_ratio.exp()
        inv_ratio = ratio.reciprocal()

        high = None
        if entropy is not None:
            high = high_entropy_mask(entropy, response_mask, entropy_quantile, entropy_quantile_scope)
        # ratio bounds of the PPO mask, per token when eps depends on the entropy bucket
        if entropy_ranges:
            upper_bound = torch.where(high, 1 + high_entropy_clip_high, 1 + clip_high)
            lower_bound = torch.where(high, 1 - high_entropy_clip_low, 1 - clip_low)
        else:
            upper_bound, lower_bound = 1 + clip_high, 1 - clip_low

        positive = adv >= 0
        negative = ~positive
        clipped_upper = positive & (ratio > upper_bound)
        clipped_lower = negative & (ratio < lower_bound)
        dual_pos = positive & (inv_ratio > dual_clip_c)
        dual_neg = negative & (ratio > dual_clip_c)

        # gradient weight w and value v of each region (loss = -A * (w * dlog_prob + v))
        weight = torch.where(positive, inv_ratio, ratio)
        dual = dual_pos | dual_neg if negative_dual_clip == "soft" else dual_pos
        value = torch.where(dual, dual_clip_c * lp.detach(), weight)
        weight = weight.masked_fill(dual, dual_clip_c)
        if negative_dual_clip == "hard":
            weight = weight.masked_fill(dual_neg, 0.0)
            value = value.masked_fill(dual_neg, dual_clip_c)
        weight = weight.masked_fill(clipped_upper | clipped_lower, 0.0)
        value = torch.where(clipped_upper, 1.0 / upper_bound, value)
        value = torch.where(clipped_lower, lower_bound, value)
        neg_adv_weight = -adv * weight
        neg_adv_value = -adv * value

    loss = neg_adv_weight * (lp - lp.detach()) + neg_adv_value
    return AspoTokenOutput(loss, ratio, log_ratio, clipped_upper, clipped_lower, dual_pos, dual_neg, high)


# ---------------------------------------------------------------------------------------------------
# metrics: every one is a ratio numerator / denominator of sums over the tokens or responses of the whole
# update step (all micro-batches, data-parallel ranks, mini-batches and epochs). A micro-batch reports the
# two sums, never the ratio; the plugin adds them up over the step and divides once
# (archer/plugin/step_metrics.py), so no metric depends on how the step was batched.


class MetricDef(NamedTuple):
    name: str
    weighting: str  # "token" or "response"
    numerator: str
    denominator: str


# the table docs/metrics.md restates; names under actor/aspo/ are archer's, the others keep verl's meaning
METRICS: tuple[MetricDef, ...] = (
    MetricDef("actor/pg_clipfrac", "token", "valid tokens masked by either eps bound", "valid tokens"),
    MetricDef("actor/pg_clipfrac_lower", "token", "valid tokens with A < 0 and r > c (the negative dual-clip region; "
              "verl's meaning of this name)", "valid tokens"),
    MetricDef("actor/ppo_kl", "token", "sum of -log r over valid tokens", "valid tokens"),
    MetricDef("actor/aspo/clipfrac_upper", "token", "valid tokens with A >= 0 and r > 1 + eps_high (masked)", "valid tokens"),
    MetricDef("actor/aspo/clipfrac_lower", "token", "valid tokens with A < 0 and r < 1 - eps_low (masked)", "valid tokens"),
    MetricDef("actor/aspo/dual_clipfrac_pos", "token", "valid tokens with A > 0 and 1 / r > c", "valid tokens with A > 0"),
    MetricDef("actor/aspo/dual_clipfrac_neg", "token", "valid tokens with A < 0 and r > c", "valid tokens with A < 0"),
    MetricDef("actor/aspo/is_ratio_mean_pos", "response", "sum over responses with mean A > 0 of the response's mean r",
              "responses with mean A > 0"),
    MetricDef("actor/aspo/is_ratio_mean_neg", "response", "sum over responses with mean A < 0 of the response's mean r",
              "responses with mean A < 0"),
    MetricDef("actor/aspo/entropy_mean_pos", "response", "sum over responses with mean A > 0 of the response's mean "
              "entropy (only when the entropy is computed)", "responses with mean A > 0"),
    MetricDef("actor/aspo/entropy_mean_neg", "response", "sum over responses with mean A < 0 of the response's mean "
              "entropy (only when the entropy is computed)", "responses with mean A < 0"),
    MetricDef("actor/aspo/high_entropy_frac", "token", "valid tokens strictly above the entropy quantile (only with "
              "entropy-dependent eps)", "valid tokens"),
)
METRIC_NAMES = tuple(m.name for m in METRICS)

# a part's key: the metric's name and which sum it is
NUMERATOR_SUFFIX = "@numerator"
DENOMINATOR_SUFFIX = "@denominator"


def metric_parts(name: str, numerator: torch.Tensor, denominator: torch.Tensor) -> dict[str, torch.Tensor]:
    """The two part keys of metric ``name`` (0-d float tensors)."""
    return {name + NUMERATOR_SUFFIX: numerator.float(), name + DENOMINATOR_SUFFIX: denominator.float()}


def finalize_metric_parts(parts: dict) -> dict:
    """Replace each metric's two parts by numerator / denominator. ``parts`` maps a part key to the part's
    sum, or to any list of values whose sum (or mean: the ratio is the same when both parts were collected
    from the same micro-batches) is the part's. A metric whose denominator is 0 over the whole step (e.g.
    no response with A > 0) is left out, not reported as 0. Other keys pass through unchanged."""
    out, sums = {}, {}
    for key, value in parts.items():
        for suffix in (NUMERATOR_SUFFIX, DENOMINATOR_SUFFIX):
            if key.endswith(suffix):
                sums.setdefault(key[: -len(suffix)], {})[suffix] = _total(value)
                break
        else:
            out[key] = value
    for name, pair in sums.items():
        if set(pair) != {NUMERATOR_SUFFIX, DENOMINATOR_SUFFIX}:
            raise ValueError(f"metric {name} has only its {next(iter(pair))[1:]} part; both are needed")
        if pair[DENOMINATOR_SUFFIX] > 0:
            out[name] = pair[NUMERATOR_SUFFIX] / pair[DENOMINATOR_SUFFIX]
    return out


def _total(value) -> float:
    values = getattr(value, "values", value)  # verl's Metric keeps its values in .values
    if isinstance(values, (list, tuple)):
        return float(sum(_total(v) for v in values))
    if isinstance(values, torch.Tensor):
        return float(values.sum())
    return float(values)


def aspo_metric_parts(
    out: AspoTokenOutput,
    advantages: torch.Tensor,
    response_mask: torch.Tensor,
    entropy: Optional[torch.Tensor] = None,
) -> dict[str, torch.Tensor]:
    """The numerator and denominator sums of every metric in :data:`METRICS` over this micro-batch (0-d
    tensors; convert them to floats in one go). A response's sign is that of its mean advantage over its
    valid tokens."""
    mask = response_mask.bool()
    adv = advantages.float()
    n_valid = mask.sum()
    pos_tokens = mask & (adv > 0)
    neg_tokens = mask & (adv < 0)
    upper = (out.clipped_upper & mask).sum()
    lower = (out.clipped_lower & mask).sum()  # disjoint from upper (opposite advantage signs)
    dual_neg = (out.dual_clipped_neg & neg_tokens).sum()
    parts = {}
    parts.update(metric_parts("actor/pg_clipfrac", upper + lower, n_valid))
    parts.update(metric_parts("actor/pg_clipfrac_lower", dual_neg, n_valid))
    parts.update(metric_parts("actor/ppo_kl", -torch.where(mask, out.log_ratio, 0.0).sum(), n_valid))
    parts.update(metric_parts("actor/aspo/clipfrac_upper", upper, n_valid))
    parts.update(metric_parts("actor/aspo/clipfrac_lower", lower, n_valid))
    parts.update(metric_parts("actor/aspo/dual_clipfrac_pos", (out.dual_clipped_pos & pos_tokens).sum(), pos_tokens.sum()))
    parts.update(metric_parts("actor/aspo/dual_clipfrac_neg", dual_neg, neg_tokens.sum()))

    tokens = mask.sum(-1)

    def per_response(x: torch.Tensor) -> torch.Tensor:
        return torch.where(mask, x.float(), 0.0).sum(-1) / tokens.clamp(min=1)

    response_adv = per_response(adv)
    pos_resp = (tokens > 0) & (response_adv > 0)
    neg_resp = (tokens > 0) & (response_adv < 0)

    def over(name: str, x: torch.Tensor, rows: torch.Tensor) -> None:
        parts.update(metric_parts(name, torch.where(rows, x, 0.0).sum(), rows.sum()))

    ratio_resp = per_response(out.ratio)
    over("actor/aspo/is_ratio_mean_pos", ratio_resp, pos_resp)
    over("actor/aspo/is_ratio_mean_neg", ratio_resp, neg_resp)
    if entropy is not None:
        entropy_resp = per_response(entropy.detach())
        over("actor/aspo/entropy_mean_pos", entropy_resp, pos_resp)
        over("actor/aspo/entropy_mean_neg", entropy_resp, neg_resp)
    if out.high_entropy is not None:
        parts.update(metric_parts("actor/aspo/high_entropy_frac", (out.high_entropy & mask).sum(), n_valid))
    return parts
