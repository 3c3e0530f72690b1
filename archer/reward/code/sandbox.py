"""Run one untrusted program in the strongest isolation this machine offers.

Isolation levels, strongest first (``detect_isolation()`` probes them once per process):

``bwrap``
    bubblewrap: new network, PID, IPC and UTS namespaces; a read-only view of only the system directories
    and the Python installation (``/usr``, ``/etc``, the interpreter's prefixes; not ``/home``, not the
    repository, not the data); a private size-capped tmpfs ``/tmp`` as the working directory; a fresh
    ``/proc`` and a minimal ``/dev``; no capabilities. When the grader runs as root, the program runs
    as a dedicated unprivileged uid (one per node-wide slot, see slots.py), so ``RLIMIT_NPROC`` really bounds it.
``unshare``
    util-linux ``unshare``: new network and PID namespaces (``--kill-child``), fresh temp working
    directory on the host file system. The rest of the file system is visible (and writable with the
    grader's permissions); documented in docs/reward_code.md.
``none``
    no isolation at all (process group, rlimits, temp dir, scrubbed environment only). Refused unless the
    caller passes ``allow_unsandboxed=True``; a warning is logged once.

Every level applies the rlimits (through util-linux ``prlimit``, so no ``preexec_fn`` runs in a threaded
grader), builds the environment from scratch, caps stdout/stderr, runs the program in a new session, and
kills the whole group (and with namespaces the whole PID namespace) at the wall-clock deadline.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

from archer.reward.code import slots

logger = logging.getLogger(__name__)

__all__ = [
    "SandboxConfig",
    "SandboxResult",
    "SandboxUnavailableError",
    "detect_isolation",
    "run_sandboxed",
    "python_argv",
    "slot",
    "slot_budget",
    "pool_size",
]

ISOLATION_LEVELS = ("bwrap", "unshare", "none")
SANDBOX_TMP = "/tmp"  # working directory inside the bwrap sandbox
DEFAULT_UID_BASE = 0x3A000  # 237568: far above ordinary uids
MIN_UID_BASE = 1000  # below: system accounts, and uid 0 (a sweep kills every process of a slot's uid)
_MIB = 1 << 20


class SandboxUnavailableError(RuntimeError):
    """No isolation level is usable here and running unsandboxed was not explicitly allowed."""


@dataclasses.dataclass(frozen=True)
class SandboxConfig:
    """Limits and isolation options of one sandboxed run.

    ``isolation``: "auto" (strongest available), or require one of "bwrap", "unshare", "none".
    ``cpu_seconds``: RLIMIT_CPU of every process (None: the wall-clock timeout rounded up, plus 1).
    ``max_processes``: RLIMIT_NPROC (processes and threads of the sandbox uid).
    """

    isolation: str = "auto"
    allow_unsandboxed: bool = False
    wall_timeout: float = 30.0
    cpu_seconds: int | None = None
    address_space_bytes: int = 4 << 30
    max_processes: int = 64
    file_size_bytes: int = 16 * _MIB
    open_files: int = 256
    stdout_limit: int = 1 * _MIB
    stderr_limit: int = 1 * _MIB
    tmpfs_bytes: int = 64 * _MIB
    sandbox_uid_base: int = DEFAULT_UID_BASE  # as root, slot k runs as uid base + k (and is swept as such)
    extra_ro_paths: tuple[str, ...] = ()

    def __post_init__(self):
        if self.isolation not in ("auto", *ISOLATION_LEVELS):
            raise ValueError(f"isolation must be 'auto' or one of {ISOLATION_LEVELS}, got {self.isolation!r}")
        if self.wall_timeout <= 0:
            raise ValueError(f"wall_timeout must be > 0, got {self.wall_timeout}")
        if not isinstance(self.sandbox_uid_base, int) or not MIN_UID_BASE <= self.sandbox_uid_base < 2**31 - 2**16:
            raise ValueError(f"sandbox_uid_base must be an int in [{MIN_UID_BASE}, 2**31 - 2**16), got "
                             f"{self.sandbox_uid_base!r}")


@dataclasses.dataclass
class SandboxResult:
    returncode: int | None  # None when killed by the deadline; negative: killed by that signal
    stdout: bytes
    stderr: bytes
    timed_out: bool
    stdout_truncated: bool
    stderr_truncated: bool
    wall_seconds: float
    isolation: str
    slot_wait_seconds: float = 0.0  # waited for a node-wide sandbox slot before starting


# --------------------------------------------------------------------------- environment


def minimal_env(home: str) -> dict[str, str]:
    """The sandbox's whole environment: nothing of the grader's is inherited."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": home,
        "TMPDIR": home,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def python_argv(script: str, *args: str) -> list[str]:
    """argv that runs ``script`` with this interpreter, isolated from PYTHON* variables and user site."""
    return [sys.executable, "-I", "-X", "utf8", script, *args]


