"""A small pool of long-lived, killable worker processes with a hard wall-clock bound per request.

Why not ``multiprocessing`` / ``concurrent.futures``: a request that hangs inside C code (a sympy power
tower, a runaway simplification) cannot be interrupted from Python, and ``signal.alarm`` only works in
the main thread (verl calls reward functions from executor threads). The only reliable bound is killing
the process that runs the request. So each worker is a plain ``subprocess.Popen`` child speaking
line-delimited JSON over pipes; the caller waits on the pipe with ``poll`` (no signals, any thread) and,
when the deadline passes, SIGKILLs the worker, reaps it and starts a replacement.

Workers are started lazily (a process that never needs a symbolic check never starts one), reused across
calls, shared by all threads of the process, and killed at interpreter exit (``atexit``). A pool
belongs to the process that created it: after ``fork`` the child builds its own pool instead of writing
to its parent's pipes. Workers run in their own session so a Ctrl-C on the terminal reaches only the
parent. A grading process killed outright (SIGKILL: no ``atexit``) takes its workers with it: they are
forked from one long-lived thread (:mod:`archer.reward.math.spawner`) and ask the kernel for SIGKILL
when that parent dies (``PR_SET_PDEATHSIG``, set in the worker); they also exit when their stdin closes.

The budget of a request is CPU time of the worker (:mod:`archer.reward.math.proc_cpu`), measured from
the moment the request is written: time spent waiting for a free worker or for a worker to start is
not counted, and neither is time the worker spent waiting for a core on a loaded node. A wall-clock
limit (``wall_limit``) still bounds every request; reaching it before the CPU budget is spent is
reported as its own status, ``"starved"``.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from archer.reward.math import spawner
from archer.reward.math.proc_cpu import cpu_seconds

_ARCHER_ROOT = str(Path(__file__).resolve().parents[3])  # the folder that holds the `archer` package


class WorkerStartError(RuntimeError):
    """A worker process could not be started (broken environment): grading cannot proceed."""


@dataclass(frozen=True)
class Reply:
    # "ok"; "timeout" (used its CPU budget, killed); "starved" (reached the wall-clock limit with CPU
    # budget left: the machine was too loaded, killed); "crash" (died while working)
    status: str
    payload: dict | None = None
    cpu_s: float = 0.0  # CPU seconds the worker spent on this request
    wall_s: float = 0.0  # wall seconds from writing the request to the reply (or the kill)


class _Worker:
    def __init__(self, argv: list[str], env: dict[str, str]):
        self.proc = spawner.popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
            start_new_session=True,
        )
        self.wfd = self.proc.stdin.fileno()
        self.rfd = self.proc.stdout.fileno()
        self.poller = select.poll()
        self.poller.register(self.rfd, select.POLLIN | select.POLLHUP | select.POLLERR)
        self.buf = b""
        self.ready = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self.wfd, view)
            view = view[n:]

    def read_line(self, deadline: float) -> bytes | None:
        """One reply line; None when ``deadline`` passed first; EOFError when the worker died."""
        while b"\n" not in self.buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if not self.poller.poll(max(1, int(remaining * 1000))):
                continue
            chunk = os.read(self.rfd, 1 << 16)
            if not chunk:
                raise EOFError("worker exited")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line

    def poll_ready(self) -> bool:
        """Non-blocking: has the worker finished starting up (its ready line is readable)?"""
        if self.ready:
            return True
        if b"\n" not in self.buf and self.poller.poll(0):
            chunk = os.read(self.rfd, 1 << 16)
            if not chunk:
                return False
            self.buf += chunk
        return b"\n" in self.buf

    def kill(self) -> None:
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not ignorable
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


class WorkerPool:
    """Up to ``size`` worker processes running ``python -m <module>``; see the module docstring."""

    def __init__(self, module: str, size: int, *, startup_timeout: float = 60.0, env: dict[str, str] | None = None):
        if size < 1:
            raise ValueError(f"pool size must be >= 1, got {size}")
        self.module = module
        self.size = size
        self.startup_timeout = startup_timeout
        self.owner_pid = os.getpid()
        self._argv = [sys.executable, "-m", module]
        self._env = self._child_env(env or {})
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._live = 0
        self._closed = False
        self._ids = itertools.count(1)
        self.counters = {"requests": 0, "timeouts": 0, "starved": 0, "crashes": 0, "started": 0, "killed": 0}
        self.queue_wait_s = 0.0  # total time requests waited for a free (and started) worker
        self.max_queue_wait_s = 0.0

    @staticmethod
    def _child_env(extra: dict[str, str]) -> dict[str, str]:
        env = dict(os.environ)
        path = env.get("PYTHONPATH", "")
        env["PYTHONPATH"] = _ARCHER_ROOT + (os.pathsep + path if path else "")
        env["ARCHER_POOL_PARENT_PID"] = str(os.getpid())  # the worker exits if it was orphaned before it armed PDEATHSIG
        env["PYTHONHASHSEED"] = "0"  # sympy's set/ordering behaviour must not vary between workers
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(var, "1")
        env.update(extra)
        return env

    # -- bookkeeping ---------------------------------------------------------------------------------

    def _bump(self, key: str) -> None:
        with self._cond:
            self.counters[key] += 1

    def _spawn(self) -> _Worker:
        try:
            worker = _Worker(self._argv, self._env)
        except OSError as exc:
            raise WorkerStartError(f"cannot start {self._argv}: {exc}") from exc
        with self._cond:
            self._all.add(worker)
            self.counters["started"] += 1
        return worker

    def _checkout(self) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("worker pool is closed")
                if self._idle:
                    # Prefer a worker that has finished starting (a replacement may still be importing).
                    for i in range(len(self._idle) - 1, -1, -1):
                        if self._idle[i].poll_ready():
                            return self._idle.pop(i)
                    return self._idle.pop()
                if self._live < self.size:
                    self._live += 1
                    break
                self._cond.wait()
        try:
            return self._spawn()
        except BaseException:
            with self._cond:
                self._live -= 1
                self._cond.notify()
            raise

    def _checkin(self, worker: _Worker) -> None:
        with self._cond:
            if self._closed:
                closed = True
            else:
                closed = False
                self._idle.append(worker)
                self._cond.notify()
        if closed:
            self._discard(worker)

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._cond:
            self._all.discard(worker)
            self.counters["killed"] += 1

    def _replace(self, worker: _Worker) -> None:
        """Kill ``worker`` and put a fresh one (already starting up) in its slot."""
        self._discard(worker)
        with self._cond:
            if self._closed:
                self._live -= 1
                return
        try:
            fresh = self._spawn()
        except WorkerStartError:
            with self._cond:
                self._live -= 1
                self._cond.notify()
            return
        self._checkin(fresh)

    def _ensure_ready(self, worker: _Worker) -> None:
        if worker.ready:
            return
        try:
            line = worker.read_line(time.monotonic() + self.startup_timeout)
        except EOFError:
            line = b""
        if not line or b"ready" not in line:
            raise WorkerStartError(
                f"worker `{' '.join(self._argv)}` did not start within {self.startup_timeout:.0f}s"
                " (see its stderr above)"
            )
        worker.ready = True

    # -- public --------------------------------------------------------------------------------------

    def _await_reply(self, worker: _Worker, cpu_budget: float, wall_limit: float, cpu0: float | None, start: float):
        """Wait for ``worker``'s reply line: (line, None), or (None, "timeout" | "starved").

        The deadline is re-armed by the CPU budget the worker has left, so a worker that got no core for
        a while is not killed for it; ``wall_limit`` bounds the wait in any case. Raises EOFError when
        the worker died.
        """
        hard = start + wall_limit
        deadline = start + cpu_budget
        while True:
            line = worker.read_line(min(deadline, hard))
            if line is not None:
                return line, None
            now = time.monotonic()
            cpu1 = cpu_seconds(worker.pid)
            used = (cpu1 - cpu0) if (cpu0 is not None and cpu1 is not None) else (now - start)
            if used >= cpu_budget:
                return None, "timeout"
            if now >= hard:
                return None, "starved"
            deadline = now + max(0.02, cpu_budget - used)

    def request(self, payload: dict, timeout: float, wall_limit: float | None = None) -> Reply:
        """Send ``payload`` to a worker; kill it once it has used ``timeout`` CPU seconds on it, or after
        ``wall_limit`` wall seconds (default: 3 x ``timeout``), whichever comes first."""
        if os.getpid() != self.owner_pid:
            raise RuntimeError("WorkerPool used from a forked child; call get_pool() in the child instead")
        if wall_limit is None:
            wall_limit = 3.0 * timeout
        queued = time.monotonic()
        worker = self._checkout()
        try:
            try:
                self._ensure_ready(worker)
            except WorkerStartError:
                self._replace(worker)
                raise
            req_id = next(self._ids)
            data = json.dumps({**payload, "id": req_id}).encode() + b"\n"
            self._bump("requests")
            cpu0 = cpu_seconds(worker.pid)
            try:
                worker.write(data)
            except OSError:
                # Died while idle (e.g. OOM killer): not this request's fault, retry once on a fresh worker.
                self._replace(worker)
                worker = self._checkout()
                self._ensure_ready(worker)
                cpu0 = cpu_seconds(worker.pid)
                worker.write(data)
            start = time.monotonic()
            self._note_wait(start - queued)
            try:
                line, expired = self._await_reply(worker, timeout, wall_limit, cpu0, start)
            except EOFError:
                self._bump("crashes")
                self._replace(worker)
                return Reply("crash", wall_s=time.monotonic() - start)
            cpu1 = cpu_seconds(worker.pid)
            used = (cpu1 - cpu0) if (cpu0 is not None and cpu1 is not None) else 0.0
            wall = time.monotonic() - start
            if expired is not None:
                self._bump("timeouts" if expired == "timeout" else "starved")
                self._replace(worker)
                return Reply(expired, cpu_s=used, wall_s=wall)
            reply = json.loads(line)
            if reply.get("id") != req_id:  # pragma: no cover - protocol violation
                self._replace(worker)
                return Reply("crash", wall_s=wall)
            self._checkin(worker)
            return Reply("ok", reply, cpu_s=used, wall_s=wall)
        except BaseException:
            if worker in self._all:
                self._replace(worker)
            raise

    def _note_wait(self, seconds: float) -> None:
        with self._cond:
            self.queue_wait_s += seconds
            self.max_queue_wait_s = max(self.max_queue_wait_s, seconds)

    def prestart(self) -> None:
        """Start all ``size`` workers now and wait until they are ready (otherwise they start on demand)."""
        with self._cond:
            if self._closed:
                raise RuntimeError("worker pool is closed")
            missing = self.size - self._live
            self._live += missing
        fresh: list[_Worker] = []
        try:
            for _ in range(missing):
                fresh.append(self._spawn())
        except BaseException:
            with self._cond:
                self._live -= missing - len(fresh)
                self._cond.notify_all()
            for worker in fresh:
                self._checkin(worker)
            raise
        failed = None
        for worker in fresh:
            try:
                self._ensure_ready(worker)
            except WorkerStartError as exc:
                failed = exc
        for worker in fresh:
            if worker.ready:
                self._checkin(worker)
            else:
                self._replace(worker)
        if failed is not None:
            raise failed

    def pids(self) -> list[int]:
        with self._cond:
            return sorted(w.pid for w in self._all)

    def stats(self) -> dict[str, float]:
        with self._cond:
            out: dict[str, float] = dict(self.counters)
            out["live"] = len(self._all)
            out["size"] = self.size
            out["queue_wait_s"] = round(self.queue_wait_s, 3)
            out["max_queue_wait_s"] = round(self.max_queue_wait_s, 3)
            return out

    def close(self) -> None:
        with self._cond:
            self._closed = True
            workers = list(self._all)
            self._idle.clear()
            self._cond.notify_all()
        for worker in workers:
            self._discard(worker)


_POOLS: dict[tuple[str, int], WorkerPool] = {}
_POOLS_LOCK = threading.Lock()


def get_pool(module: str, size: int, **kwargs) -> WorkerPool:
    """The process-wide pool for ``module`` (created on first use; ``size`` applies at creation)."""
    key = (module, os.getpid())
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None or pool._closed:
            pool = WorkerPool(module, size, **kwargs)
            _POOLS[key] = pool
        return pool


def existing_pool(module: str) -> WorkerPool | None:
    with _POOLS_LOCK:
        return _POOLS.get((module, os.getpid()))


def shutdown_pools() -> None:
    """Kill every worker started by this process (registered with ``atexit``)."""
    with _POOLS_LOCK:
        mine = [(k, p) for k, p in _POOLS.items() if k[1] == os.getpid()]
        for k, _ in mine:
            del _POOLS[k]
    for _, pool in mine:
        pool.close()


atexit.register(shutdown_pools)
