"""A worker started on behalf of a short-lived thread keeps serving after that thread has exited.

Workers are killed by the kernel when their parent *thread* dies (PR_SET_PDEATHSIG). verl's executor
threads come and go, so workers are forked from one spawner thread that lives as long as the process;
otherwise a thread's exit would kill a worker in the middle of another thread's request.
"""

from __future__ import annotations

import threading
import time

import psutil

from archer.reward import compute_score, shutdown
from archer.reward.math.grader import WORKER_MODULE
from archer.reward.math.pool import existing_pool


def test_worker_started_from_an_exited_thread_stays_alive_and_is_reused():
    shutdown()
    try:
        first: dict = {}
        thread = threading.Thread(
            target=lambda: first.update(compute_score("math", "\\boxed{(x+1)^2}", "x^2+2x+1", timeout_s=30))
        )
        thread.start()
        thread.join(60)
        assert first["acc"] is True
        pool = existing_pool(WORKER_MODULE)
        pids = pool.pids()
        assert len(pids) == 1
        time.sleep(0.5)  # a parent-death signal tied to the exited thread would have arrived by now
        assert psutil.Process(pids[0]).status() != psutil.STATUS_ZOMBIE
        assert compute_score("math", "\\boxed{\\sqrt{18}}", "3\\sqrt{2}", timeout_s=30)["acc"] is True
        assert pool.pids() == pids
        assert pool.stats()["started"] == 1 and pool.stats()["crashes"] == 0
    finally:
        shutdown()
