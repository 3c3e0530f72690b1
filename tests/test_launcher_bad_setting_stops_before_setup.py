"""A launcher or smoke variable of the wrong kind (a word for a step count, 1.5 for a probability, yes for a
boolean) stops the launcher at once, naming the variable, before the CPU venv is set
up, the smoke assets are built or Ray starts (scripts/aspo_common.sh: ASPO_SETTING_KINDS)."""

from __future__ import annotations

import pytest

from launcher_support import run_launcher


@pytest.mark.parametrize(
    "name, value, says",
    [
        ("SMOKE_STEPS", "two", "SMOKE_STEPS=two is not a whole number"),
        ("SMOKE_REWARD_WORKERS", "0", "SMOKE_REWARD_WORKERS=0 must be at least 1"),
        ("SMOKE_WARM_START", "no", "SMOKE_WARM_START=no: use 1 (on) or 0 (off)"),
        ("TOP_P", "1.5", "TOP_P=1.5 must be in (0, 1]"),
        ("USE_KL_LOSS", "yes", "USE_KL_LOSS=yes: use True or False"),
        ("MAX_CKPT_TO_KEEP", "-2", "MAX_CKPT_TO_KEEP=-2 must be 0 or more"),
        ("RESUME_MODE", "always", "RESUME_MODE=always: use one of auto, disable, resume_path"),
    ],
)
def test_bad_setting_is_named_before_the_smoke_sets_anything_up(tmp_path, name, value, says):
    venv = tmp_path / "venv"
    # PYTHON unset: a valid run would now create VENV; CKPT_DIR would receive config.yaml and train.log
    proc = run_launcher("math", "--smoke", timeout=60, VENV=str(venv), CKPT_DIR=str(tmp_path / "ckpt"),
                        ARCHER_CACHE_DIR=str(tmp_path / "cache"), **{name: value})
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert says in proc.stderr, proc.stderr[-2000:]
    assert not venv.exists() and not (tmp_path / "ckpt").exists() and not (tmp_path / "cache").exists()
    assert "set-up" not in proc.stderr and "smoke assets" not in proc.stderr


def test_true_false_in_any_case_and_zero_one_switches_pass_the_check(tmp_path):
    proc = run_launcher("math", "--dry-run", timeout=300, DATA_DIR=str(tmp_path), USE_KL_LOSS="true",
                        OFFLOAD="FALSE", FLASH_ATTN="0", TOP_P="1")
    assert "must be" not in proc.stderr and "use True or False" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode == 0, proc.stderr[-2000:]
