"""The training run's resolved config (hydra's ``.hydra/config.yaml``) and the hyperparameters shown in
the model card.

hydra writes the composed config of ``python -m archer.launch.main`` to
``<hydra.run.dir>/.hydra/config.yaml`` (by default ``outputs/<date>/<time>/`` under the launch dir, not
next to the checkpoints). It is found automatically when it sits in the checkpoint's ``global_step_N``
dir or one of its two parents (e.g. training with ``hydra.run.dir=${trainer.default_local_dir}``);
otherwise pass ``--config FILE``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from .errors import ExportError
from archer import rundir

# (label in the card, dotted key in verl's / archer's config)
HYPERPARAMETERS = (
    ("advantage estimator", "algorithm.adv_estimator"),
    ("policy loss", "actor_rollout_ref.actor.policy_loss.loss_mode"),
    ("learning rate", "actor_rollout_ref.actor.optim.lr"),
    ("train batch size (prompts)", "data.train_batch_size"),
    ("PPO mini-batch size (prompts)", "actor_rollout_ref.actor.ppo_mini_batch_size"),
    ("rollouts per prompt (n)", "actor_rollout_ref.rollout.n"),
    ("max prompt length", "data.max_prompt_length"),
    ("max response length", "data.max_response_length"),
    ("rollout temperature", "actor_rollout_ref.rollout.temperature"),
    ("clip ratio low (eps_low)", "actor_rollout_ref.actor.clip_ratio_low"),
    ("clip ratio high (eps_high)", "actor_rollout_ref.actor.clip_ratio_high"),
    ("high-entropy eps_low", "actor_rollout_ref.actor.policy_loss.high_entropy_clip_ratio_low"),
    ("high-entropy eps_high", "actor_rollout_ref.actor.policy_loss.high_entropy_clip_ratio_high"),
    ("entropy quantile", "actor_rollout_ref.actor.policy_loss.entropy_quantile"),
    ("dual clip c", "actor_rollout_ref.actor.policy_loss.dual_clip_c"),
    ("negative dual clip", "actor_rollout_ref.actor.policy_loss.negative_dual_clip"),
    ("loss aggregation", "actor_rollout_ref.actor.loss_agg_mode"),
    ("entropy coefficient", "actor_rollout_ref.actor.entropy_coeff"),
    ("KL loss", "actor_rollout_ref.actor.use_kl_loss"),
    ("KL loss coefficient", "actor_rollout_ref.actor.kl_loss_coef"),
    ("KL loss type", "actor_rollout_ref.actor.kl_loss_type"),
    ("KL in reward", "algorithm.use_kl_in_reward"),
    ("KL reward coefficient", "algorithm.kl_ctrl.kl_coef"),
    ("total epochs", "trainer.total_epochs"),
    ("total training steps", "trainer.total_training_steps"),
)

MODEL_PATH_KEY = "actor_rollout_ref.model.path"
LOSS_MODE_KEY = "actor_rollout_ref.actor.policy_loss.loss_mode"


# where a run's resolved config is looked for, in each directory from global_step_N up two levels:
# hydra's own copy, then the copy scripts/run_aspo_*.sh writes into the run dir ($CKPT_DIR/config.yaml)
RUN_CONFIG_NAMES = (rundir.HYDRA_CONFIG, rundir.RUN_CONFIG)


def find_run_config(checkpoint_dir: Path) -> Optional[Path]:
    """The run's resolved config in ``global_step_N`` or its two parents (the run and project dirs), if any:
    hydra's ``.hydra/config.yaml`` or the launchers' ``config.yaml``."""
    path = Path(checkpoint_dir).resolve()
    start = path.parent if path.name == "actor" else path
    for candidate_dir in [start, *list(start.parents)[:2]]:
        for name in RUN_CONFIG_NAMES:
            candidate = candidate_dir / name
            if candidate.is_file():
                return candidate
    return None


def load_run_config(path: Path):
    from omegaconf import OmegaConf

    path = Path(path)
    if not path.is_file():
        raise ExportError(f"--config {path} does not exist")
    try:
        config = OmegaConf.load(path)
    except Exception as exc:
        raise ExportError(f"--config {path} is not a readable YAML config: {exc}") from exc
    if not OmegaConf.is_dict(config) or "actor_rollout_ref" not in config:
        raise ExportError(
            f"--config {path} has no 'actor_rollout_ref' section: expected the resolved training config "
            "(hydra's .hydra/config.yaml of the run)"
        )
    return config


def select(config, key: str) -> Any:
    """A value of the config (resolved when its interpolation resolves; the raw text otherwise)."""
    from omegaconf import OmegaConf

    try:
        return OmegaConf.select(config, key, default=None, throw_on_resolution_failure=True)
    except Exception:
        node = OmegaConf.select(config, key, default=None, throw_on_resolution_failure=False)
        return str(node)


def hyperparameters(config) -> list[tuple[str, str, Any]]:
    """(label, key, value) for every key of HYPERPARAMETERS present in the config."""
    rows = []
    for label, key in HYPERPARAMETERS:
        value = select(config, key)
        if value is not None:
            rows.append((label, key, value))
    return rows


def loss_mode_of(config) -> Optional[str]:
    """The run's policy loss (``aspo``, ``vanilla`` = verl's PPO/GRPO loss, ...), if its config says."""
    value = select(config, LOSS_MODE_KEY)
    return None if value is None else str(value)
