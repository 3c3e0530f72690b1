"""Hydra entry point: verl's PPO pipeline with archer's config (ASPO presets, archer's reward).

    python -m archer.launch.main [aspo_preset=paper] [hydra overrides ...]
    python -m archer.launch.main --cfg job        # print the composed config (works on CPU)
    python -m archer.launch.dry_run [overrides]   # compose + verl's validation + data/reward checks (CPU)

With no more than ``actor_rollout_ref.model.path`` and ``data.train_files`` / ``data.val_files`` the
composed job runs: archer's reward (``pkg://archer.reward``), vLLM rollout, dynamic batching.
"""

from __future__ import annotations

import logging
import sys

import hydra

import archer.plugin  # noqa: F401  (registers loss_mode=aspo and applies the patches even with plugins disabled)
from archer.launch import CONFIG_DIR, CONFIG_NAME


def check_config(config, defaults=None) -> None:
    """Fail on the driver, before Ray starts, for settings that would only fail inside a worker (an
    unregistered loss mode, a value of the wrong type, ASPO's entropy switch); see
    :mod:`archer.launch.config_checks`. ``defaults``: the config composed with no overrides."""
    from archer.launch.config_checks import check_all

    check_all(config, defaults)


class _ArcherEnforcesGenBatches(logging.Filter):
    """Drops verl's "filter_groups.max_num_gen_batches=N is ignored" warning (verl/trainer/ppo/v1/trainer_base.py)
    in this process: archer.plugin.filter_groups_guard enforces that limit. In Ray workers the console
    filter (archer.launch.console) keeps it out of the console and annotates it in train.log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "max_num_gen_batches" not in str(record.msg)


def quiet_contradicted_warnings() -> None:
    logging.getLogger("verl.trainer.ppo.v1.trainer_base").addFilter(_ArcherEnforcesGenBatches())


def interrupted(config) -> int:
    """Ctrl-C while training: say how to resume (archer.launch.console adds the step) and return 130."""
    from archer.launch.console import INTERRUPT_MARK, latest_checkpoint

    trainer = config.get("trainer", {})
    mode = trainer.get("resume_mode", "auto")
    saved = latest_checkpoint(trainer.get("default_local_dir"))
    if mode == "disable":
        tail = "trainer.resume_mode=disable, so a rerun starts again from step 1"
    elif saved is not None:
        tail = f"rerun the same command to resume from global_step_{saved}, the last checkpoint"
    else:
        tail = "no checkpoint was saved yet; rerun the same command to start again"
    print(f"{INTERRUPT_MARK} (Ctrl-C); {tail}", file=sys.stderr, flush=True)
    try:  # Ray's own atexit hook would do it too, after printing a traceback per actor
        import ray

        if ray.is_initialized():
            ray.shutdown()
    except BaseException:  # noqa: BLE001 - a second Ctrl-C during the shutdown: leave at once
        pass
    return 130


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
    quiet_contradicted_warnings()
    try:
        # verl's own entry point minus its hydra decorator: device detection, validate_config, Ray, trainer
        verl_main.__wrapped__(config)
    except KeyboardInterrupt:
        sys.exit(interrupted(config))


if __name__ == "__main__":
    main()
