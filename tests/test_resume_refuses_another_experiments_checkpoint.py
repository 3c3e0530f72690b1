"""A run directory holds one experiment: resuming it with another loss, preset or model stops before Ray
starts, listing the differences; ARCHER_ALLOW_RESUME_MISMATCH=1 resumes anyway."""

from __future__ import annotations

import json

import pytest

from archer.launch.run_identity import IDENTITY_FILE, LATEST, ResumeMismatch, check_and_record


def run_config(compose_config, run_dir, *overrides):
    return compose_config(f"trainer.default_local_dir={run_dir}", *overrides)


def saved_checkpoint(compose_config, run_dir, *overrides):
    """A run that started in run_dir (identity recorded) and saved a checkpoint."""
    check_and_record(run_config(compose_config, run_dir, *overrides))
    (run_dir / "global_step_2").mkdir()
    (run_dir / LATEST).write_text("2")


def test_fresh_run_records_its_identity(compose_config, tmp_path):
    run_dir = tmp_path / "run"
    check_and_record(run_config(compose_config, run_dir))
    saved = json.loads((run_dir / IDENTITY_FILE).read_text())
    assert saved["loss mode"] == "aspo" and saved["high-entropy clip low"] == 0.4


def test_grpo_resuming_an_aspo_checkpoint_stops_naming_the_loss(compose_config, tmp_path, monkeypatch):
    monkeypatch.delenv("ARCHER_ALLOW_RESUME_MISMATCH", raising=False)
    run_dir = tmp_path / "run"
    saved_checkpoint(compose_config, run_dir)
    grpo = run_config(compose_config, run_dir, "actor_rollout_ref.actor.policy_loss.loss_mode=vanilla")
    with pytest.raises(ResumeMismatch, match=r"loss mode: checkpoint 'aspo', this run 'vanilla'"):
        check_and_record(grpo)


def test_other_preset_and_model_are_listed_together(compose_config, tmp_path, monkeypatch):
    monkeypatch.delenv("ARCHER_ALLOW_RESUME_MISMATCH", raising=False)
    run_dir = tmp_path / "run"
    saved_checkpoint(compose_config, run_dir)
    other = run_config(compose_config, run_dir, "aspo_preset=paper", "actor_rollout_ref.model.path=/models/other")
    with pytest.raises(ResumeMismatch) as raised:
        check_and_record(other)
    message = str(raised.value)
    assert "model:" in message and "high-entropy clip low: checkpoint 0.4, this run None" in message
    assert "ARCHER_ALLOW_RESUME_MISMATCH=1" in message


def test_same_experiment_resumes_and_override_allows_a_mismatch(compose_config, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    saved_checkpoint(compose_config, run_dir)
    check_and_record(run_config(compose_config, run_dir))  # same experiment: resumes
    monkeypatch.setenv("ARCHER_ALLOW_RESUME_MISMATCH", "1")
    check_and_record(run_config(compose_config, run_dir, "actor_rollout_ref.actor.policy_loss.loss_mode=vanilla"))


def test_resume_disabled_never_checks(compose_config, tmp_path, monkeypatch):
    monkeypatch.delenv("ARCHER_ALLOW_RESUME_MISMATCH", raising=False)
    run_dir = tmp_path / "run"
    saved_checkpoint(compose_config, run_dir)
    check_and_record(run_config(compose_config, run_dir, "trainer.resume_mode=disable",
                                "actor_rollout_ref.actor.policy_loss.loss_mode=vanilla"))