# --------------------------------------------------------------------------- slots (node-wide budget + uids)


def default_workers() -> int:
    """Sandboxes allowed at once on this node (``ARCHER_CODE_WORKERS``, else this process's CPUs)."""
    return slots.budget_size()


@functools.lru_cache(maxsize=None)
def _budget_for(size: int, uid_base: int, directory: str) -> slots.SlotBudget:
    if os.geteuid() == 0:
        _check_uids_unused(uid_base, size)
    return slots.SlotBudget(size, uid_base, Path(directory), _sweep_slot)


def _check_uids_unused(uid_base: int, size: int) -> None:
    """As root every process of a slot's uid is killed when the slot is swept: refuse a uid range that
    holds a real account (ValueError naming sandbox_uid_base)."""
    import pwd

    for uid in range(uid_base, uid_base + size):
        try:
            name = pwd.getpwuid(uid).pw_name
        except KeyError:
            continue
        raise ValueError(f"sandbox_uid_base={uid_base}: slot uid {uid} belongs to the account {name!r}, whose "
                         f"processes a sweep would kill; choose a base whose {size} uids have no account")


def slot_budget(config: SandboxConfig | None = None) -> slots.SlotBudget:
    """The node-wide slot budget of ``config``'s uid range (see archer/reward/code/slots.py)."""
    cfg = config or SandboxConfig()
    return _budget_for(default_workers(), cfg.sandbox_uid_base, str(slots.runtime_dir()))


def _sweep_slot(held: slots.HeldSlot) -> None:
    """Kill what still runs as the held slot's uid. Only as root: otherwise programs run as our own uid
    (no per-slot uid exists, and sweeping our uid would kill the grader); they die with their sandbox."""
    if os.geteuid() == 0:
        _sweep_uid(held.uid)


class slot:
    """Context manager holding one node-wide sandbox slot (blocks while all are busy); yields the
    ``slots.HeldSlot`` (its ``uid``, ``waited_s``)."""

    def __init__(self, config: SandboxConfig | None = None):
        self._budget = slot_budget(config)

    def __enter__(self) -> slots.HeldSlot:
        self._held = self._budget.acquire()
        return self._held

    def __exit__(self, *exc) -> None:
        self._budget.release(self._held)


def _sweep_uid(uid: int, grace_s: float = 2.0) -> None:
    """Kill whatever still runs as a slot's uid and wait (bounded) until the kernel has removed it, so a
    slot is handed on empty. Processes killed with their group or pid namespace can linger for a moment
    as exiting/zombie entries; this waits for those too."""
    deadline = time.monotonic() + grace_s
    while True:
        alive = []
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/status") as fh:
                    uids = next(line for line in fh if line.startswith("Uid:")).split()[1:]
            except (OSError, StopIteration):
                continue
            if int(uids[0]) == uid:
                alive.append(int(entry.name))
        if not alive or time.monotonic() >= deadline:
            return
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.005)


def pool_size() -> int:
    """Sandboxes that may run at once on this node (the budget, shared by all grading processes)."""
    return default_workers()


# --------------------------------------------------------------------------- isolation detection


