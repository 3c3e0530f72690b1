"""Every change archer makes to verl 0.9.1, declared once: what it replaces, why, where it must be active.

:func:`apply_all` runs at ``import verl`` (the plugin entry point, in every process verl starts) and
records each patch that could not be applied. verl swallows plugin import errors, so nothing relies on an
exception there: the driver calls :func:`verify` before Ray starts (:mod:`archer.launch.main`), the ASPO
loss calls it for the worker's patches on its first call, and the dry run prints :func:`describe`. A
patch whose target no longer matches verl stops the run with :class:`PatchNotApplied`, which names it.
"""

from __future__ import annotations

import importlib.metadata
import logging
from dataclasses import dataclass
from typing import Iterable, Optional

logger = logging.getLogger(__name__)

VERL_VERSION = "0.9.1"  # the verl release every patch below was written for (pyproject pins it)


class PatchNotApplied(RuntimeError):
    """A patch archer needs is not active in this process (its verl target moved or changed)."""


@dataclass(frozen=True)
class Patch:
    name: str
    replaces: str  # the verl function (or registry) it wraps or extends
    why: str
    processes: str  # where it must be active
    module: str  # archer module with install() and installed()


PATCHES: tuple[Patch, ...] = (
    Patch("aspo_loss", "verl.trainer.ppo.core_algos.POLICY_LOSS_REGISTRY (adds 'aspo')",
          "loss_mode=aspo", "actor workers", "archer.plugin.loss"),
    Patch("entropy_handoff", "verl.workers.utils.losses.ppo_loss",
          "hands the per-token entropy to the ASPO loss; adds the dual-token KL", "actor workers",
          "archer.plugin.entropy_handoff"),
    Patch("whole_step_metrics", "verl.workers.engine_workers.TrainingWorker.train_mini_batch",
          "each ASPO metric is one ratio over the whole step", "actor workers", "archer.plugin.step_metrics"),
    Patch("reward_metrics", "verl.trainer.ppo.v1.trainer_base.PPOTrainer._compute_metrics (and the legacy "
          "trainer's compute_data_metrics)", "reward extra keys as training-step metrics", "trainer",
          "archer.plugin.reward_logging"),
    Patch("filter_groups_bound", "verl.trainer.ppo.v1.trainer_base.PPOTrainer._build_replay_buffer and "
          "verl.trainer.ppo.v1.replay_buffer.ReplayBuffer.sample",
          "enforces filter_groups.max_num_gen_batches (verl 0.9.1 ignores it)", "trainer",
          "archer.plugin.filter_groups_guard"),
)
BY_NAME = {p.name: p for p in PATCHES}
WORKER = tuple(p.name for p in PATCHES if p.processes == "actor workers")
ALL = tuple(BY_NAME)

_FAILED: dict[str, str] = {}


def _module(patch: Patch):
    return importlib.import_module(patch.module)


def apply(name: str) -> None:
    """Apply one patch (idempotent); a failure is recorded for :func:`verify` and logged, never raised."""
    patch = BY_NAME[name]
    try:
        _module(patch).install()
        _FAILED.pop(name, None)
    except Exception as error:  # verl hides plugin import errors: record and say it, verify() raises
        _FAILED[name] = f"{type(error).__name__}: {error}"
        logger.error("archer patch %s (%s) could not be applied: %s", name, patch.replaces, _FAILED[name])


def apply_all() -> None:
    for patch in PATCHES:
        apply(patch.name)


def installed_verl() -> Optional[str]:
    try:
        return importlib.metadata.version("verl")
    except importlib.metadata.PackageNotFoundError:
        return None


def problem(name: str) -> Optional[str]:
    """Why patch ``name`` is not active in this process, or None when it is."""
    patch = BY_NAME[name]
    if name in _FAILED:
        return _FAILED[name]
    try:
        active = _module(patch).installed()
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return None if active else "its target does not carry archer's wrapper (the patch did not run or did not match)"


def verify(names: Iterable[str] = ALL) -> None:
    """Raise :class:`PatchNotApplied` naming every patch of ``names`` that is not active here."""
    missing = [(n, problem(n)) for n in names]
    missing = [(n, why) for n, why in missing if why]
    if missing:
        verl = installed_verl()
        lines = "\n  ".join(f"{n} (replaces {BY_NAME[n].replaces}): {why}" for n, why in missing)
        raise PatchNotApplied(
            f"archer patch(es) not applied in this process:\n  {lines}\n"
            f"They were written for verl {VERL_VERSION}; installed: verl {verl}. "
            f"Install verl=={VERL_VERSION} (pip install -e . pins it) or update the patch."
        )


def describe() -> list[str]:
    """One line per patch, for the dry run: name, what it replaces, where, and whether it is active here."""
    rows = []
    for patch in PATCHES:
        why = problem(patch.name)
        state = "active" if why is None else f"NOT ACTIVE: {why}"
        rows.append(f"{patch.name}: replaces {patch.replaces} [{patch.processes}; {patch.why}] - {state}")
    return rows
