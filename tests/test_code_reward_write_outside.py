"""With bubblewrap the file system outside the sandbox's private /tmp is read-only (or absent)."""
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
from pathlib import Path


@needs_bwrap
def test_write_outside_temp_dir_is_blocked(tmp_path):
    target = tmp_path / "pwned.txt"
    repo_target = Path(sb.sys.prefix) / "pwned.txt"
    prog = ("ok = 0\n"
            f"for p in [{str(target)!r}, {str(repo_target)!r}, '/etc/pwned', '/usr/pwned', '/pwned', '/dev/shm/x']:\n"
            "    try:\n        open(p, 'w').write('x')\n        ok += 1\n    except OSError:\n        pass\n"
            "open('/tmp/inside.txt', 'w').write('fine')\n"
            "print(ok, open('/tmp/inside.txt').read())")
    r = compute_code_score("code", resp(prog), stdin_gt(("", "0 fine")))
    assert r["acc"], r
    assert not target.exists() and not repo_target.exists()


@needs_bwrap
def test_repository_and_data_are_not_visible():
    here = str(Path(__file__).resolve())
    prog = f"import os\nprint(os.path.exists({here!r}), os.path.exists('/work/shared/data'))"
    assert compute_code_score("code", resp(prog), stdin_gt(("", "False False")))["acc"]


def test_temp_dir_is_fresh_and_removed():
    import glob

    before = set(glob.glob("/tmp/archer-sbx-*"))
    prog = "import os\nprint(len(os.listdir('.')))\nopen('left.txt', 'w').write('x')"
    r = compute_code_score("code", resp(prog), stdin_gt(("", "0"), ("", "0")))
    assert r["acc"], r
    assert set(glob.glob("/tmp/archer-sbx-*")) == before
