"""``python -m archer.launch.main`` with only a model path and data files composes a runnable job:
archer's reward (not verl's default_compute_score), a rollout engine, dynamic batching; the dry run of
exactly that passes."""

from __future__ import annotations

import subprocess
import sys

import yaml

from archer.launch import dry_run
from conftest import REPO_ROOT
from launcher_support import build_config_only_model, write_verl_parquet


def test_cfg_job_with_model_and_data_only_uses_archer_reward_and_passes_the_dry_run(tmp_path):
    model = build_config_only_model(tmp_path / "model")
    # one batch at least (verl's default data.train_batch_size is 1024): the dry run refuses fewer rows
    train = write_verl_parquet(tmp_path / "train.parquet", "deepscaler", [str(i) for i in range(1024)])
    val = write_verl_parquet(tmp_path / "val.parquet", "aime2024", ["3"])
    overrides = [f"actor_rollout_ref.model.path={model}", f"data.train_files=['{train}']", f"data.val_files=['{val}']"]
    proc = subprocess.run(
        [sys.executable, "-m", "archer.launch.main", "--cfg", "job", *overrides],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    job = yaml.safe_load(proc.stdout)
    assert job["reward"]["custom_reward_function"] == {"path": "pkg://archer.reward", "name": "compute_score"}
    assert job["actor_rollout_ref"]["rollout"]["name"] == "vllm"
    assert job["actor_rollout_ref"]["actor"]["use_dynamic_bsz"] is True

    cfg = dry_run.run(overrides)
    assert cfg.reward.custom_reward_function.path == "pkg://archer.reward"
