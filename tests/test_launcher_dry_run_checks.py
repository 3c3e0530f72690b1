"""archer.launch.dry_run's checks, called in-process on configs composed like the launcher's: data files
(validated, or the exact prepare command), the group-filter metric, the model check without network."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from archer.launch import dry_run
from launcher_support import build_config_only_model, write_verl_parquet

BASE = [
    "actor_rollout_ref.rollout.name=vllm",
    "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=1",
    "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=1",
    "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=1",
    "reward.custom_reward_function.path=pkg://archer.reward",
]


def compose(*overrides):
    return dry_run.compose_config([*BASE, *overrides])


def test_prepare_command_follows_the_data_contract_file_names(tmp_path):
    assert dry_run.prepare_command(tmp_path / "train" / "code.parquet") == [
        "python", "-m", "archer.data", "prepare", "--suite", "code", "--out-dir", str(tmp_path)
    ]
    assert dry_run.prepare_command(tmp_path / "eval" / "livecodebench_v6.parquet")[5] == "eval"
    assert dry_run.prepare_command(tmp_path / "eval" / "gsm8k.parquet") is None
    assert dry_run.prepare_command(tmp_path / "train" / "math.jsonl") is None


def test_missing_data_warns_with_one_command_per_suite(tmp_path, caplog):
    cfg = compose(
        f"data.train_files=['{tmp_path}/train/math.parquet']",
        f"data.val_files=['{tmp_path}/eval/aime2024.parquet','{tmp_path}/eval/math500.parquet']",
    )
    with caplog.at_level(logging.WARNING, logger="archer.dry_run"):
        assert dry_run.check_data(cfg, prepare_missing=False) == {}
    text = caplog.text
    assert f"the real run will execute: python -m archer.data prepare --suite math --out-dir {tmp_path}\n" in text
    assert f"python -m archer.data prepare --suite eval --out-dir {tmp_path} --sets aime2024,math500\n" in text
    assert text.count("--suite eval") == 1


def test_missing_file_with_unknown_name_fails_the_preflight(tmp_path):
    cfg = compose(f"data.train_files=['{tmp_path}/mine.parquet']", f"data.val_files=['{tmp_path}/v.parquet']")
    with pytest.raises(dry_run.DryRunError, match=r"data.train_files: .*mine.parquet does not exist"):
        dry_run.check_data(cfg, prepare_missing=True)


def test_existing_files_are_validated_and_a_bad_one_is_named(tmp_path):
    pytest.importorskip("archer.data", reason="archer.data (data preparation) is not installed yet")
    import pandas as pd

    good = write_verl_parquet(tmp_path / "train" / "math.parquet", "deepscaler", ["1", "2"])
    bad = tmp_path / "eval" / "aime2024.parquet"
    bad.parent.mkdir()
    pd.DataFrame({"data_source": ["aime2024"], "question": ["1+1?"]}).to_parquet(bad)
    cfg = compose(f"data.train_files=['{good}']", f"data.val_files=['{good}']")
    summary = dry_run.check_data(cfg, prepare_missing=False)
    assert summary[str(good)]["rows"] == 2
    cfg = compose(f"data.train_files=['{good}']", f"data.val_files=['{bad}']")
    with pytest.raises(dry_run.DryRunError, match=rf"data.val_files: {bad}: missing column"):
        dry_run.check_data(cfg, prepare_missing=False)


def test_filter_metric_must_be_a_numeric_reward_key():
    assert dry_run.check_filter_groups(compose("algorithm.filter_groups.enable=true",
                                               "algorithm.filter_groups.metric=acc")) == "acc"
    assert dry_run.check_filter_groups(compose("algorithm.filter_groups.enable=false")) is None
    with pytest.raises(dry_run.DryRunError, match=r"algorithm.filter_groups.metric='pred' is not a numeric key"):
        dry_run.check_filter_groups(compose("algorithm.filter_groups.enable=true", "algorithm.filter_groups.metric=pred"))
    with pytest.raises(dry_run.DryRunError, match=r"algorithm.filter_groups.metric must be set"):
        dry_run.check_filter_groups(compose("algorithm.filter_groups.enable=true", "algorithm.filter_groups.metric=null"))


def test_dapo_overlong_buffer_is_checked_by_verls_reward_loader():
    ok = dry_run.load_reward(compose(
        "reward.reward_manager.name=dapo", "++reward.reward_kwargs.overlong_buffer_cfg.enable=true",
        "++reward.reward_kwargs.overlong_buffer_cfg.len=16", "++reward.reward_kwargs.overlong_buffer_cfg.penalty_factor=1.0",
        "++reward.reward_kwargs.max_resp_len=64",
    ))
    assert type(ok).__name__ == "DAPORewardManager" and ok.overlong_buffer_cfg.len == 16
    with pytest.raises(dry_run.DryRunError, match="max_resp_len must be provided"):
        dry_run.load_reward(compose(
            "reward.reward_manager.name=dapo", "++reward.reward_kwargs.overlong_buffer_cfg.enable=true",
            "++reward.reward_kwargs.overlong_buffer_cfg.len=16",
        ))


def test_model_check_downloads_nothing_and_loads_a_local_dir(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="archer.dry_run"):
        assert dry_run.check_model(compose("actor_rollout_ref.model.path=nobody/not-cached-model"),
                                   allow_download=False) is None
    assert "not in the local Hugging Face cache" in caplog.text
    model = build_config_only_model(tmp_path / "m")
    hf = dry_run.check_model(compose(f"actor_rollout_ref.model.path={model}"), allow_download=False)
    assert hf.hf_config.model_type == "qwen2"


@pytest.mark.parametrize("dynamic", ["true", "false"])
def test_an_indivisible_batch_is_rejected_with_or_without_dynamic_batching(dynamic):
    """verl's validate_config checks this only without dynamic batching (archer's default is dynamic)."""
    cfg = compose("data.train_batch_size=3", "actor_rollout_ref.rollout.n=1", "actor_rollout_ref.actor.ppo_mini_batch_size=1",
                  f"actor_rollout_ref.actor.use_dynamic_bsz={dynamic}")
    with pytest.raises(dry_run.DryRunError, match=r"= 3 responses per step must be divisible by the 8 data-parallel ranks"):
        dry_run.validate_with_verl(cfg)


def test_preflight_runs_the_prepare_command_and_validates_its_output(tmp_path, monkeypatch):
    """The real run's data step, offline: eval sets come from the shared benchmark files."""
    pytest.importorskip("archer.data", reason="archer.data (data preparation) is not installed yet")
    from launcher_support import REPO_ROOT

    shared = Path(__import__("os").environ.get("ARCHER_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    if not (shared / "aime2024").is_dir():
        pytest.skip(f"shared benchmark files not found at {shared} (set ARCHER_SHARED_DATA)")
    monkeypatch.setenv("ARCHER_SHARED_DATA", str(shared))
    train = write_verl_parquet(tmp_path / "train" / "math.parquet", "deepscaler", ["1"])
    val = tmp_path / "eval" / "aime2024.parquet"
    cfg = compose(f"data.train_files=['{train}']", f"data.val_files=['{val}']")
    summary = dry_run.check_data(cfg, prepare_missing=True)
    assert summary[str(val)] == {**summary[str(val)], "rows": 30, "data_sources": {"aime2024": 30}}


def test_dynamic_batching_must_agree_between_actor_and_rollout_log_probs():
    cfg = compose("actor_rollout_ref.actor.use_dynamic_bsz=true", "actor_rollout_ref.rollout.log_prob_use_dynamic_bsz=false")
    with pytest.raises(dry_run.DryRunError, match=r"actor_rollout_ref.rollout.log_prob_use_dynamic_bsz=False must be equal"):
        dry_run.validate_with_verl(cfg)
