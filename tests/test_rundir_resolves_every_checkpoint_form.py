"""archer.rundir.resolve_checkpoint: every form of "this checkpoint" names the same actor dir, and a run
dir names its latest step (verl's marker, else the highest global_step_N)."""

from pathlib import Path

from archer.rundir import LATEST, latest_step, resolve_checkpoint, saved_steps, step_of


def make_run(tmp_path: Path, steps=(1, 2, 3), marker=2) -> Path:
    run = tmp_path / "run"
    for step in steps:
        (run / f"global_step_{step}" / "actor" / "huggingface").mkdir(parents=True)
    if marker is not None:
        (run / LATEST).write_text(str(marker))
    return run


def test_every_form_names_the_same_actor_dir(tmp_path):
    run = make_run(tmp_path)
    actor = run / "global_step_2" / "actor"
    for given in (run, run / "global_step_2", actor, actor / "huggingface"):
        found = resolve_checkpoint(given)
        assert found is not None and found.actor_dir == actor and found.step == 2, given
        assert found.run_dir == run


def test_run_dir_without_marker_takes_the_highest_step(tmp_path):
    run = make_run(tmp_path, marker=None)
    assert latest_step(run) == 3 and saved_steps(run) == [1, 2, 3]
    assert resolve_checkpoint(run).step == 3


def test_a_dir_without_checkpoints_names_none(tmp_path):
    assert resolve_checkpoint(tmp_path) is None
    assert step_of(tmp_path / "global_step_7" / "actor" / "x") == 7
