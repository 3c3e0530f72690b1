"""Where the export finds a run's resolved config for the model card: hydra's .hydra/config.yaml or the
config.yaml the launchers write into the run dir, in global_step_N or up to two levels above it."""

from __future__ import annotations

from archer.export.run_config import find_run_config


def _run_dir(tmp_path):
    actor = tmp_path / "proj" / "exp" / "global_step_20" / "actor"
    actor.mkdir(parents=True)
    return actor


def test_launcher_config_in_the_run_dir_is_found(tmp_path):
    actor = _run_dir(tmp_path)
    saved = tmp_path / "proj" / "exp" / "config.yaml"
    saved.write_text("actor_rollout_ref: {}\n")
    assert find_run_config(actor) == saved.resolve()


def test_hydra_copy_wins_over_the_launcher_copy_in_the_same_dir(tmp_path):
    actor = _run_dir(tmp_path)
    run = tmp_path / "proj" / "exp"
    (run / "config.yaml").write_text("actor_rollout_ref: {}\n")
    (run / ".hydra").mkdir()
    (run / ".hydra" / "config.yaml").write_text("actor_rollout_ref: {}\n")
    assert find_run_config(actor) == (run / ".hydra" / "config.yaml").resolve()


def test_nothing_above_the_project_dir_is_searched(tmp_path):
    actor = _run_dir(tmp_path)
    (tmp_path / "config.yaml").write_text("actor_rollout_ref: {}\n")
    assert find_run_config(actor) is None
