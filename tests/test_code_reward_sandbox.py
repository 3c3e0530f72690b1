"""The sandbox module itself: isolation detection, refusing to run unsandboxed, scrubbed environment."""
import pytest

from archer.reward.code import sandbox as sb
from archer.reward.code.grader import compute_code_score


import logging
import os

from code_reward_support import resp, stdin_gt


def test_isolation_report_names_a_level():
    level = sb.detect_isolation()
    assert level in sb.ISOLATION_LEVELS
    report = sb.isolation_report()
    assert report[level] == "ok"
    if os.path.exists("/usr/bin/bwrap") and os.geteuid() == 0:
        assert level == "bwrap", report


def test_refuses_unsandboxed_by_default(monkeypatch, caplog):
    monkeypatch.setattr(sb, "detect_isolation", lambda: "none")
    monkeypatch.setattr(sb, "_WARNED_UNSANDBOXED", False)
    with pytest.raises(sb.SandboxUnavailableError, match="allow_unsandboxed=True"):
        compute_code_score("code", resp("print(1)"), stdin_gt(("", "1")))
    with caplog.at_level(logging.WARNING, logger="archer.reward.code.sandbox"):
        r1 = compute_code_score("code", resp("print(1)"), stdin_gt(("", "1")), allow_unsandboxed=True)
        r2 = compute_code_score("code", resp("print(1)"), stdin_gt(("", "1")), allow_unsandboxed=True)
    assert r1["acc"] and r2["acc"] and r1["isolation"] == "none"
    assert sum("UNSANDBOXED" in rec.getMessage() for rec in caplog.records) == 1


def test_requested_level_that_does_not_work_raises(monkeypatch):
    monkeypatch.setattr(sb, "_probe_level", lambda level: (False, "nope"))
    with pytest.raises(sb.SandboxUnavailableError, match="nope"):
        sb.run_sandboxed(["true"], config=sb.SandboxConfig(isolation="bwrap"))


@pytest.mark.parametrize("level", ["bwrap", "unshare"])
def test_each_available_level_runs(level):
    ok, why = sb._probe_level(level)
    if not ok:
        pytest.skip(f"{level} unavailable here: {why}")
    r = sb.run_sandboxed([sb.sys.executable, "-I", "-c", "import os, sys; print(sys.stdin.read(), sorted(os.environ))"],
                         b"hi", sb.SandboxConfig(isolation=level))
    assert r.returncode == 0 and r.isolation == level
    assert r.stdout.startswith(b"hi ") and b"HOME" in r.stdout and b"ARCHER" not in r.stdout
