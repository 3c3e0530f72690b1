"""A launcher or smoke variable of the wrong kind (a word for a step count, 1.5 for a probability, yes for a
boolean) is named by the launcher's first check (archer.launch.resolve.environment_problems, from the
declarations of archer/launch/settings.py), which runs before the CPU venv is set up, the smoke assets are
built or Ray starts. In-process; that ``--smoke`` really stops before its set-up:
tests/test_launcher_end_to_end.py."""

from __future__ import annotations

import pytest

from archer.launch import resolve, run
from launcher_support import dry, smoke_launch


@pytest.mark.parametrize(
    "name, value, says",
    [
        ("SMOKE_STEPS", "two", "SMOKE_STEPS=two is not a whole number"),
        ("SMOKE_REWARD_WORKERS", "0", "SMOKE_REWARD_WORKERS=0 is out of range: use a whole number >= 1"),
        ("SMOKE_WARM_START", "no", "SMOKE_WARM_START=no: use 1 (on) or 0 (off)"),
        ("TOP_P", "1.5", "TOP_P=1.5 is out of range: use a number in (0, 1]"),
        ("USE_KL_LOSS", "yes", "USE_KL_LOSS=yes: use True or False"),
        ("MAX_CKPT_TO_KEEP", "-2", "MAX_CKPT_TO_KEEP=-2 is out of range: use a whole number >= 0"),
        ("RESUME_MODE", "always", "RESUME_MODE=always: always not allowed; use one of auto, disable, resume_path"),
    ],
)
def test_bad_setting_is_named_before_the_smoke_sets_anything_up(tmp_path, monkeypatch, name, value, says):
    # what the smoke launch would call first once the settings pass: none of it may run
    def must_not_run(*_args, **_kwargs):
        raise AssertionError("the smoke launch went past its settings check")

    monkeypatch.setattr(run.Launcher, "smoke_venv", must_not_run)
    monkeypatch.setattr(run.Launcher, "values", must_not_run)
    with pytest.raises(resolve.LaunchError) as stopped:
        smoke_launch("math", {name: value, "CKPT_DIR": str(tmp_path / "ckpt")}, tmp=tmp_path)
    message = str(stopped.value)
    assert stopped.value.exit_code == 2
    assert says in message and "nothing was started" in message, message
    assert f"see docs/{'smoke' if name.startswith('SMOKE_') else 'launch'}.md" in message
    assert not (tmp_path / "ckpt").exists()


def test_true_false_in_any_case_and_zero_one_switches_pass_the_check(tmp_path):
    env = {"USE_KL_LOSS": "true", "OFFLOAD": "FALSE", "FLASH_ATTN": "0", "TOP_P": "1"}
    assert resolve.environment_problems(env, smoke=False) == []
    done = dry("math", {"DATA_DIR": str(tmp_path), **env})
    assert done.exit_code == 0, done.problems
