"""The sandbox environment is built from scratch: a secret of the grader's environment is invisible."""
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

import os


def test_env_secret_invisible(monkeypatch):
    monkeypatch.setenv("ARCHER_TEST_SECRET", "hunter2-s3cr3t")
    prog = ("import os\nv = os.environ.get('ARCHER_TEST_SECRET', '')\n"
            "try:\n    v += open('/proc/1/environ').read()\nexcept OSError:\n    pass\n"
            "try:\n    v += open(f'/proc/{os.getppid()}/environ').read()\nexcept OSError:\n    pass\n"
            "print('leak' if 'hunter2' in v else 'clean')\nprint(sorted(os.environ))")
    r = compute_code_score("code", resp(prog), stdin_gt(("", "leak")))
    assert r["failure_kind"] == "wrong answer"
    allowed = sorted(k for k in sb.minimal_env("/tmp")) + ["PWD"]
    # the program sees only the minimal variables
    r = compute_code_score("code", resp("import os\nprint('clean' if set(os.environ) <= set(%r) else sorted(os.environ))" % allowed),
                           stdin_gt(("", "clean")))
    assert r["acc"]
