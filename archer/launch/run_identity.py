"""A run directory belongs to one experiment: resuming it with another loss, preset, model or data stops.

The driver records what makes a run what it is in ``<trainer.default_local_dir>/archer_run.json`` when it
starts a run there, and checks it before every resume, before Ray starts. A GRPO run can then never
"resume" an ASPO checkpoint (train 0 steps and report the other run's export as its own). Set
``ARCHER_ALLOW_RESUME_MISMATCH=1`` to resume anyway (e.g. to continue a run with another KL coefficient on
purpose); the differences are still printed.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Optional

from archer import rundir

logger = logging.getLogger(__name__)

IDENTITY_FILE = rundir.IDENTITY
OVERRIDE_ENV = "ARCHER_ALLOW_RESUME_MISMATCH"
LATEST = rundir.LATEST

# what makes two runs the same experiment, as (label, dotted config key); the loss settings cover the preset
IDENTITY_KEYS = (
    ("loss mode", "actor_rollout_ref.actor.policy_loss.loss_mode"),
    ("model", "actor_rollout_ref.model.path"),
    ("training data", "data.train_files"),
    ("reward", "reward.custom_reward_function.name"),
    ("advantage estimator", "algorithm.adv_estimator"),
    ("clip ratio low", "actor_rollout_ref.actor.clip_ratio_low"),
    ("clip ratio high", "actor_rollout_ref.actor.clip_ratio_high"),
    ("dual clip c", "actor_rollout_ref.actor.policy_loss.dual_clip_c"),
    ("negative dual clip", "actor_rollout_ref.actor.policy_loss.negative_dual_clip"),
    ("high-entropy clip low", "actor_rollout_ref.actor.policy_loss.high_entropy_clip_ratio_low"),
    ("high-entropy clip high", "actor_rollout_ref.actor.policy_loss.high_entropy_clip_ratio_high"),
    ("entropy quantile", "actor_rollout_ref.actor.policy_loss.entropy_quantile"),
    ("high-entropy KL coefficient", "actor_rollout_ref.actor.policy_loss.high_entropy_kl_loss_coef"),
)


class ResumeMismatch(RuntimeError):
    """The checkpoint to resume was saved by another experiment."""


def _get(config: Any, dotted: str) -> Any:
    node = config
    for part in dotted.split("."):
        try:
            node = node[part]
        except (KeyError, TypeError, AttributeError):
            return None
    try:
        from omegaconf import OmegaConf

        if OmegaConf.is_config(node):
            return OmegaConf.to_container(node, resolve=True)
    except ImportError:  # pragma: no cover
        pass
    return node


def identity(config: Any) -> dict[str, Any]:
    """The identity of the run ``config`` describes (label -> value)."""
    return {label: _get(config, key) for label, key in IDENTITY_KEYS}


def resume_run_dir(config: Any) -> Optional[Path]:
    """The run directory whose checkpoint verl will resume from, or None when it will start afresh."""
    trainer = config["trainer"]
    mode = trainer.get("resume_mode", "auto")
    if mode == "disable":
        return None
    if mode == "resume_path":
        path = trainer.get("resume_from_path")
        return Path(path).parent if path else None
    run_dir = Path(str(trainer["default_local_dir"]))
    return run_dir if (run_dir / LATEST).is_file() else None


def differences(saved: dict, current: dict) -> list[str]:
    return [
        f"{label}: checkpoint {saved.get(label)!r}, this run {current.get(label)!r}"
        for label in current
        if label in saved and saved.get(label) != current.get(label)
    ]


def mismatch(config: Any) -> Optional[tuple[Path, list[str]]]:
    """(run dir, differences) when ``config`` would resume a checkpoint that another experiment saved."""
    run_dir = resume_run_dir(config)
    if run_dir is None or not (run_dir / IDENTITY_FILE).is_file():
        return None
    diff = differences(json.loads((run_dir / IDENTITY_FILE).read_text()), identity(config))
    return (run_dir, diff) if diff else None


def check_and_record(config: Any) -> None:
    """Stop before a resume of another experiment's checkpoint; record this run's identity when it starts
    afresh (or when none was recorded)."""
    run_dir = resume_run_dir(config)
    if run_dir is not None and (run_dir / IDENTITY_FILE).is_file():
        found = mismatch(config)
        if found:
            listing = "\n  ".join(found[1])
            if os.environ.get(OVERRIDE_ENV) == "1":
                logger.warning("resuming %s although it was saved by another experiment (%s=1):\n  %s",
                               run_dir, OVERRIDE_ENV, listing)
                return
            raise ResumeMismatch(
                f"the checkpoint in {run_dir} was saved by another experiment:\n  {listing}\n"
                f"Use another run directory (EXPERIMENT_NAME or CKPT_DIR with the launchers, "
                f"trainer.default_local_dir otherwise), trainer.resume_mode=disable to start afresh there, "
                f"or {OVERRIDE_ENV}=1 to resume it anyway."
            )
        return
    if run_dir is None:
        target = Path(str(config["trainer"]["default_local_dir"]))
        try:
            target.mkdir(parents=True, exist_ok=True)
            (target / IDENTITY_FILE).write_text(json.dumps(identity(config), indent=1, sort_keys=True) + "\n")
        except OSError as error:
            logger.warning("could not record the run identity in %s: %s", target, error)
