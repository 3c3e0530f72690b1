"""Symbolic equivalence worker: a child process that runs math-verify on request.

Started by :mod:`archer.reward.math.pool` as ``python -m archer.reward.math.worker``. Protocol: one JSON
object per line on stdin, one JSON reply per line on the original stdout (everything else the libraries
print goes to stderr).

Request: ``{"id": n, "golds": [[alt, ...], ...], "preds": [alt, ...], "cpu_s": s}`` (cleaned LaTeX).
Reply:   ``{"id": n, "equal": bool}`` (``"error"`` is added when a comparison raised).

The answer is "equal" when any alternative of any gold verifies against any prediction alternative.
math-verify's own ``signal.alarm`` timeouts are switched off (``parsing_timeout=None`` /
``timeout_seconds=None``): the wall-clock bound is the parent killing this process. As a second line of
defence a CPU-time limit (RLIMIT_CPU, re-armed before every request) makes the kernel end the process if
the parent died while a comparison was running, and RLIMIT_AS caps its memory.

Dying with the grading process: the worker asks the kernel to SIGKILL it when its parent dies
(``PR_SET_PDEATHSIG``; the parent is the pool's spawner thread, which lives as long as the process),
then checks that the parent it was started by (``$ARCHER_POOL_PARENT_PID``) is still its parent, in
case the parent died before the request was armed. This works while a comparison holds the GIL in a
huge integer power, where no Python-level check could run. Without ``prctl`` (not Linux) it falls back
to a watchdog thread that exits when the worker is re-parented, plus the exit on stdin EOF.
"""

from __future__ import annotations

import json
import logging
import math
import os
import resource
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Arrange to be killed when the grading process dies, however it dies (SIGKILL included)."""
    expected = int(os.environ.get("ARCHER_POOL_PARENT_PID", "0") or 0)
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if expected and os.getppid() != expected:
        os._exit(0)  # the parent died before PDEATHSIG was armed: nobody will ever send a request
    if not armed and expected:

        def watch() -> None:
            while os.getppid() == expected:
                time.sleep(0.5)
            os._exit(0)

        threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _set_limits() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    mem_mb = int(os.environ.get("ARCHER_MATH_WORKER_MEM_MB", "0") or 0)
    if mem_mb > 0:
        limit = mem_mb * 1024 * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _arm_cpu_limit(seconds: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    soft = int(math.ceil(used + seconds)) + 2
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def main() -> int:
    # Keep the protocol channel private: whatever a library prints must not corrupt it.
    _die_with_parent()
    proto_out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _set_limits()

    logging.disable(logging.CRITICAL)  # math-verify logs a warning per disabled timeout / failed parse
    from math_verify import parse, verify
    from sympy.core.relational import Relational
    from sympy.logic.boolalg import BooleanAtom

    def _strip_numeric_relation(expr):
        # A relation between plain numbers ("0.56 = 59") is no equation: math-verify would compare it
        # as an equation and find any two such statements "equivalent" (and a relation sympy already
        # evaluated to True/False equals every other one). Keep its value, the right-hand side.
        if isinstance(expr, Relational) and not expr.free_symbols:
            return expr.rhs
        return expr

    cache: dict[str, list] = {}

    def parsed(text: str) -> list:
        hit = cache.get(text)
        if hit is None:
            hit = parse("\\boxed{" + text + "}", parsing_timeout=None)
            hit = [_strip_numeric_relation(h) for h in hit if not isinstance(h, BooleanAtom)]
            if len(cache) > 4096:
                cache.clear()
            cache[text] = hit
        return hit

    def equal(golds: list[list[str]], preds: list[str]) -> bool:
        pred_parsed = [parsed(p) for p in preds]
        for alts in golds:
            for g in alts:
                gp = parsed(g)
                if not gp:
                    continue
                for pp in pred_parsed:
                    if pp and verify(gp, pp, timeout_seconds=None):
                        return True
        return False

    equal([["1"]], ["1"])  # warm up lazy imports (antlr parser, sympy caches) before declaring ready
    proto_out.write(b'{"ready": true}\n')

    for line in sys.stdin.buffer:
        try:
            req = json.loads(line)
        except ValueError:
            continue
        _arm_cpu_limit(float(req.get("cpu_s") or 30.0))
        reply: dict = {"id": req.get("id")}
        try:
            reply["equal"] = bool(equal(req["golds"], req["preds"]))
        except Exception as exc:  # RecursionError, MemoryError, sympy errors: not equal
            reply["equal"] = False
            reply["error"] = type(exc).__name__
        proto_out.write(json.dumps(reply).encode() + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
