"""A grading process finishing a quick program never kills a program another process is still running.

verl grades in several RewardLoopWorker processes at once. Each used to number its sandbox slots from 0
and sweep (kill every process of) slot k's uid on release, so a quick program in process B killed the
slow, correct program process A was running on the same slot number: A's reward became 0 silently.
"""
import time

from code_reward_support import finish_grader, job, leftovers, needs_bwrap, start_grader, stdin_gt

SLOW_OK = "import time\ntime.sleep(3)\nprint(int(input()) * 2)"
QUICK_OK = "print(int(input()) * 2)"
QUICK_WRONG = "print(int(input()) * 2 + 1)"
GT = stdin_gt(("21\n", "42\n"))
UID_BASE = 0x3B100  # this test's own slot uids: what others grade on this machine meanwhile is not ours


@needs_bwrap
def test_slow_correct_program_survives_quick_programs_in_other_processes():
    slow = start_grader([job(SLOW_OK, GT, per_test_timeout=10.0, sandbox_uid_base=UID_BASE)])
    time.sleep(1.5)  # the slow program is now running
    quick = [start_grader([job(c, GT, sandbox_uid_base=UID_BASE) for c in (QUICK_OK, QUICK_WRONG, QUICK_OK)], threads=2) for _ in range(3)]
    quick_results = [finish_grader(p) for p in quick]
    (slow_result,) = finish_grader(slow)
    assert slow_result["score"] == 1.0, slow_result
    for results in quick_results:
        assert [r["score"] for r in results] == [1.0, 0.0, 1.0], results
    time.sleep(0.2)
    assert not leftovers(UID_BASE)
