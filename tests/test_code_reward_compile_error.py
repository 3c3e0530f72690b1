"""Programs that do not compile score 0 with kind "compile error"."""
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

import pytest


@pytest.mark.parametrize("code", ["def f(:\n    pass", "print('a'", "x = 1\n  y = 2", "a = '\x00'\x00"])
def test_compile_error(code):
    r = compute_code_score("code", resp(code), stdin_gt(("", "1")))
    assert (r["score"], r["acc"], r["passed"], r["failure_kind"]) == (0.0, False, 0, "compile error")


def test_compile_error_call_and_assert_modes():
    gt = {"tests": [{"input": "1", "output": "1", "testtype": "functional"}], "fn_name": "f"}
    assert compute_code_score("code", resp("class Solution\n"), gt)["failure_kind"] == "compile error"
    assert compute_code_score("humaneval", resp("def f(x) return x"), {"functional": "assert f(1) == 1"})["failure_kind"] == "compile error"
