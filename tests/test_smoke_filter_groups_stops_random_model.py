"""A model that solves nothing, with DAPO group filtering on, stops with an error that names
``algorithm.filter_groups`` and what to change, within a bounded time: verl 0.9.1's v1 trainer alone
refills from the dataloader forever, without a word (archer.plugin.filter_groups_guard bounds it).

The real job: ``bash scripts/run_aspo_math.sh --smoke`` with the random-init model (no warm start)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from launcher_support import REPO_ROOT, launcher_env
from smoke_support import SMOKE_VARS

pytestmark = pytest.mark.slow


def test_random_model_with_filter_groups_stops_naming_the_setting(tmp_path):
    env = {k: v for k, v in launcher_env().items() if k not in SMOKE_VARS}
    env.update(PYTHON=sys.executable, CKPT_DIR=str(tmp_path / "run"), SMOKE_WARM_START="0", SMOKE_FINISH="0",
               SMOKE_STEPS="1", FILTER_GROUPS="True", FILTER_GROUPS_MAX_NUM_GEN_BATCHES="3")
    started = time.monotonic()
    done = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "run_aspo_math.sh"), "--smoke"], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=900)
    elapsed = time.monotonic() - started
    out = done.stdout + done.stderr
    assert done.returncode != 0, out[-3000:]
    assert "algorithm.filter_groups: step 1 used" in out, out[-3000:]
    assert "max_num_gen_batches=3" in out and "algorithm.filter_groups.enable=False" in out
    assert not (tmp_path / "run" / "global_step_1").exists()  # no step was trained
    print(f"stopped after {elapsed:.0f} s")