def _ro_paths(extra: Sequence[str] = ()) -> list[str]:
    """Host paths visible (read-only) in the bwrap sandbox: system dirs and this Python installation."""
    cands = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"]
    exe = os.path.realpath(sys.executable)
    cands += [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix, str(Path(exe).parents[1])]
    cands += list(extra)
    out: list[str] = []
    for p in cands:
        if not p or not os.path.exists(p):
            continue
        p = os.path.abspath(p)
        if p not in out:
            out.append(p)
    # drop paths nested in another listed path (the outer bind already shows them)
    return [p for p in out if not any(p != q and p.startswith(q.rstrip("/") + "/") for q in out)]


def _bwrap_prefix(cfg: SandboxConfig, drop_to_uid: int | None) -> list[str]:
    argv = [
        "bwrap",
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--die-with-parent", "--new-session", "--clearenv",
    ]
    if drop_to_uid is not None:
        argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    # the scratch tmpfs first: read-only binds that live below it (e.g. a virtualenv under /tmp, as in a CI
    # checkout) are then mounted on top of it instead of being hidden by it
    argv += ["--perms", "1777", "--size", str(cfg.tmpfs_bytes), "--tmpfs", SANDBOX_TMP]
    made: set[str] = {SANDBOX_TMP}
    paths = _ro_paths(cfg.extra_ro_paths)
    for p in paths:
        # bwrap creates missing parents with mode 0700: create them 0755 so the sandbox uid can traverse
        parts = Path(p).parts[1:-1]
        cur = ""
        for part in parts:
            cur += "/" + part
            if cur not in made and not any(cur == q or cur.startswith(q + "/") for q in paths):
                argv += ["--perms", "0755", "--dir", cur]
                made.add(cur)
    for p in paths:
        argv += ["--ro-bind", p, p]
    argv += [
        "--proc", "/proc", "--dev", "/dev",
        "--chdir", SANDBOX_TMP,
    ]
    for k, v in minimal_env(SANDBOX_TMP).items():
        argv += ["--setenv", k, v]
    return argv


def _setpriv_prefix(uid: int) -> list[str]:
    return [
        "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
    ]


def _unshare_prefix() -> list[str]:
    return ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "--"]


def _probe(argv: list[str], timeout: float = 10.0) -> tuple[bool, str]:
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, env={"PATH": "/usr/bin:/bin"})
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, repr(e)
    err = r.stderr.decode(errors="replace").strip()
    return r.returncode == 0 and r.stdout.strip() == b"ok", err or f"exit {r.returncode}"


@functools.lru_cache(maxsize=None)
def _probe_level(level: str) -> tuple[bool, str]:
    check = [sys.executable, "-I", "-c", "import socket, json; print('ok')"]
    if level == "bwrap":
        if not shutil.which("bwrap"):
            return False, "bwrap not installed (Debian/Ubuntu: apt-get install bubblewrap)"
        if os.geteuid() == 0 and not shutil.which("setpriv"):
            return False, "setpriv (util-linux) not found"
        with slot() as held:  # the probe runs as a slot's uid: hold that slot, as any program does
            uid = _drop_uid(held.uid)
            pre = _bwrap_prefix(SandboxConfig(), uid)
            if uid is not None:
                pre += _setpriv_prefix(uid)
            return _probe(pre + check)
    if level == "unshare":
        if not shutil.which("unshare"):
            return False, "unshare (util-linux) not installed"
        return _probe(_unshare_prefix() + check)
    return True, ""


@functools.lru_cache(maxsize=None)
def detect_isolation() -> str:
    """Strongest working level here: "bwrap", "unshare" or "none" (probed once per process)."""
    for level in ("bwrap", "unshare"):
        ok, why = _probe_level(level)
        if ok:
            return level
        logger.info("sandbox level %s unavailable: %s", level, why)
    return "none"


def isolation_report() -> dict[str, str]:
    """Why each level is (un)available, for diagnostics and docs."""
    return {lvl: ("ok" if ok else why) for lvl in ISOLATION_LEVELS for ok, why in [_probe_level(lvl)]}


_WARNED_UNSANDBOXED = False


