"""Facts about this host that several parts of archer size themselves by, read one way everywhere."""

from __future__ import annotations

import os

__all__ = ["usable_cpus", "positive_int_env"]


def usable_cpus() -> int:
    """The CPUs this process may run on: ``os.sched_getaffinity(0)`` (a container or ``taskset`` limit),
    else ``os.cpu_count()``; at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def positive_int_env(name: str, meaning: str = "") -> int | None:
    """The positive integer in environment variable ``name``; None when unset or empty. Anything else
    raises ValueError naming the variable (and ``meaning``, e.g. "sandboxes on this node")."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    what = f" ({meaning})" if meaning else ""
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"${name} must be a positive integer{what}, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"${name} must be a positive integer{what}, got {raw!r}")
    return value
