"""The node-wide budget of sandbox slots, shared by every grading process on the machine.

verl grades in several RewardLoopWorker *processes* (``reward.num_workers``), each calling the grader from
threads. A per-process pool cannot bound the machine's load (8 processes each sized to all the CPUs run 8x
more programs than there are cores, and correct programs miss their wall-clock timeouts), and per-process
slot numbers collide (two processes both running "slot 0" as the same uid kill each other's programs when
one sweeps that uid). So a slot is a *file lock*:

* slot k of a config with sandbox uid base b is the file ``slot-uid<b+k>.lock`` in the runtime directory
  (:func:`runtime_dir`); holding it means holding an exclusive ``fcntl.flock`` on it. flock locks belong to
  an open file description, so two threads of one process that each open the file exclude each other as
  two processes do, and the kernel drops the lock of a holder that dies (even by SIGKILL). The file is
  named after the uid the slot runs as, so configs whose uid ranges overlap share exactly the locks of
  the uids they share, and configs with different bases never share one.
* a process uses slots ``0 .. size-1`` (:func:`budget_size`: ``ARCHER_CODE_WORKERS`` or the CPUs this
  process may use). Processes that agree on the size bound the node to that many sandboxes; a process with
  a smaller size uses a subset of the same slots, so the node-wide bound is the largest size in use.
* waiting does not burn CPU: waiters queue on one blocking flock (``queue-base<b>.lock``) in the kernel;
  only the waiter at the head scans the slot locks (non-blocking), then sleeps in ``select`` on a FIFO
  (``doorbell-base<b>.fifo``) that every release rings, so a freed slot is taken at once; a slot freed by
  a dying holder rings nothing and is found by the head's next scan (a backoff of at most 50 ms).
* the sweep (killing whatever still runs as the slot's uid) is done by the holder only: on release, and on
  acquire when the previous holder did not release cleanly (a byte in the slot file records that), so a
  slot left by a SIGKILLed grader is emptied before its next program runs.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import os
import select
import stat
import time
from pathlib import Path
from typing import Callable

from archer.host import positive_int_env, usable_cpus

__all__ = ["HeldSlot", "SlotBudget", "budget_size", "runtime_dir", "RUNTIME_DIR_ENV", "WORKERS_ENV"]

RUNTIME_DIR_ENV = "ARCHER_SANDBOX_DIR"
WORKERS_ENV = "ARCHER_CODE_WORKERS"
_CLEAN, _IN_USE = b"c", b"u"  # first byte of a slot file: last holder released cleanly / did not (yet)
_POLL_MIN_S, _POLL_MAX_S = 0.01, 0.05  # head waiter's backoff between scans (releases ring the doorbell; this only
# finds slots freed by a dying holder, so it can be slow and cheap)


def runtime_dir() -> Path:
    """Directory of the slot lock files: ``$ARCHER_SANDBOX_DIR``, else ``/tmp/archer-sandbox-<euid>``.

    Not ``$XDG_RUNTIME_DIR``: logind deletes it when the user's last session ends (a training job under
    nohup would then see a fresh, empty budget) and Ray workers need not all see the same value. Not
    ``tempfile.gettempdir()``: ``TMPDIR`` may differ between processes. Every process of the node must
    resolve the same directory, or they do not share a budget."""
    env = os.environ.get(RUNTIME_DIR_ENV)
    return Path(env) if env else Path(f"/tmp/archer-sandbox-{os.geteuid()}")


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (mode 0700) if needed and check that nobody else can tamper with its lock files:
    a real directory (not a symlink), owned by us, not writable by group or others. ValueError naming the
    path otherwise (another user could pre-create ``/tmp/archer-sandbox-<uid>``)."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
    except OSError as e:
        raise ValueError(f"cannot create the sandbox runtime directory {path} (set {RUNTIME_DIR_ENV} to another "
                         f"directory): {e}") from e
    st = os.lstat(path)
    problem = None
    if stat.S_ISLNK(st.st_mode):
        problem = "is a symlink"
    elif not stat.S_ISDIR(st.st_mode):
        problem = "is not a directory"
    elif st.st_uid != os.geteuid():
        problem = f"is owned by uid {st.st_uid}, not by us (uid {os.geteuid()})"
    elif st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        problem = f"is writable by group or others (mode {stat.S_IMODE(st.st_mode):o})"
    if problem:
        raise ValueError(f"sandbox runtime directory {path} {problem}; remove it or set {RUNTIME_DIR_ENV} to a "
                         "private directory of this user")
    return path


def budget_size() -> int:
    """Sandboxes allowed at once on this node: ``ARCHER_CODE_WORKERS`` (a node-wide total, every grading
    process must be given the same value) or, unset, the CPUs this process may run on."""
    return positive_int_env(WORKERS_ENV, "sandboxes on this node") or usable_cpus()


@dataclasses.dataclass
class HeldSlot:
    """One slot held by this thread: ``index`` (0-based), ``uid`` (uid base + index: the uid its program
    runs as when the grader is root), ``waited_s`` (seconds spent waiting for it), ``left_unclean`` (its
    last holder did not release it cleanly -- it died holding it -- or the lock file is new; the slot
    was swept before being handed out)."""

    index: int
    uid: int
    waited_s: float
    path: Path
    fd: int
    left_unclean: bool


def _open_lock(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def _same_file(fd: int, path: Path) -> bool:
    """The locked descriptor is still the file at ``path`` (not one deleted, e.g. by a tmp cleaner, and
    recreated meanwhile: a lock on the old inode would exclude nobody)."""
    try:
        a, b = os.fstat(fd), os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


class SlotBudget:
    """``size`` slots of the uid range starting at ``uid_base``, locked in ``directory``.

    ``sweep(held)`` is called while the slot is held: before its program runs when the previous holder
    died holding it, and at every release; it must leave nothing running as ``held.uid``."""

    def __init__(self, size: int, uid_base: int, directory: Path, sweep: Callable[[HeldSlot], None]):
        if size < 1:
            raise ValueError(f"slot budget size must be >= 1, got {size}")
        self.size = size
        self.uid_base = uid_base
        self.directory = ensure_private_dir(Path(directory))
        self._sweep = sweep

    def slot_path(self, index: int) -> Path:
        return self.directory / f"slot-uid{self.uid_base + index}.lock"

    def _queue_path(self) -> Path:
        return self.directory / f"queue-base{self.uid_base}.lock"

    def _doorbell_path(self) -> Path:
        return self.directory / f"doorbell-base{self.uid_base}.fifo"

    def _open_doorbell(self) -> int:
        """The head waiter's end of the doorbell FIFO (created on first use). Opened read-write (Linux):
        a FIFO whose last writer closed polls as readable (hang-up) forever; holding a write end of our
        own keeps ``select`` asleep until someone really rings."""
        path = self._doorbell_path()
        for _ in range(2):
            try:
                fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)
            except FileNotFoundError:
                try:
                    os.mkfifo(path, 0o600)
                except FileExistsError:
                    pass
                continue
            if not stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.close(fd)
                raise ValueError(f"{path} exists but is not a FIFO; remove it (sandbox runtime directory)")
            return fd
        raise FileNotFoundError(f"cannot create the FIFO {path}")

    def _ring_doorbell(self) -> None:
        """Wake the head waiter, if there is one (no reader: ENXIO, nobody to wake)."""
        try:
            fd = os.open(self._doorbell_path(), os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError:
            return
        try:
            os.write(fd, b"!")
        except OSError:  # full pipe: the head has wake-ups pending anyway
            pass
        finally:
            os.close(fd)

    def _open(self, path: Path) -> int:
        try:
            return _open_lock(path)
        except FileNotFoundError:  # the directory was removed under us: recreate it
            ensure_private_dir(self.directory)
            return _open_lock(path)

    def _try_lock(self, fd: int, index: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return False
            raise
        if _same_file(fd, self.slot_path(index)):
            return True
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False

    def acquire(self) -> HeldSlot:
        """Block (in the kernel, or sleeping between scans) until a slot is free; hold it exclusively."""
        t0 = time.monotonic()
        queue = self._open(self._queue_path())
        fds: dict[int, int] = {}
        got: int | None = None
        doorbell = None
        try:
            fcntl.flock(queue, fcntl.LOCK_EX)  # one head waiter at a time; the others sleep here
            # open the doorbell before scanning: a release after the scan then finds a reader and rings
            doorbell = self._open_doorbell()
            delay = _POLL_MIN_S
            while got is None:
                _drain(doorbell)
                for k in range(self.size):
                    if k not in fds:
                        fds[k] = self._open(self.slot_path(k))
                    if self._try_lock(fds[k], k):
                        got = k
                        break
                    if not _same_file(fds[k], self.slot_path(k)):  # replaced: reopen on the next scan
                        os.close(fds.pop(k))
                else:
                    rung, _, _ = select.select([doorbell], [], [], delay)
                    delay = _POLL_MIN_S if rung else min(delay * 1.5, _POLL_MAX_S)
        finally:
            for k, fd in fds.items():
                if k != got:
                    os.close(fd)
            if doorbell is not None:
                os.close(doorbell)
            _unlock_and_close(queue)
        fd = fds[got]
        unclean = os.pread(fd, 1, 0) != _CLEAN
        os.pwrite(fd, _IN_USE, 0)
        held = HeldSlot(got, self.uid_base + got, time.monotonic() - t0, self.slot_path(got), fd, unclean)
        if unclean:
            try:
                self._sweep(held)
            except BaseException:
                self._unlock(held)
                raise
        return held

    def release(self, held: HeldSlot) -> None:
        """Sweep the slot, mark it clean, and let the next waiter have it."""
        try:
            self._sweep(held)
            os.pwrite(held.fd, _CLEAN, 0)
        finally:
            self._unlock(held)
            self._ring_doorbell()

    @staticmethod
    def _unlock(held: HeldSlot) -> None:
        _unlock_and_close(held.fd)


def _unlock_and_close(fd: int) -> None:
    """Explicit LOCK_UN, not just close: a child forked meanwhile (e.g. a math grader worker) holds a copy
    of the descriptor, and the lock lives until *every* copy is closed -- or until LOCK_UN on any."""
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
