"""After a smoke run (finished, failed or interrupted): end its leftover processes, remove its /dev/shm leaks.

The smoke launcher calls :func:`cleanup` whatever way it exits (archer/launch/run.py); ``python -m archer.smoke
cleanup`` is the same by hand.

* Processes: every process of a run carries the run's ``VERL_FILE_LOGGER_PATH`` (unique per invocation:
  the launcher exports it and hands it to every Ray worker; the raylet, vLLM's engine and workers and the
  reward processes inherit it). Any such process still alive, other than this one and its ancestors (the
  launcher), gets SIGTERM, then SIGKILL after :data:`GRACE_S` seconds. Nothing is matched by name.
* /dev/shm: vLLM's message queues (``psm_*``, Python's ``multiprocessing.shared_memory``) and verl's weight
  buckets (``verl_weights_*``) outlive processes that are killed (measured: ~400 MB per vLLM run, 2 GiB
  after a failed weight sync). Entries with those prefixes that were not there before the run (the
  launcher's listing, ``--shm-before``) and that no live process has open or mapped are removed.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Iterable, Optional

TAG_ENV = "VERL_FILE_LOGGER_PATH"
SHM_DIR = Path("/dev/shm")
SHM_PREFIXES = ("psm_", "verl_weights_")
GRACE_S = 5.0


def _log(msg: str) -> None:
    print(f"[smoke cleanup] {msg}", file=sys.stderr, flush=True)


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _ancestors(pid: int) -> set[int]:
    out = set()
    while pid > 1 and pid not in out:
        out.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return out


def run_processes(tag: str) -> list[int]:
    """Live processes whose environment has ``VERL_FILE_LOGGER_PATH=tag`` (this one and its ancestors excluded)."""
    needle = f"{TAG_ENV}={tag}".encode()
    mine = _ancestors(os.getpid())
    found = []
    for pid in _pids():
        if pid in mine:
            continue
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if needle in env.split(b"\0"):
            found.append(pid)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def end_processes(pids: Iterable[int], grace_s: float = GRACE_S) -> list[int]:
    """SIGTERM each pid, SIGKILL those still alive after ``grace_s``; the pids that were signalled."""
    signalled = []
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
            signalled.append(pid)
        except OSError:
            pass
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(_alive(p) for p in signalled):
        time.sleep(0.1)
    for pid in signalled:
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    return signalled


def _held_shm() -> set[str]:
    """Names of /dev/shm entries some live process has open (fd) or mapped."""
    held = set()
    prefix = str(SHM_DIR) + "/"
    for pid in _pids():
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith(prefix):
                    held.add(target[len(prefix):].split(" ")[0])
            for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
                i = line.find(prefix)
                if i >= 0:
                    held.add(line[i + len(prefix):].split(" ")[0])
        except OSError:
            continue
    return held


def stale_shm(before: Optional[set[str]]) -> list[Path]:
    """/dev/shm entries of :data:`SHM_PREFIXES`, new since ``before``, held by no process (none without a
    ``before`` listing: another run's segments are not ours to remove)."""
    if before is None:
        return []
    try:
        names = [n for n in os.listdir(SHM_DIR) if n.startswith(SHM_PREFIXES)]
    except OSError:
        return []
    names = [n for n in names if n not in before]
    if not names:
        return []
    held = _held_shm()
    return [SHM_DIR / n for n in sorted(names) if n not in held]


def cleanup(tag: str, shm_before: Optional[Path] = None) -> dict:
    pids = run_processes(tag)
    ended = end_processes(pids) if pids else []
    if ended:
        _log(f"ended {len(ended)} leftover process(es) of this run: {' '.join(map(str, ended))}")
    before = None
    if shm_before is not None and shm_before.is_file():
        before = set(shm_before.read_text().split())
    removed, size = [], 0
    for path in stale_shm(before):
        try:
            size += path.stat().st_size
            path.unlink()
            removed.append(path.name)
        except OSError:
            continue
    if removed:
        _log(f"removed {len(removed)} unused /dev/shm segment(s) of this run ({size / 2**20:.0f} MiB): "
             f"{' '.join(removed[:8])}{' ...' if len(removed) > 8 else ''}")
    return {"ended": ended, "removed_shm": removed, "removed_bytes": size}
