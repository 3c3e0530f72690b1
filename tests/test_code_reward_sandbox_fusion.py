"""backend="sandbox_fusion": grading through verl's SandboxFusion client, against a tiny fake service on
127.0.0.1 that implements the part of ``POST /run_code`` verl uses (it runs our own, trusted test programs
with a plain subprocess). Also the service-failure paths: a closed port, HTTP 500, 504 (verl retries), and
a ``SandboxError`` answer."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from archer.reward.code.grader import compute_code_score, compute_code_score_batch
from code_reward_support import resp, stdin_gt


class _Handler(BaseHTTPRequestHandler):
    """``/run_code`` runs the code; ``/gateway_timeout`` answers 504, ``/broken`` 500, ``/sandbox_error`` a
    SandboxError; anything else 404."""

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        req = json.loads(body)
        self.server.requests.append((self.path, req))
        if self.path == "/run_code":
            self._reply(200, _run(req))
        elif self.path == "/gateway_timeout":
            self._reply(504, {"detail": "gateway timeout"})
        elif self.path == "/broken":
            self._reply(500, {"detail": "internal server error"})
        elif self.path == "/sandbox_error":
            self._reply(200, {"status": "SandboxError", "message": "no runner available", "compile_result": None,
                              "run_result": None, "executor_pod_name": None, "files": {}})
        else:
            self._reply(404, {"detail": "Not Found"})

    def _reply(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def _run(req: dict) -> dict:
    """SandboxFusion's answer for a python run: status Success iff the run finished with exit code 0."""
    assert req["language"] == "python"
    timeout = float(req["run_timeout"])
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "main.py"
        src.write_text(req["code"], encoding="utf-8")
        t0 = time.monotonic()
        try:
            cp = subprocess.run([sys.executable, "-I", str(src)], input=req["stdin"] or "", capture_output=True,
                                text=True, encoding="utf-8", errors="replace", timeout=timeout, cwd=d)
            run = {"status": "Finished", "return_code": cp.returncode, "stdout": cp.stdout, "stderr": cp.stderr}
        except subprocess.TimeoutExpired:
            run = {"status": "TimeLimitExceeded", "return_code": None, "stdout": "", "stderr": ""}
        run["execution_time"] = time.monotonic() - t0
    ok = run["status"] == "Finished" and run["return_code"] == 0
    return {"status": "Success" if ok else "Failed", "message": "", "compile_result": None, "run_result": run,
            "executor_pod_name": None, "files": {}}


