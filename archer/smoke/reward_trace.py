"""Opt-in record of which process graded which code sample (smoke diagnostics, off unless asked).

With ``ARCHER_SMOKE_REWARD_TRACE=<file>`` in a smoke process, the code grader entry of
``archer.reward.dispatch.GRADERS`` (the function verl's reward workers reach through
``archer.reward.compute_score``) is wrapped so that every graded code sample appends one JSON line to
``<file>``: ``{"pid", "process", "data_source", "passed", "total", "score"}``. The grader itself is unchanged and still
runs the program in its sandbox; the wrapper only observes its result, so a smoke run can show that the
sandbox ran programs in every reward worker process (``reward.num_workers``).
"""

from __future__ import annotations

import functools
import json
import os
from types import ModuleType

from archer.plugin.post_import import when_imported

TRACE_ENV = "ARCHER_SMOKE_REWARD_TRACE"
_MARK = "__archer_smoke_trace__"


def _process_title() -> str:
    """The process's command line as ``ps`` shows it (Ray names its workers ``ray::<Class>...``)."""
    try:
        with open("/proc/self/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace").strip()[:200]
    except OSError:
        return ""


def _record(path: str, data_source: str, result: dict) -> None:
    line = json.dumps(
        {
            "pid": os.getpid(),
            "process": _process_title(),
            "data_source": data_source,
            "passed": result.get("passed"),
            "total": result.get("total"),
            "score": result.get("score"),
        }
    )
    with open(path, "a", encoding="utf-8") as fh:  # one short write per line: safe across processes
        fh.write(line + "\n")


def _wrap_code_grader(dispatch: ModuleType) -> None:
    path = os.environ.get(TRACE_ENV)
    grader = dispatch.GRADERS.get("code")
    if not path or grader is None or getattr(grader, _MARK, False):
        return

    @functools.wraps(grader)
    def traced_code_grader(data_source, *args, **kwargs):
        result = grader(data_source, *args, **kwargs)
        try:
            _record(path, str(data_source), result)
        except OSError:
            pass  # diagnostics never break grading
        return result

    setattr(traced_code_grader, _MARK, True)
    dispatch.GRADERS["code"] = traced_code_grader


def install() -> None:
    """Trace the code grader of this process when :data:`TRACE_ENV` is set (else nothing)."""
    if os.environ.get(TRACE_ENV):
        when_imported("archer.reward.dispatch", _wrap_code_grader)
