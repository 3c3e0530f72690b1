"""The GRPO baseline launchers (scripts/run_grpo_{math,code}.sh: LOSS_MODE=vanilla, then the ASPO launcher)
resolve, key by key, to the config of their ASPO twins except for the policy-loss mode and the run's name and
directories: same data, lengths, batch, optimiser, rollout, reward, filtering and KL. In-process dry runs
(launcher_support.dry); the scripts themselves: tests/test_launcher_end_to_end.py."""

from __future__ import annotations

import pytest

from launcher_support import RUN_NAME_KEYS, dry_config, flatten


@pytest.mark.parametrize("task", ["math", "code"])
def test_grpo_twin_differs_from_aspo_only_in_the_policy_loss_mode(task):
    aspo, grpo = flatten(dry_config(task)), flatten(dry_config(task, {"LOSS_MODE": "vanilla"}))
    assert set(aspo) == set(grpo)
    differ = {k for k in aspo if aspo[k] != grpo[k]}
    assert differ == {"actor_rollout_ref.actor.policy_loss.loss_mode"} | RUN_NAME_KEYS, differ
    assert aspo["actor_rollout_ref.actor.policy_loss.loss_mode"] == "aspo"
    assert grpo["actor_rollout_ref.actor.policy_loss.loss_mode"] == "vanilla"
    assert grpo["trainer.experiment_name"] == f"grpo-r1-distill-qwen-1.5b-{task}"
    # verl's clip settings, with ASPO's numbers: eps 0.2 / 0.2, hard dual clip c = 3 for A < 0
    assert (grpo["actor_rollout_ref.actor.clip_ratio_low"], grpo["actor_rollout_ref.actor.clip_ratio_high"]) == (0.2, 0.2)
    assert grpo["actor_rollout_ref.actor.clip_ratio_c"] == 3.0
