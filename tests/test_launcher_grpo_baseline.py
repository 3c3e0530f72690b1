"""The GRPO baseline launchers (scripts/run_grpo_{math,code}.sh) resolve, key by key, to the config of
their ASPO twins except for the policy-loss mode and the run's name and directories: same data, lengths,
batch, optimiser, rollout, reward, filtering and KL."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from launcher_support import REPO_ROOT, launcher_env

pytestmark = pytest.mark.slow

# keys that must differ: the loss, and what is named after the experiment
RUN_NAME_KEYS = {
    "trainer.experiment_name",
    "actor_rollout_ref.rollout.trace.experiment_name",  # verl interpolates trainer.experiment_name
    "trainer.default_local_dir",
    "trainer.validation_data_dir",
    "ray_kwargs.ray_init.runtime_env.env_vars.TENSORBOARD_DIR",
}


def flatten(node, prefix=""):
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: node}


def dry_run(script: str, data_dir) -> dict:
    proc = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / script), "--dry-run"],
        cwd=REPO_ROOT, env=launcher_env(DATA_DIR=str(data_dir)), capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return flatten(yaml.safe_load(proc.stdout))


@pytest.mark.parametrize("task", ["math", "code"])
def test_grpo_twin_differs_from_aspo_only_in_the_policy_loss_mode(task, tmp_path):
    aspo = dry_run(f"run_aspo_{task}.sh", tmp_path)
    grpo = dry_run(f"run_grpo_{task}.sh", tmp_path)
    assert set(aspo) == set(grpo)
    differ = {k for k in aspo if aspo[k] != grpo[k]}
    assert differ == {"actor_rollout_ref.actor.policy_loss.loss_mode"} | RUN_NAME_KEYS, differ
    assert aspo["actor_rollout_ref.actor.policy_loss.loss_mode"] == "aspo"
    assert grpo["actor_rollout_ref.actor.policy_loss.loss_mode"] == "vanilla"
    assert grpo["trainer.experiment_name"] == f"grpo-r1-distill-qwen-1.5b-{task}"
    # verl's clip settings, with ASPO's numbers: eps 0.2 / 0.2, hard dual clip c = 3 for A < 0
    assert (grpo["actor_rollout_ref.actor.clip_ratio_low"], grpo["actor_rollout_ref.actor.clip_ratio_high"]) == (0.2, 0.2)
    assert grpo["actor_rollout_ref.actor.clip_ratio_c"] == 3.0
