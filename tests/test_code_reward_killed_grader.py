"""A grading process SIGKILLed mid-program: its node-wide slot is reclaimed, its sandbox dies with it,
and the other grading processes' results are unaffected.

The kernel drops a dead holder's flock, so the slot frees itself; the slot file still says "in use", so
the next holder sweeps the slot's uid before running anything there.
"""
import os
import signal
import time

import psutil
import pytest

from archer.reward.code import sandbox as sb
from code_reward_support import finish_grader, job, leftovers, needs_bwrap, start_grader, stdin_gt

UID_BASE = 0x3B200  # this test's own slot uids: what others grade on this machine meanwhile is not ours
GT = stdin_gt(("21\n", "42\n"))
HANG = "import time\ntime.sleep(60)\nprint(42)"
SLOW_OK = "import time\ntime.sleep(3)\nprint(int(input()) * 2)"
QUICK_OK = "print(int(input()) * 2)"
ENV = {"ARCHER_CODE_WORKERS": "2"}  # both slots of this test's range: the killed one's and the survivor's


def _slot_uids_running(uid_base: int) -> set[int]:
    uids = set()
    for p in psutil.process_iter(["uids"]):
        try:
            if uid_base <= p.info["uids"].real < uid_base + 2:
                uids.add(p.info["uids"].real)
        except (psutil.NoSuchProcess, psutil.AccessDenied, AttributeError):
            pass
    return uids


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@needs_bwrap
@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="identifies each grader's sandbox by its slot uid, which needs root")
def test_killed_graders_slot_is_reclaimed_and_others_unaffected(monkeypatch):
    victim = start_grader([job(HANG, GT, per_test_timeout=60.0, sandbox_uid_base=UID_BASE)], env=ENV)
    victim_uids = _wait_for(lambda: _slot_uids_running(UID_BASE), 20.0, "the victim's program to start")
    (victim_uid,) = victim_uids
    survivor = start_grader([job(SLOW_OK, GT, per_test_timeout=10.0, sandbox_uid_base=UID_BASE)], env=ENV)
    _wait_for(lambda: len(_slot_uids_running(UID_BASE)) == 2, 20.0, "the survivor's program to start")

    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    # its sandbox dies with it (bwrap --die-with-parent takes the whole PID namespace down)
    _wait_for(lambda: victim_uid not in _slot_uids_running(UID_BASE), 5.0, "the victim's sandbox to die")

    # the next acquirer gets the dead grader's slot (the survivor still holds the other one), and is told
    # its previous holder died, so the slot's uid was swept before being handed out
    monkeypatch.setenv("ARCHER_CODE_WORKERS", "2")
    budget = sb.slot_budget(sb.SandboxConfig(sandbox_uid_base=UID_BASE))
    t0 = time.monotonic()
    held = budget.acquire()
    try:
        assert held.uid == victim_uid and held.left_unclean
        assert time.monotonic() - t0 < 2.0
    finally:
        budget.release(held)

    # a new grading process grades on it normally, and the survivor's correct program scores 1
    (after,) = finish_grader(start_grader([job(QUICK_OK, GT, sandbox_uid_base=UID_BASE)], env=ENV))
    assert after["score"] == 1.0, after
    (survived,) = finish_grader(survivor)
    assert survived["score"] == 1.0, survived
    time.sleep(0.2)
    assert not leftovers(UID_BASE)
