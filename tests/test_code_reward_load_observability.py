"""A result says when its program waited for a sandbox slot (``sandbox_wait_s``) or hit a wall-clock
limit (``code_timeout``), so a user can tell load from bad code; the keys reach the training metrics as
``reward/<key>/mean`` and math results carry their defaults."""
import time

import pytest

from archer.reward import dispatch
from archer.reward.metrics import NUMERIC_KEYS, reward_extra_metrics
from code_reward_support import finish_grader, job, needs_bwrap, start_grader, stdin_gt

UID_BASE = 0x3B700  # this test's own slot uids: what others grade on this machine meanwhile is not ours
GT = stdin_gt(("21\n", "42\n"))


def test_new_keys_are_numeric_result_keys_and_math_carries_their_defaults():
    assert {"code_timeout", "sandbox_wait_s"} <= set(NUMERIC_KEYS)
    r = dispatch.compute_score("math500", "so \\boxed{4}", "4")
    assert r["code_timeout"] is False and r["sandbox_wait_s"] == 0.0
    m = reward_extra_metrics({"sandbox_wait_s": [0.0, 1.5], "code_timeout": [False, True]})
    assert m["reward/sandbox_wait_s/mean"] == 0.75 and m["reward/sandbox_wait_s/max"] == 1.5
    assert m["reward/code_timeout/mean"] == 0.5


@needs_bwrap
def test_a_program_that_waited_for_a_slot_says_so_and_a_timeout_says_so():
    env = {"ARCHER_CODE_WORKERS": "1"}  # one slot for both grading processes
    first = start_grader([job("import time\ntime.sleep(2)\nprint(42)", GT, sandbox_uid_base=UID_BASE)], env=env)
    time.sleep(1.0)
    second = start_grader([job("print(int(input()) * 2)", GT, sandbox_uid_base=UID_BASE),
                           job("while True: pass", GT, per_test_timeout=0.5, sandbox_uid_base=UID_BASE)], env=env)
    (slow,) = finish_grader(first)
    quick, looping = finish_grader(second)
    assert slow["score"] == 1.0 and slow["code_timeout"] is False
    # correct, but it had to wait for the other process's program: load, not bad code
    assert quick["score"] == 1.0 and quick["code_timeout"] is False and quick["sandbox_wait_s"] >= 0.3
    # bad code: the timeout is the program's, and it did not wait
    assert looping["score"] == 0.0 and looping["failure_kind"] == "timeout" and looping["code_timeout"] is True
    assert looping["sandbox_wait_s"] < 0.3
