"""CPU time used by a child process, read from ``/proc/<pid>/stat``.

The symbolic-check budget is counted in the worker's CPU seconds, not wall seconds: on a node where
8 grading processes and their workers share the cores, a check that needs 0.1 s of CPU can take
seconds of wall time while it waits for a core. Counting CPU time keeps "this answer timed out" a
property of the answer, not of the machine's load (see docs/reward_math.md, "Timeouts").
"""

from __future__ import annotations

import os

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` (itself, not its children); None when it cannot be read
    (the process is gone, or no ``/proc`` on this system)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # Fields after the command name, which is in parentheses and may itself contain spaces or ")".
    fields = stat[stat.rfind(b")") + 2 :].split()
    try:
        return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14 and 15 of stat)
    except (IndexError, ValueError):
        return None
