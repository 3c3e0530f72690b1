"""Hydra entry point: verl's PPO pipeline with archer's config (ASPO presets, archer's reward).

    python -m archer.launch.main [aspo_preset=paper] [hydra overrides ...]
    python -m archer.launch.main --cfg job        # print the composed config (works on CPU)
    python -m archer.launch.dry_run [overrides]   # compose + verl's validation + data/reward checks (CPU)

With no more than ``actor_rollout_ref.model.path`` and ``data.train_files`` / ``data.val_files`` the
composed job runs: archer's reward (``pkg://archer.reward``), vLLM rollout, dynamic batching.
"""

from __future__ import annotations

import hydra

import archer.plugin  # noqa: F401  (registers loss_mode=aspo and applies the patches even with plugins disabled)

from archer.launch import CONFIG_DIR, CONFIG_NAME


def check_config(config, defaults=None) -> None:
    """Fail on the driver, before Ray starts, for settings that would only fail inside a worker (an
    unregistered loss mode, a value of the wrong type, ASPO's entropy switch); see
    :mod:`archer.launch.config_checks`. ``defaults``: the config composed with no overrides."""
    from archer.launch.config_checks import check_all

    check_all(config, defaults)


@hydra.main(config_path=str(CONFIG_DIR), config_name=CONFIG_NAME, version_base=None)
def main(config) -> None:
    from verl.trainer.main_ppo import main as verl_main

    check_config(config)
    # every archer patch of verl is active (verl swallows plugin import errors; archer/plugin/patches.py)
    from archer.plugin import patches

    patches.verify()
    # a checkpoint of another experiment (loss, preset, model, data) is never resumed (archer/launch/run_identity.py)
    from archer.launch.run_identity import check_and_record

    check_and_record(config)
    # verl's own entry point minus its hydra decorator: device detection, validate_config, Ray, trainer
    verl_main.__wrapped__(config)


if __name__ == "__main__":
    main()
