"""Hydra entry point: verl's PPO pipeline with the ASPO presets.

    python -m archer.trainer.main [--config-name aspo_paper] [hydra overrides ...]
    python -m archer.trainer.main --cfg job        # print the composed config (works on CPU)
    python -m archer.trainer.dry_run [overrides]   # compose + verl's validation + data/reward checks (CPU)
"""

from __future__ import annotations

from pathlib import Path

import hydra

import archer.trainer.verl_adapter as verl_adapter  # registers loss_mode=aspo even with plugins disabled

# the hydra config this entry point composes (archer.trainer.dry_run composes the same one)
CONFIG_DIR = Path(__file__).resolve().parent / "config"
CONFIG_NAME = "aspo_trainer"


def check_aspo_config(config) -> None:
    """Fail on the driver, before Ray starts, for ASPO settings that would only fail inside a worker."""
    actor = config.actor_rollout_ref.actor
    if actor.policy_loss.get("loss_mode") != verl_adapter.LOSS_MODE:
        return
    if verl_adapter.aspo_settings(actor).uses_entropy and not actor.calculate_entropy:
        raise verl_adapter.missing_entropy_error()


@hydra.main(config_path=str(CONFIG_DIR), config_name=CONFIG_NAME, version_base=None)
def main(config) -> None:
    from verl.trainer.main_ppo import main as verl_main

    check_aspo_config(config)
    # verl's own entry point minus its hydra decorator: device detection, validate_config, Ray, trainer
    verl_main.__wrapped__(config)


if __name__ == "__main__":
    main()