@pytest.fixture(scope="module")
def service():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def base(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def grade(service, response, gt, path="/run_code", **kw):
    kw.setdefault("per_test_timeout", 5.0)
    return compute_code_score("code", response, gt, backend="sandbox_fusion",
                              sandbox_fusion_url=base(service) + path, **kw)


SUM = "a, b = map(int, input().split())\nprint(a + b)"
SUM_GT = stdin_gt(("1 2\n", "3\n"), ("10 -4", "6"))
TWO_SUM = ("class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n"
           "        seen = {}\n        for i, x in enumerate(nums):\n            if target - x in seen:\n"
           "                return [seen[target - x], i]\n            seen[x] = i\n")
TWO_SUM_GT = {"tests": [{"input": "[2, 7, 11, 15]\n9\n", "output": "[0, 1]", "testtype": "functional"},
                        {"input": "[3, 2, 4]\n6", "output": "[1, 2]", "testtype": "functional"}], "fn_name": "twoSum"}


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- grading


def test_correct_stdin_program_passes(service):
    r = grade(service, resp(SUM), json.dumps(SUM_GT))
    assert r == {"score": 1.0, "acc": True, "passed": 2, "total": 2, "failure_kind": None, "isolation": "sandbox_fusion",
                 "code_timeout": False, "sandbox_wait_s": 0.0}


def test_wrong_stdin_program_fails(service):
    r = grade(service, resp("a, b = map(int, input().split())\nprint(a - b)"), SUM_GT)
    assert r == {"score": 0.0, "acc": False, "passed": 0, "total": 2, "failure_kind": "wrong answer",
                 "isolation": "sandbox_fusion", "code_timeout": False, "sandbox_wait_s": 0.0}


def test_livecodebench_comparison_and_prelude(service):
    # Decimal equality and stripping as in the local backend; LiveCodeBench's imports (sqrt) are available
    r = grade(service, resp("print(sqrt(2.25))\nprint('  x ')"), stdin_gt(("", "1.50\nx")))
    assert r["acc"], r


def test_call_based_program_passes(service):
    r = grade(service, resp(TWO_SUM), TWO_SUM_GT)
    assert r == {"score": 1.0, "acc": True, "passed": 2, "total": 2, "failure_kind": None, "isolation": "sandbox_fusion",
                 "code_timeout": False, "sandbox_wait_s": 0.0}
    wrong = TWO_SUM.replace("[seen[target - x], i]", "[i, seen[target - x]]")
    assert grade(service, resp(wrong), TWO_SUM_GT)["failure_kind"] == "wrong answer"


def test_call_based_string_and_prints(service):
    code = "class Solution:\n    def f(self, s, k):\n        print('debug')\n        return s * k\n"
    gt = {"tests": [{"input": '"ab"\n2', "output": '"abab"', "testtype": "functional"},
                    {"input": '"x"\n0', "output": '""', "testtype": "functional"}], "fn_name": "f"}
    assert grade(service, resp(code), gt)["passed"] == 0  # a str result must be the whole printed text
    code = "class Solution:\n    def f(self, s, k):\n        return s * k\n"
    assert grade(service, resp(code), gt)["acc"]
    code = "class Solution:\n    def f(self, n):\n        print('debug')\n        return (n, [n])\n"
    assert grade(service, resp(code), {"inputs": [[3]], "outputs": [[3, [3]]], "fn_name": "f"})["acc"]


def test_failure_kinds(service):
    assert grade(service, resp("print(1/0)"), stdin_gt(("", "1")))["failure_kind"] == "runtime error"
    code = "class Solution:\n    def f(self, x):\n        return x[10]\n"
    assert grade(service, resp(code), {"inputs": [[[1]]], "outputs": [1], "fn_name": "f"})["failure_kind"] == "runtime error"
    assert grade(service, resp("def g(x):\n    return x"), {"inputs": [[1]], "outputs": [1], "fn_name": "f"})["failure_kind"] \
        == "runtime error"  # no function f: verl's wrapper reports it on stderr
    n = len(service.requests)
    r = grade(service, resp("print(1"), SUM_GT)
    assert r["failure_kind"] == "compile error" and r["total"] == 2 and len(service.requests) == n  # no request
    t0 = time.monotonic()
    r = grade(service, resp("while True:\n    pass"), stdin_gt(("", "1")), per_test_timeout=1.0)
    assert r["failure_kind"] == "timeout" and time.monotonic() - t0 < 8
    assert grade(service, "no code here", SUM_GT)["failure_kind"] == "no code"


def test_request_carries_the_extracted_program(service):
    program = "x = int(input())\nprint(x * 2)  # MARK-PROGRAM"
    response = ("<think>draft:\n```python\nprint('MARK-DRAFT')\n```\n</think>\nMARK-PROSE Final answer:\n"
                f"```py\n{program}\n```\nMARK-AFTER")
    n = len(service.requests)
    r = grade(service, response, stdin_gt(("21", "42")), memory_limit_mb=512, per_test_timeout=3.0)
    assert r["acc"], r
    (path, req), = service.requests[n:]
    assert path == "/run_code" and program in req["code"]
    assert not any(m in req["code"] for m in ("MARK-DRAFT", "MARK-PROSE", "MARK-AFTER", "</think>", "```"))
    assert req["stdin"] == "21" and req["memory_limit_MB"] == 512 and req["run_timeout"] == 3.0
    assert "42" not in json.dumps(req)  # expected outputs never leave the grader


def test_program_containing_a_fence(service):
    # verl's own extraction would cut this program at the fence inside the string
    r = grade(service, resp("s = '```'\nprint(len(s))"), stdin_gt(("", "3")))
    assert r["acc"], r


def test_future_import(service):
    # the prelude (stdin) and verl's call wrapper (call-based) both go before the program
    code = "from __future__ import annotations\nprint(gcd(12, 18))"
    assert grade(service, resp(code), stdin_gt(("", "6")))["acc"]
    code = "from __future__ import annotations\nclass Solution:\n    def f(self, x: int) -> Optional[int]:\n        return x + 1\n"
    assert grade(service, resp(code), {"inputs": [[1]], "outputs": [2], "fn_name": "f"})["acc"]


def test_assert_ground_truth(service):
    gt = {"functional": "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(2) == 4\n",
          "fn_name": "f"}
    with pytest.raises(ValueError, match="sandbox_fusion_allow_asserts"):
        grade(service, resp("def f(x):\n    return 2 * x"), gt)
    assert grade(service, resp("def f(x):\n    return 2 * x"), gt, sandbox_fusion_allow_asserts=True)["acc"]
    r = grade(service, resp("def f(x):\n    return x + 1"), gt, sandbox_fusion_allow_asserts=True)
    assert r["failure_kind"] == "wrong answer"
    r = grade(service, resp("import sys\ndef f(x):\n    return 0\nsys.exit(0)"), gt, sandbox_fusion_allow_asserts=True)
    assert not r["acc"] and r["failure_kind"] == "wrong answer"


def test_batch(service):
    rs = compute_code_score_batch(["code"] * 3, [resp(SUM), resp("print(0)"), "nothing"], [SUM_GT] * 3,
                                  backend="sandbox_fusion", sandbox_fusion_url=base(service) + "/run_code")
    assert [r["failure_kind"] for r in rs] == [None, "wrong answer", "no code"]


# --------------------------------------------------------------------------- configuration and service failures


def test_missing_url_raises_naming_the_key():
    for kw in ({}, {"sandbox_fusion_url": ""}):
        with pytest.raises(ValueError, match="sandbox_fusion_url"):
            compute_code_score("code", resp(SUM), SUM_GT, backend="sandbox_fusion", **kw)
    with pytest.raises(ValueError, match="sandbox_fusion_url"):
        compute_code_score("code", resp(SUM), SUM_GT, backend="sandbox_fusion", sandbox_fusion_url="127.0.0.1:1/run_code")
    with pytest.raises(ValueError, match="backend"):
        compute_code_score("code", resp(SUM), SUM_GT, backend="remote")


def test_unreachable_service_raises_naming_the_url():
    url = f"http://127.0.0.1:{closed_port()}/run_code"
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=f"SandboxFusion service at {url}.*2 of 2 tests"):
        compute_code_score("code", resp(SUM), SUM_GT, backend="sandbox_fusion", sandbox_fusion_url=url)
    assert time.monotonic() - t0 < 5  # connection refused is not retried by verl


@pytest.mark.parametrize("path, why", [("/broken", "500"), ("/sandbox_error", "sandbox_error"), ("/nope", "404")])
def test_service_errors_raise(service, path, why):
    with pytest.raises(RuntimeError, match=why) as e:
        grade(service, resp(SUM), SUM_GT, path=path)
    assert base(service) + path in str(e.value)


def test_gateway_timeout_is_retried_then_raises(service, monkeypatch):
    from verl.utils.reward_score.sandbox_fusion import utils as verl_sf

    monkeypatch.setattr(verl_sf, "INITIAL_RETRY_DELAY", 0)  # verl sleeps 1 s, then 2 s between its 3 attempts
    n = len(service.requests)
    with pytest.raises(RuntimeError, match="504"):
        grade(service, resp(SUM), stdin_gt(("1 2", "3")), path="/gateway_timeout")
    assert len(service.requests) - n == verl_sf.MAX_RETRIES == 3
