"""archer.rundir: a run's latest step is verl's marker, else the highest global_step_N; a path's step is
its nearest global_step_N component."""

from pathlib import Path

from archer.rundir import LATEST, latest_step, marked_step, saved_steps, step_of


def make_run(tmp_path: Path, steps=(1, 2, 3), marker=2) -> Path:
    run = tmp_path / "run"
    for step in steps:
        (run / f"global_step_{step}" / "actor" / "huggingface").mkdir(parents=True)
    if marker is not None:
        (run / LATEST).write_text(str(marker))
    return run


def test_the_marker_names_the_latest_step(tmp_path):
    run = make_run(tmp_path)
    assert marked_step(run) == 2 and latest_step(run) == 2


def test_run_dir_without_marker_takes_the_highest_step(tmp_path):
    run = make_run(tmp_path, marker=None)
    assert marked_step(run) is None
    assert latest_step(run) == 3 and saved_steps(run) == [1, 2, 3]


def test_a_dir_without_checkpoints_has_no_step(tmp_path):
    assert latest_step(tmp_path) is None and marked_step(None) is None
    assert step_of(tmp_path / "global_step_7" / "actor" / "x") == 7