def _resolve_level(cfg: SandboxConfig) -> str:
    global _WARNED_UNSANDBOXED
    if cfg.isolation == "auto":
        level = detect_isolation()
    else:
        level = cfg.isolation
        ok, why = _probe_level(level)
        if not ok:
            raise SandboxUnavailableError(f"sandbox isolation {level!r} was requested but does not work here: {why}")
    if level == "none":
        if not cfg.allow_unsandboxed:
            report = isolation_report()
            raise SandboxUnavailableError(
                "refusing to run untrusted code: no sandbox works here "
                f"(bwrap: {report['bwrap']}; unshare -n: {report['unshare']}). Install bubblewrap "
                "(apt-get install bubblewrap) or, only if you accept running model code with the grader's "
                "permissions and network, pass allow_unsandboxed=True."
            )
        if not _WARNED_UNSANDBOXED:
            _WARNED_UNSANDBOXED = True
            logger.warning(
                "code reward runs UNSANDBOXED (allow_unsandboxed=True): untrusted programs have network "
                "access and the grader's file permissions; only rlimits and a scrubbed environment apply."
            )
    return level


def _drop_uid(slot_uid: int) -> int | None:
    """The held slot's unprivileged uid when we are root (RLIMIT_NPROC is not enforced for root); None
    otherwise (the program keeps our uid)."""
    if os.geteuid() != 0:
        return None
    return slot_uid


def _count_tasks_of_uid(uid: int) -> int:
    """Processes + threads of ``uid`` now (RLIMIT_NPROC counts them all, sandbox or not)."""
    n = 0
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                st = os.stat(f"/proc/{d}")
                if st.st_uid == uid:
                    n += len(os.listdir(f"/proc/{d}/task"))
            except OSError:
                pass
    return n


def _prlimit_prefix(cfg: SandboxConfig, nproc: int) -> list[str]:
    cpu = cfg.cpu_seconds if cfg.cpu_seconds is not None else int(math.ceil(cfg.wall_timeout)) + 1
    return [
        "prlimit",
        f"--cpu={cpu}",
        f"--as={cfg.address_space_bytes}",
        f"--nproc={nproc}",
        f"--fsize={cfg.file_size_bytes}",
        f"--nofile={cfg.open_files}",
        "--core=0",
        "--",
    ]


# --------------------------------------------------------------------------- running


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the session's process group. Call before reaping the leader so its pid (= pgid) cannot
    have been reused."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _exited_unreaped(pid: int) -> bool:
    try:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None


def run_sandboxed(
    argv: Sequence[str],
    stdin: bytes = b"",
    config: SandboxConfig | None = None,
    *,
    ro_files: dict[str, str] | None = None,
) -> SandboxResult:
    """Run ``argv`` sandboxed, feeding ``stdin``; returns its capped output.

    ``ro_files`` maps host files to the paths where the program sees them (read-only) under bwrap; name
    the inside path in ``argv``: under the other levels it is rewritten to the host path.
    The working directory is fresh and private (bwrap: a size-capped tmpfs ``/tmp``; otherwise a host
    temp dir), and is gone afterwards.
    It runs in a node-wide slot (blocks until one is free; ``slot_wait_seconds`` says how long).
    Raises SandboxUnavailableError when no isolation works and ``allow_unsandboxed`` is False.
    """
    cfg = config or SandboxConfig()
    level = _resolve_level(cfg)
    with slot(cfg) as held:
        res = _run_in_slot(list(argv), stdin, cfg, level, held, ro_files)
    res.slot_wait_seconds = held.waited_s
    return res


