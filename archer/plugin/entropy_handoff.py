"""Patch of ``verl.workers.utils.losses.ppo_loss`` (verl 0.9.1): hand the per-token entropy to the policy loss.

verl computes the current policy's token entropy in the actor's update forward (``calculate_entropy``) but
does not pass it to policy losses. The wrapper converts it to the padded layout lazily (once, only when a
loss asks: :func:`current_entropy`) for the duration of one ``ppo_loss`` call, adds the dual-token KL
correction (:mod:`archer.plugin.dual_token_kl`) and its metric parts. It is installed where verl's modules
bound ``ppo_loss`` by name at import time too (``engine_workers``, distillation losses).
"""

from __future__ import annotations

import contextvars
import functools
import sys
from typing import Callable, Optional

import torch

from archer.plugin.post_import import when_imported

TARGET_MODULE = "verl.workers.utils.losses"
TARGET = f"{TARGET_MODULE}.ppo_loss"
# modules that bind `ppo_loss` by name at import time (from ... import ppo_loss)
_PPO_LOSS_BINDERS = ("verl.workers.engine_workers", "verl.trainer.distillation.losses")

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
        from verl.utils.metric import AggregationType, Metric
        from verl.workers.utils.padding import no_padding_2_padding

        from archer.plugin.dual_token_kl import dual_token_kl_correction

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
            # numerator/denominator parts, collected like the policy loss's (archer/plugin/step_metrics.py)
            metrics.update({k: Metric(value=v, aggregation=AggregationType.MEAN) for k, v in kl_parts.items()})
        return loss, metrics

    ppo_loss.__archer_wrapped__ = True
    return ppo_loss


def _patch(verl_losses) -> None:
    original = verl_losses.ppo_loss  # AttributeError: the patch reports the target as missing
    if getattr(original, "__archer_wrapped__", False):
        return
    wrapped = _wrap_ppo_loss(original)
    verl_losses.ppo_loss = wrapped
    for name in _PPO_LOSS_BINDERS:
        module = sys.modules.get(name)
        if module is not None and getattr(module, "ppo_loss", None) is original:
            module.ppo_loss = wrapped


def install() -> None:
    """Wrap verl's ``ppo_loss`` (idempotent), also where other modules already bound it by name: at once if
    ``verl.workers.utils.losses`` is imported, else right after it is (it pulls in ``datasets``: processes
    that never compute a loss do not pay for it)."""
    when_imported(TARGET_MODULE, _patch)


def installed() -> bool:
    """Whether ``ppo_loss`` is wrapped, also where an already imported verl module bound it by name."""
    import importlib

    verl_losses = importlib.import_module(TARGET_MODULE)
    if not getattr(getattr(verl_losses, "ppo_loss", None), "__archer_wrapped__", False):
        return False
    for name in _PPO_LOSS_BINDERS:
        module = sys.modules.get(name)
        bound = getattr(module, "ppo_loss", None) if module is not None else None
        if bound is not None and not getattr(bound, "__archer_wrapped__", False):
            return False
    return True
