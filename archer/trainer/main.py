"""Hydra entry point: verl's PPO pipeline with archer's config (ASPO presets, archer's reward).

    python -m archer.trainer.main [aspo_preset=paper] [hydra overrides ...]
    python -m archer.trainer.main --cfg job        # print the composed config (works on CPU)
    python -m archer.trainer.dry_run [overrides]   # compose + verl's validation + data/reward checks (CPU)

With no more than ``actor_rollout_ref.model.path`` and ``data.train_files`` / ``data.val_files`` the
composed job runs: archer's reward (``pkg://archer.reward``), vLLM rollout, dynamic batching.
"""

from __future__ import annotations

from pathlib import Path

import hydra

import archer.trainer.verl_adapter as verl_adapter  # noqa: F401  (registers loss_mode=aspo even with plugins disabled)

# the hydra config this entry point composes (archer.trainer.dry_run composes the same one)
CONFIG_DIR = Path(__file__).resolve().parent / "config"
CONFIG_NAME = "aspo_trainer"


def check_config(config, defaults=None) -> None:
    """Fail on the driver, before Ray starts, for settings that would only fail inside a worker (an
    unregistered loss mode, a value of the wrong type, ASPO's entropy switch); see
    :mod:`archer.trainer.config_checks`. ``defaults``: the config composed with no overrides."""
    from archer.trainer.config_checks import check_all

    check_all(config, defaults)


@hydra.main(config_path=str(CONFIG_DIR), config_name=CONFIG_NAME, version_base=None)
def main(config) -> None:
    from verl.trainer.main_ppo import main as verl_main

    check_config(config)
    # a checkpoint of another experiment (loss, preset, model, data) is never resumed (archer/trainer/run_identity.py)
    from archer.trainer.run_identity import check_and_record

    check_and_record(config)
    # verl's own entry point minus its hydra decorator: device detection, validate_config, Ray, trainer
    verl_main.__wrapped__(config)


if __name__ == "__main__":
    main()
