"""Memory bombs hit RLIMIT_AS (4 GiB default) and fail without hurting the grader."""
import psutil
import pytest

from archer.reward import sandbox as sb
from archer.reward.code_grader import compute_code_score

BWRAP = sb.detect_isolation() == "bwrap"
needs_bwrap = pytest.mark.skipif(not BWRAP, reason="bubblewrap missing or unusable here (apt-get install bubblewrap)")


def resp(code: str) -> str:
    return f"<think>reasoning</think>\nHere it is:\n```python\n{code}\n```\n"


def stdin_gt(*pairs):
    return {"tests": [{"input": i, "output": o, "testtype": "stdin"} for i, o in pairs]}


def leftovers():
    """Processes of any sandbox still alive (harness, bwrap, or a sandbox uid)."""
    base = sb.SandboxConfig().sandbox_uid_base
    out = []
    for p in psutil.process_iter(["cmdline", "uids"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
            if "code_harness.py" in cmd or (p.info["uids"] and base <= p.info["uids"].real < base + 4096):
                out.append((p.pid, cmd[:80]))
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return out

import time

import pytest


@pytest.mark.parametrize("prog", ["x = bytearray(64 * 2**30)", "a = []\nwhile True:\n    a.append(' ' * 2**24)"])
def test_memory_bomb(prog):
    t0 = time.monotonic()
    r = compute_code_score("code", resp(prog), stdin_gt(("", "1")), per_test_timeout=5.0, memory_limit_mb=1024)
    assert r["score"] == 0.0 and r["failure_kind"] in ("runtime error", "timeout")
    assert time.monotonic() - t0 < 6.5
    assert not leftovers()
