"""Rule family "data" (archer.launch.rules.data): the training data fits the run -- the prompt key is a
column, the data is of the launcher's task, it is not an evaluation set, it holds one batch at least -- and
every validation file is an evaluation set archer knows. Each rule with a passing and a failing case, then
all of them at once through the dry run."""

from __future__ import annotations

from pathlib import Path

import pytest

from archer.launch import dry_run, rules
from rules_support import base, config, line_naming, rejected, rows, world, write_parquet


@pytest.fixture(scope="module")
def w(tmp_path_factory):
    return world(tmp_path_factory)


def check(w, train: str, sources: dict, n: int, task="math", prompt_key="prompt", val=None, batch=8) -> list[str]:
    files = [("data.train_files", Path(train)), ("data.val_files", Path(val or w["eval"]))]
    summaries = {train: {"rows": n, "data_sources": sources}}
    return rules.data(config({"data.prompt_key": prompt_key, "data.train_batch_size": batch}), files, summaries, task)


def test_the_base_of_these_cases_passes(w):
    assert check(w, w["math"], {"deepscaler": 64}, 64) == []


def test_the_prompt_key_is_a_column(w):
    assert check(w, w["math"], {"deepscaler": 64}, 64, prompt_key="prompt") == []
    (problem,) = check(w, w["math"], {"deepscaler": 64}, 64, prompt_key="question")
    assert "data.prompt_key='question' is not a column" in problem and "columns: " in problem


def test_the_data_is_of_the_launchers_task(w):
    assert check(w, w["code"], {"archer2_code": 64}, 64, task="code") == []
    (problem,) = check(w, w["code"], {"archer2_code": 64}, 64, task="math")
    assert "another task (code: archer2_code)" in problem and "scripts/run_aspo_code.sh" in problem


def test_the_training_data_is_not_an_evaluation_set(w):
    (problem,) = check(w, w["eval"], {"math500": 64}, 64)
    assert "holds evaluation set(s) math500" in problem and "leak" in problem


def test_the_training_data_holds_one_batch(w):
    assert check(w, w["small"], {"deepscaler": 3}, 3, batch=3) == []
    (problem,) = check(w, w["small"], {"deepscaler": 3}, 3, batch=8)
    assert "has 3 rows, fewer than one batch" in problem and "TRAIN_BATCH_SIZE" in problem


def test_validation_files_are_known_evaluation_sets(w, tmp_path):
    misspelt = tmp_path / "eval" / "math50.parquet"
    (problem,) = check(w, w["math"], {"deepscaler": 64}, 64, val=str(misspelt))
    assert "'math50'" in problem and "math500" in problem
    # a file outside an eval/ dir is the user's own: not checked by name
    assert check(w, w["math"], {"deepscaler": 64}, 64, val=str(tmp_path / "mine.parquet")) == []


def test_the_dry_run_reports_every_data_mistake_at_once(w, tmp_path):
    misspelt = write_parquet(tmp_path / "eval" / "math50.parquet", rows("math500", "math", 8))
    message = rejected(w, f"data.train_files=[{w['code']},{w['eval']},{w['small']}]", f"data.val_files=[{misspelt}]",
                       "data.prompt_key=question", task="math")
    assert line_naming(message, "another task")
    assert "leak" in line_naming(message, "holds evaluation set(s) math500")
    assert line_naming(message, "fewer than one batch")
    assert "columns" in line_naming(message, "data.prompt_key='question'")
    assert "math500" in line_naming(message, "'math50'")


def test_a_missing_file_archer_cannot_prepare_stops_the_dry_run(tmp_path_factory, tmp_path):
    w = world(tmp_path_factory)
    dry_run.run(base(w), task="math")  # present files pass
    message = rejected(w, f"data.train_files=[{tmp_path}/typo/mth.parquet]")
    assert f"data.train_files: {tmp_path}/typo/mth.parquet does not exist" in message and "check the path" in message
