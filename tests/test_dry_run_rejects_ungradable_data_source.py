"""A data source the configured reward cannot grade fails in the dry run, naming the file, the source and
the reward; archer's default reward grades every source archer.data writes."""

from __future__ import annotations

import pytest

from archer.launch import dry_run
from launcher_support import write_verl_parquet


def _run(tmp_path, *overrides):
    # math500 as the training set (the dry run also names that leak), one default batch of rows
    train = write_verl_parquet(tmp_path / "train.parquet", "math500", [str(i) for i in range(1024)])
    val = write_verl_parquet(tmp_path / "val.parquet", "minerva", ["3"])
    return dry_run.run([f"data.train_files=['{train}']", f"data.val_files=['{val}']", *overrides])


def test_verl_default_reward_cannot_grade_math500_and_the_dry_run_says_so(tmp_path):
    with pytest.raises(dry_run.DryRunError) as err:
        _run(tmp_path, "reward.custom_reward_function.path=null")
    message = str(err.value)
    assert "data.train_files" in message and "train.parquet" in message and "'math500'" in message
    assert "default_compute_score" in message and "pkg://archer.reward" in message


def test_archer_reward_grades_them(tmp_path):
    with pytest.raises(dry_run.DryRunError) as err:
        _run(tmp_path)  # archer.launch.main's default reward
    message = str(err.value)
    assert "1 problem(s)" in message and "holds evaluation set(s) math500" in message  # graded, but a leak


def test_an_unknown_source_is_named_with_archer_reward(tmp_path):
    train = write_verl_parquet(tmp_path / "train.parquet", "my_new_benchmark", ["1"])
    with pytest.raises(dry_run.DryRunError, match=r"data_source 'my_new_benchmark'.*pkg://archer.reward:compute_score"):
        dry_run.run([f"data.train_files=['{train}']", f"data.val_files=['{train}']"])
