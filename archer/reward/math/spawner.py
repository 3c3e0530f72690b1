"""Start worker processes from one long-lived thread per process.

Why a dedicated thread: a worker asks the kernel to SIGKILL it when its parent dies
(``PR_SET_PDEATHSIG``, see :mod:`archer.reward.math.worker`), and on Linux "parent" means the *thread*
that forked it. verl grades from executor threads that may come and go; a worker forked from one of
them would be killed when that thread exits, in the middle of someone else's request. Forking every
worker from this daemon thread, which lives exactly as long as the process, ties the workers' lives to
the process instead.
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
from concurrent.futures import Future

_LOCK = threading.Lock()
_STATE: dict[str, object] = {"pid": None, "queue": None}


def _serve(requests: queue.SimpleQueue) -> None:
    while True:
        argv, kwargs, future = requests.get()
        if not future.set_running_or_notify_cancel():
            continue
        try:
            future.set_result(subprocess.Popen(argv, **kwargs))
        except BaseException as exc:  # OSError from exec, a bad argument: give it to the caller
            future.set_exception(exc)


def _requests() -> queue.SimpleQueue:
    with _LOCK:
        if _STATE["pid"] != os.getpid():  # first use, or a forked child (threads do not survive fork)
            requests: queue.SimpleQueue = queue.SimpleQueue()
            thread = threading.Thread(target=_serve, args=(requests,), name="archer-math-spawner", daemon=True)
            thread.start()
            _STATE.update(pid=os.getpid(), queue=requests)
        return _STATE["queue"]  # type: ignore[return-value]


def popen(argv: list[str], **kwargs) -> subprocess.Popen:
    """``subprocess.Popen(argv, **kwargs)``, forked from the process's spawner thread."""
    future: Future = Future()
    _requests().put((argv, kwargs, future))
    return future.result()
