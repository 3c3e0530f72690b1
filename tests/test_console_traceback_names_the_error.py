"""A training error reaches the console with the end of its traceback, where the error is named (Ray's
chained RayTaskError included), once, however many workers repeat it; the whole traceback is in train.log."""

from __future__ import annotations

import io

from archer.launch.console import Console

TRACEBACK = [
    "Traceback (most recent call last):",
    *[f'  File "frame{i}.py", line {i}, in f{i}' for i in range(40)],
    "ray.exceptions.RayTaskError(FilterGroupsExhausted): ray::TaskRunner.run() (pid=5663, ip=10.0.0.1)",
    '  File "archer/plugin/filter_groups_guard.py", line 90, in sample',
    "archer.plugin.filter_groups_guard.FilterGroupsExhausted: algorithm.filter_groups: step 1 used 3 batches",
]


def test_error_line_shown_once_with_the_end_of_its_traceback():
    out, log = io.StringIO(), io.StringIO()
    console = Console(log, out)
    for line in [*TRACEBACK, *[f"(WorkerDict pid={p}) " + t for p in (1, 2) for t in TRACEBACK], "[run_aspo_math] x"]:
        console.feed(line + "\n")
    console.close(None, None)
    shown = out.getvalue().splitlines()
    named = [s for s in shown if "FilterGroupsExhausted: algorithm.filter_groups: step 1 used 3" in s]
    assert len(named) == 1
    assert shown[0].startswith("Traceback (most recent call last): (") and "left out here" in shown[0]
    assert "[run_aspo_math] x" in shown
    assert len(shown) <= 25
    assert log.getvalue().count("FilterGroupsExhausted: algorithm") == 3
