"""How many math-verify worker processes one grading process may run.

verl 0.9.1 grades with ``reward.num_workers`` (default 8) reward-loop processes on a node, and each
has its own pool: a per-process size that ignores them would put 8 x that many busy workers on the
cores. So, unless told otherwise, a process takes its share of the CPUs it may run on::

    size = clamp(usable CPUs // grading processes, 1, 4)

* usable CPUs: ``os.sched_getaffinity(0)`` (a container or ``taskset`` limit), else ``os.cpu_count()``;
* grading processes: ``$ARCHER_MATH_REWARD_PROCESSES``, default 8 (verl's ``reward.num_workers``);
  set it to the real number (1 for a single evaluation script) to give each process more;
* at most 4: symbolic checks are a small share of answers (~2% of real model outputs), so more
  workers would mostly sit idle holding ~150 MB each.

``num_workers`` (a reward option) or ``$ARCHER_MATH_REWARD_WORKERS`` set the size directly.
With P grading processes on a node the node never runs more than P x size math workers (a timed-out
worker is killed and reaped before its replacement starts), and a process that never needs a
symbolic check starts none.
"""

from __future__ import annotations

from archer.host import positive_int_env
from archer.host import usable_cpus

MAX_PER_PROCESS = 4
DEFAULT_GRADING_PROCESSES = 8  # verl 0.9.1's reward.num_workers default


def grading_processes() -> int:
    return positive_int_env("ARCHER_MATH_REWARD_PROCESSES") or DEFAULT_GRADING_PROCESSES


def pool_size(num_workers: int = 0) -> int:
    """Worker processes for this grading process (see the module docstring for the rule)."""
    if num_workers > 0:
        return num_workers
    explicit = positive_int_env("ARCHER_MATH_REWARD_WORKERS")
    if explicit is not None:
        return explicit
    return max(1, min(MAX_PER_PROCESS, usable_cpus() // grading_processes()))
