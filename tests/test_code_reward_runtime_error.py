"""Exceptions, non-plain results and non-zero exits are runtime errors."""
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

def test_exception_is_runtime_error():
    r = compute_code_score("code", resp("x = int(input())\nprint(1 // (x - x))"), stdin_gt(("3", "1")))
    assert (r["score"], r["failure_kind"]) == (0.0, "runtime error")


def test_call_exception_and_missing_method():
    gt = {"tests": [{"input": "1", "output": "1", "testtype": "functional"}], "fn_name": "f"}
    assert compute_code_score("code", resp("class Solution:\n    def f(self, x):\n        raise KeyError(x)"), gt)["failure_kind"] == "runtime error"
    assert compute_code_score("code", resp("class Solution:\n    def g(self, x):\n        return x"), gt)["failure_kind"] == "runtime error"


def test_unserializable_result_is_runtime_error():
    gt = {"tests": [{"input": "1", "output": "1", "testtype": "functional"}], "fn_name": "f"}
    r = compute_code_score("code", resp("class Solution:\n    def f(self, x):\n        return object()"), gt)
    assert r["failure_kind"] == "runtime error"


def test_deep_recursion_is_contained():
    prog = "import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1) + 1\nprint(f(0))"
    r = compute_code_score("code", resp(prog), stdin_gt(("", "1")), per_test_timeout=3)
    assert r["score"] == 0.0 and r["failure_kind"] in ("runtime error", "timeout")
    assert not leftovers()
