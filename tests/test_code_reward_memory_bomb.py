"""Memory bombs hit RLIMIT_AS (4 GiB default) and fail without hurting the grader."""
import pytest

from archer.reward.code.grader import compute_code_score


import time

from code_reward_support import resp, stdin_gt, leftovers


@pytest.mark.parametrize("prog", ["x = bytearray(64 * 2**30)", "a = []\nwhile True:\n    a.append(' ' * 2**24)"])
def test_memory_bomb(prog):
    t0 = time.monotonic()
    r = compute_code_score("code", resp(prog), stdin_gt(("", "1")), per_test_timeout=5.0, memory_limit_mb=1024)
    assert r["score"] == 0.0 and r["failure_kind"] in ("runtime error", "timeout")
    assert time.monotonic() - t0 - r["sandbox_wait_s"] < 6.5
    assert not leftovers()
