"""A fork bomb hits RLIMIT_NPROC (the sandbox runs as its own uid) and is killed with its whole group."""
import psutil

from archer.reward.code.grader import compute_code_score


import time
from code_reward_support import resp, stdin_gt, leftovers, needs_bwrap


@needs_bwrap
def test_fork_bomb():
    prog = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    t0 = time.monotonic()
    r = compute_code_score("code", resp(prog), stdin_gt(("", "1")), per_test_timeout=2.0)
    assert time.monotonic() - t0 - r["sandbox_wait_s"] < 4.0
    assert r["score"] == 0.0 and r["failure_kind"] in ("timeout", "runtime error", "wrong answer")
    time.sleep(0.2)
    assert not leftovers()
    assert len(psutil.pids()) < 2000
