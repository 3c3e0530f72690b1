"""Grading processes that are not root: no per-slot uid (programs keep the grader's uid, nothing is
swept), but the node-wide budget still holds (the user's own runtime directory) and a quick program in
one process does not disturb a slow one in another.

Runs the grading processes as ``nobody`` through setpriv; skips where that is impossible (not root,
no such user, or the interpreter / checkout is not reachable by that user)."""
import os
import pwd
import shutil
import subprocess
import sys
import time

import pytest

from code_reward_support import REPO_ROOT, finish_grader, job, start_grader, stdin_gt

GT = stdin_gt(("21\n", "42\n"))


def _unprivileged_uid() -> tuple[int, dict]:
    """(uid of 'nobody', grading kwargs): bwrap where it works for that user, else -- our own trusted test
    programs only -- level "none", which exercises the same non-root slot budget."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to start a grading process as an unprivileged user")
    try:
        uid = pwd.getpwnam("nobody").pw_uid
    except KeyError:
        pytest.skip("no 'nobody' account here")
    script = ("import sys; from archer.reward.code import sandbox as sb; level = sb.detect_isolation(); "
              "r = sb.run_sandboxed([sys.executable, '-I', '-c', 'print(7)'], b'', "
              "sb.SandboxConfig(isolation=level, allow_unsandboxed=True)); "
              "print(level, r.stdout == b'7\\n', r.stderr.decode()[-300:], sb.isolation_report())")
    probe = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", sys.executable,
                            "-c", script], capture_output=True, text=True, cwd=str(REPO_ROOT),
                           env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    level, ran, why = (probe.stdout.strip().split(" ", 2) + ["", ""])[:3]
    if probe.returncode != 0 or ran != "True":
        # e.g. the interpreter lives under /root (mode 0700): that user cannot execute it in any sandbox
        pytest.skip(f"uid {uid} cannot run a sandboxed interpreter here: {(why or probe.stderr).strip()[-400:]}")
    if level == "bwrap":
        return uid, {}
    print(f"bwrap does not work for uid {uid} here ({why}); grading these trusted programs at level {level!r}")
    return uid, {"isolation": level, "allow_unsandboxed": True}


@pytest.mark.slow
def test_unprivileged_graders_share_a_budget_and_do_not_disturb_each_other():
    uid, kw = _unprivileged_uid()
    slow = start_grader([job("import time\ntime.sleep(3)\nprint(int(input()) * 2)", GT, per_test_timeout=10.0, **kw)],
                        user=uid)
    time.sleep(1.5)
    quick = [start_grader([job("print(int(input()) * 2)", GT, **kw), job("print(0)", GT, **kw)], user=uid)
             for _ in range(2)]
    quick_results = [finish_grader(p) for p in quick]
    (slow_result,) = finish_grader(slow)
    assert slow_result["score"] == 1.0 and slow_result["isolation"] == kw.get("isolation", "bwrap"), slow_result
    for results in quick_results:
        assert [r["score"] for r in results] == [1.0, 0.0], results
    # the user's own runtime directory, private to it
    rt = f"/tmp/archer-sandbox-{uid}"
    st = os.stat(rt)
    assert st.st_uid == uid and (st.st_mode & 0o777) == 0o700
    assert any(name.startswith("slot-uid") for name in os.listdir(rt))