def _run_in_slot(argv: list[str], stdin: bytes, cfg: SandboxConfig, level: str, held: slots.HeldSlot,
                 ro_files: dict[str, str] | None) -> SandboxResult:
    host_dir = None
    uid = None
    try:
        if level == "bwrap":
            uid = _drop_uid(held.uid)
            prefix = _bwrap_prefix(cfg, uid)
            for host, inside in (ro_files or {}).items():
                for parent in reversed(Path(inside).parents[:-1]):
                    prefix += ["--perms", "0755", "--dir", str(parent)]
                prefix += ["--ro-bind", host, inside]
            env = None
            if uid is not None:
                prefix += _setpriv_prefix(uid)
        else:
            host_dir = tempfile.mkdtemp(prefix="archer-sbx-")
            # inside bwrap ro_files appear at their mapped paths; outside, map them back to host paths
            back = {inside: host for host, inside in (ro_files or {}).items()}
            argv = [back.get(a, a) for a in argv]
            env = minimal_env(host_dir)
            prefix = _unshare_prefix() if level == "unshare" else []
        nproc = cfg.max_processes
        if uid is None and os.geteuid() != 0:
            # RLIMIT_NPROC counts every task of our uid (the trainer's threads too): allow that many more
            nproc += _count_tasks_of_uid(os.geteuid())
        # (as root without a dropped uid -- unshare / none levels -- the kernel ignores RLIMIT_NPROC)
        full = _prlimit_prefix(cfg, nproc) + prefix + argv
        return _communicate(full, stdin, cfg, env=env, cwd=host_dir, level=level)
    finally:
        if host_dir is not None:
            shutil.rmtree(host_dir, ignore_errors=True)


def _communicate(argv, stdin: bytes, cfg: SandboxConfig, *, env, cwd, level) -> SandboxResult:
    t0 = time.monotonic()
    deadline = t0 + cfg.wall_timeout
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env if env is not None else {"PATH": "/usr/bin:/bin"},
        cwd=cwd,
        start_new_session=True,
        close_fds=True,
    )
    limits = {proc.stdout: cfg.stdout_limit, proc.stderr: cfg.stderr_limit}
    bufs: dict = {proc.stdout: bytearray(), proc.stderr: bytearray()}
    truncated = {proc.stdout: False, proc.stderr: False}
    timed_out = False
    sel = selectors.DefaultSelector()
    try:
        sel.register(proc.stdout, selectors.EVENT_READ)
        sel.register(proc.stderr, selectors.EVENT_READ)
        pending = memoryview(stdin) if stdin else None
        if pending is not None:
            os.set_blocking(proc.stdin.fileno(), False)
            sel.register(proc.stdin, selectors.EVENT_WRITE)
        else:
            proc.stdin.close()
        open_readers = 2
        while open_readers:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            for key, _ in sel.select(timeout=min(left, 1.0)):
                f = key.fileobj
                if f is proc.stdin:
                    try:
                        n = os.write(f.fileno(), pending[: 1 << 16])
                    except (BrokenPipeError, BlockingIOError) as e:
                        n = 0 if isinstance(e, BlockingIOError) else len(pending)
                    pending = pending[n:]
                    if not len(pending):
                        sel.unregister(f)
                        f.close()
                    continue
                chunk = os.read(f.fileno(), 1 << 16)
                if not chunk:
                    sel.unregister(f)
                    open_readers -= 1
                    continue
                room = limits[f] - len(bufs[f])
                if len(chunk) > room:
                    bufs[f] += chunk[: max(room, 0)]
                    truncated[f] = True
                else:
                    bufs[f] += chunk
            if truncated[proc.stdout] or truncated[proc.stderr]:
                break  # over the cap: stop now rather than let it run to the deadline
        if not (timed_out or truncated[proc.stdout] or truncated[proc.stderr]):
            # both pipes closed: give the leader until the deadline to exit, without reaping it (its pid
            # must stay reserved until the group kill below)
            while not _exited_unreaped(proc.pid):
                if time.monotonic() >= deadline:
                    timed_out = True
                    break
                time.sleep(0.001)
    finally:
        sel.close()
        _kill_group(proc)  # always: whatever the program left in its session dies with it
        proc.wait()
        for f in (proc.stdin, proc.stdout, proc.stderr):
            try:
                f.close()
            except Exception:
                pass
    return SandboxResult(
        returncode=None if timed_out else proc.returncode,
        stdout=bytes(bufs[proc.stdout]),
        stderr=bytes(bufs[proc.stderr]),
        timed_out=timed_out,
        stdout_truncated=truncated[proc.stdout],
        stderr_truncated=truncated[proc.stderr],
        wall_seconds=time.monotonic() - t0,
        isolation=level,
    )
