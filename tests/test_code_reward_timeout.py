"""Infinite loops and sleeps are killed within the per-test timeout + 1 s, with nothing left running."""
import pytest

from archer.reward.code.grader import compute_code_score


import time

from code_reward_support import resp, stdin_gt, leftovers


@pytest.mark.parametrize("prog", ["while True:\n    pass", "import time\ntime.sleep(60)",
                                  "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass"])
def test_infinite_program_is_killed(prog):
    t0 = time.monotonic()
    r = compute_code_score("code", resp(prog), stdin_gt(("", "1")), per_test_timeout=1.0)
    assert time.monotonic() - t0 - r["sandbox_wait_s"] < 1.0 + 1.0
    assert (r["score"], r["failure_kind"]) == (0.0, "timeout")
    assert not leftovers()


def test_call_based_loop_is_killed():
    gt = {"tests": [{"input": "1", "output": "1", "testtype": "functional"}] * 3, "fn_name": "f"}
    t0 = time.monotonic()
    r = compute_code_score("code", resp("class Solution:\n    def f(self, x):\n        while True: pass"), gt, per_test_timeout=1.0)
    assert time.monotonic() - t0 - r["sandbox_wait_s"] < 2.0 and r["failure_kind"] == "timeout"
    assert not leftovers()


def test_background_children_and_threads_do_not_survive():
    prog = ("import os, threading, time\n"
            "threading.Thread(target=lambda: time.sleep(100), daemon=False).start()\n"
            "if os.fork() == 0:\n    os.setsid()\n    time.sleep(100)\n"
            "print(1)")
    r = compute_code_score("code", resp(prog), stdin_gt(("", "1")), per_test_timeout=1.0)
    assert r["score"] in (0.0, 1.0)
    time.sleep(0.2)
    assert not leftovers()


def test_program_deadline_kills_the_whole_sandbox():
    # top-level work outside any per-test window (assert mode): the parent's wall-clock kill applies
    t0 = time.monotonic()
    r = compute_code_score("humaneval", resp("while True:\n    pass"), {"functional": "assert f(1) == 1"},
                           per_test_timeout=1.0, program_timeout=2.0)
    assert time.monotonic() - t0 - r["sandbox_wait_s"] < 3.5 and r["failure_kind"] == "timeout"
    assert not leftovers()
