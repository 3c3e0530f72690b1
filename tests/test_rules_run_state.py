"""Rule family "run_state" (archer.launch.rules.run_state): the run's state on disk lets it start -- a
resume path exists, the checkpoint to resume was saved by this experiment (archer.launch.run_identity), and
the checkpoint directory can be created and written. Each rule with a passing and a failing case, then
through the dry run."""

from __future__ import annotations

import json

from archer.launch import rules, run_identity
from rules_support import config, line_naming, rejected, world

LOSS = "actor_rollout_ref.actor.policy_loss.loss_mode"


def trainer(tmp_path, **values) -> dict:
    return config({"trainer.resume_mode": "auto", "trainer.default_local_dir": str(tmp_path / "run"), LOSS: "aspo",
                   **{f"trainer.{k}": v for k, v in values.items()}})


def test_a_fresh_run_passes(tmp_path):
    assert rules.run_state(trainer(tmp_path)) == []


def test_the_resume_path_is_a_directory(tmp_path):
    step = tmp_path / "run" / "global_step_3"
    step.mkdir(parents=True)
    assert rules.run_state(trainer(tmp_path, resume_mode="resume_path", resume_from_path=str(step))) == []
    (problem,) = rules.run_state(trainer(tmp_path, resume_mode="resume_path", resume_from_path="/nonexistent/global_step_3"))
    assert problem.startswith("RESUME_FROM_PATH (trainer.resume_from_path)='/nonexistent/global_step_3' is not a directory")


def _saved_run(tmp_path, loss: str):
    run_dir = tmp_path / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / run_identity.LATEST).write_text("3")
    (run_dir / run_identity.IDENTITY_FILE).write_text(json.dumps(run_identity.identity(config({LOSS: loss}))))
    return run_dir


def test_the_checkpoint_to_resume_is_this_experiments(tmp_path, monkeypatch):
    monkeypatch.delenv(run_identity.OVERRIDE_ENV, raising=False)
    _saved_run(tmp_path, "aspo")
    assert rules.run_state(trainer(tmp_path)) == []
    run_dir = _saved_run(tmp_path, "vanilla")
    (problem,) = rules.run_state(trainer(tmp_path))
    assert f"the checkpoint to resume in {run_dir} was saved by another experiment" in problem
    assert "loss mode: checkpoint 'vanilla', this run 'aspo'" in problem and run_identity.OVERRIDE_ENV in problem
    assert rules.run_state(trainer(tmp_path, resume_mode="disable")) == []
    monkeypatch.setenv(run_identity.OVERRIDE_ENV, "1")
    assert rules.run_state(trainer(tmp_path)) == []


def test_the_checkpoint_dir_can_be_created_and_written(tmp_path):
    assert rules.run_state(trainer(tmp_path, default_local_dir=str(tmp_path / "a" / "b" / "c"))) == []
    (tmp_path / "file").write_text("")
    (problem,) = rules.run_state(trainer(tmp_path, default_local_dir=str(tmp_path / "file" / "run")))
    assert "CKPT_DIR (trainer.default_local_dir)=" in problem and "is not a directory" in problem
    (problem,) = rules.run_state(trainer(tmp_path, default_local_dir="/proc/archer/run"))
    assert "cannot be written" in problem


def test_the_dry_run_reports_the_run_state(tmp_path_factory):
    message = rejected(world(tmp_path_factory), "trainer.resume_mode=resume_path",
                       "trainer.resume_from_path=/nonexistent/global_step_3", "trainer.default_local_dir=/proc/archer/run")
    assert line_naming(message, "RESUME_FROM_PATH") and line_naming(message, "CKPT_DIR")


def test_a_resume_path_selects_resume_path_mode_and_contradicting_it_is_an_error():
    from archer.launch import resolve

    given = resolve.resolve("math", {"RESUME_FROM_PATH": "/runs/x/global_step_3"}, repo="/repo")
    assert given["RESUME_MODE"] == "resume_path" and resolve.problems(given) == []
    assert "trainer.resume_mode=resume_path" in resolve.overrides(given)
    assert "trainer.resume_from_path=/runs/x/global_step_3" in resolve.overrides(given)
    both = resolve.resolve("math", {"RESUME_FROM_PATH": "/runs/x/global_step_3", "RESUME_MODE": "disable"}, repo="/repo")
    (problem,) = resolve.problems(both)
    assert problem.startswith("RESUME_FROM_PATH=/runs/x/global_step_3 with RESUME_MODE=disable")
