"""Helpers shared by the code-reward tests (imported by name: conftest.py puts tests/ on sys.path).

Run as a script (``python tests/code_reward_support.py [--threads N]``) it is a *grading process*, as a
verl RewardLoopWorker is: it reads a JSON list of jobs on stdin, grades them with ``compute_code_score``
from N threads, and prints one JSON line per finished job (``{"i": index, "result": {...}}``), then
``{"done": true}``. The multi-process tests start several of these at once.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

if __name__ != "__main__":
    import psutil
    import pytest

    from archer.reward.code import sandbox as sb

    BWRAP = sb.detect_isolation() == "bwrap"
    needs_bwrap = pytest.mark.skipif(not BWRAP, reason="bubblewrap missing or unusable here (apt-get install bubblewrap)")


def resp(code: str) -> str:
    """A model response: reasoning, then the program in a fenced block."""
    return f"<think>reasoning</think>\nHere it is:\n```python\n{code}\n```\n"


def stdin_gt(*pairs):
    """Canonical ground truth of stdin tests from (input, output) pairs."""
    return {"tests": [{"input": i, "output": o, "testtype": "stdin"} for i, o in pairs]}


def job(code: str, gt, **kwargs) -> dict:
    """One grading job for a grading process: the response of ``code`` against ``gt`` with ``kwargs``."""
    return {"response": resp(code), "gt": gt, "kwargs": kwargs}


# A tiny mixed workload: correct, wrong, crashing, non-compiling, call-based, timing-out programs and a few
# attacks from the attack tests (fork bomb, memory bomb, huge output). (name, program, ground truth, kwargs)
_SUM_GT = {"tests": [{"input": "1 2\n", "output": "3\n", "testtype": "stdin"},
                     {"input": "10 -4\n", "output": "6\n", "testtype": "stdin"}]}
_ADD_GT = {"tests": [{"input": "1\n2", "output": "3", "testtype": "functional"}], "fn_name": "add"}
MIXED_KINDS = [
    ("correct", "a, b = map(int, input().split())\nprint(a + b)", _SUM_GT, {}),
    ("wrong", "a, b = map(int, input().split())\nprint(a - b)", _SUM_GT, {}),
    ("crash", "a, b = map(int, input().split())\nprint(a // 0)", _SUM_GT, {}),
    ("call_correct", "class Solution:\n    def add(self, a, b):\n        return a + b", _ADD_GT, {}),
    ("call_wrong", "class Solution:\n    def add(self, a, b):\n        return [a, b]", _ADD_GT, {}),
    ("compile_error", "def f(:\n    pass", _SUM_GT, {}),
]
MIXED_RARE = {  # every 16th job, in turn
    "timeout": ("import time\ntime.sleep(30)", _SUM_GT, {"per_test_timeout": 0.3}),
    "fork_bomb": ("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
                  _SUM_GT, {"per_test_timeout": 1.0}),
    "memory_bomb": ("x = bytearray(64 * 2**30)", _SUM_GT, {"memory_limit_mb": 512}),
    "huge_output": ("while True:\n    print('x' * 10000)", _SUM_GT, {}),
}
ATTACKS = ("fork_bomb", "memory_bomb", "huge_output")
MIXED_EXPECTED_SCORE = {"correct": 1.0, "wrong": 0.0, "crash": 0.0, "call_correct": 1.0, "call_wrong": 0.0,
                        "compile_error": 0.0, "timeout": 0.0, "fork_bomb": 0.0, "memory_bomb": 0.0,
                        "huge_output": 0.0}


def mixed_jobs(n: int, **kwargs) -> tuple[list[str], list[dict]]:
    """``n`` jobs of the mixed workload (deterministic): (their kind names, the jobs). ``kwargs`` go to
    every job (e.g. ``sandbox_uid_base``)."""
    names, jobs = [], []
    rare = list(MIXED_RARE)
    for i in range(n):
        if i % 16 == 15:
            name = rare[(i // 16) % len(rare)]
            code, gt, kw = MIXED_RARE[name]
        else:
            name, code, gt, kw = MIXED_KINDS[(i * 5 + i // 16) % len(MIXED_KINDS)]
        names.append(name)
        jobs.append(job(code, gt, **kw, **kwargs))
    return names, jobs


def start_grader(jobs: list[dict], threads: int = 1, env: dict | None = None, user: int | None = None) -> subprocess.Popen:
    """Start a grading process on ``jobs`` (see the module docstring). ``env`` is added to ours; ``user``
    runs it as that unprivileged uid (via setpriv)."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--threads", str(threads)]
    if user is not None:
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", "--", *argv]
    full_env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
    # output to files, not pipes: a process printing many results must never block on a full pipe
    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out, stderr=err, env=full_env, cwd=str(REPO_ROOT),
                            text=True)
    proc.stdin.write(json.dumps(jobs))
    proc.stdin.close()
    proc.stdin = None
    proc.out_file, proc.err_file = out, err
    return proc


def finish_grader(proc: subprocess.Popen, timeout: float = 120.0) -> list[dict]:
    """Wait for a grading process; its results in job order. AssertionError (with its stderr) if it failed."""
    proc.wait(timeout=timeout)
    out, err = (f.seek(0) or f.read() for f in (proc.out_file, proc.err_file))
    assert proc.returncode == 0, f"grading process exited {proc.returncode}: {err[-3000:]}"
    results = {}
    for line in out.splitlines():
        msg = json.loads(line)
        if "i" in msg:
            results[msg["i"]] = msg["result"]
    return [results[i] for i in sorted(results)]


def grade_in_processes(job_lists: list[list[dict]], threads: int = 1, env: dict | None = None) -> list[list[dict]]:
    """Grade each list of jobs in its own process, all processes at once."""
    procs = [start_grader(jobs, threads, env) for jobs in job_lists]
    return [finish_grader(p) for p in procs]


def leftovers(uid_base: int | None = None):
    """Processes of any sandbox still alive (harness, bwrap, or a sandbox uid). With ``uid_base``: only the
    processes running as that base's slot uids (a test grading with its own base then ignores what other
    users of this shared machine are grading meanwhile)."""
    base = uid_base if uid_base is not None else sb.SandboxConfig().sandbox_uid_base
    span = 256 if uid_base is not None else 4096  # tests' own bases are 256 apart
    out = []
    for p in psutil.process_iter(["cmdline", "uids"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
            in_range = p.info["uids"] and base <= p.info["uids"].real < base + span
            if in_range or (uid_base is None and "harness.py" in cmd):
                out.append((p.pid, cmd[:80]))
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return out


def _grading_process_main() -> None:
    import argparse
    import threading
    from concurrent.futures import ThreadPoolExecutor

    sys.path.insert(0, str(REPO_ROOT))
    from archer.reward.code.grader import compute_code_score

    ap = argparse.ArgumentParser(description="grade a JSON list of code-reward jobs from stdin")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    jobs = json.load(sys.stdin)
    lock = threading.Lock()

    def grade(i: int) -> None:
        j = jobs[i]
        r = compute_code_score("code", j["response"], j["gt"], None, **j.get("kwargs", {}))
        with lock:
            print(json.dumps({"i": i, "result": r}), flush=True)

    with ThreadPoolExecutor(max_workers=args.threads) as ex:
        for f in [ex.submit(grade, i) for i in range(len(jobs))]:
            f.result()
    print(json.dumps({"done": True}), flush=True)


if __name__ == "__main__":
    _grading_process_main()
