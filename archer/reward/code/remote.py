"""Remote code grading on a SandboxFusion service through verl's client (``backend="sandbox_fusion"``).

``grader.compute_code_score`` calls ``check_config`` / ``check_tests`` before extracting the program and
``run_remote`` after; see docs/reward_code.md ("Remote backend: SandboxFusion").

What goes over the wire: the program we extracted (``code_extract.extract_code``), fenced as
```` ```python ```` for verl's ``compute_score``, plus the test **inputs**. Expected outputs are never sent
(verl is given ``None`` as every expected output, which it counts as "ran to completion"); the outputs
are compared here with the local backend's rules (``stdout_matches`` / ``call_result_matches``), so both
backends agree on what a correct answer is.

Errors of the service itself (connection refused, HTTP errors after verl's retries, ``SandboxError``,
responses verl cannot classify) raise ``RuntimeError`` naming the URL: a batch is never silently scored 0.
"""

from __future__ import annotations

import ast
import json
import logging
import re
import secrets
import threading
import urllib.parse
from typing import Any

from archer.reward.code.compare import call_result_matches, stdout_matches
from archer.reward.code.testcases import CodeTests

logger = logging.getLogger(__name__)

__all__ = ["ISOLATION", "check_config", "check_tests", "run_remote", "STATUS_TO_KIND"]

ISOLATION = "sandbox_fusion"

# verl's per-test metadata["status"] -> our failure kind ("success" is judged here from the stdout).
STATUS_TO_KIND = {
    "wrong_answer": "wrong answer",  # not produced: verl never sees an expected output
    "compile_error": "compile error",
    "compile_timeout": "compile error",
    "compile_error_skipped": "compile error",
    "runtime_error": "runtime error",  # assert mode: an AssertionError is "wrong answer"
    "timeout": "timeout",
    "unknown_failure": "runtime error",  # the service said Failed with a run result verl cannot classify
    "unknown_failure_state": "runtime error",  # Failed without compile or run result
}
# every other status (api_error, sandbox_error, internal_error, unknown_api_state, unexpected_success_state,
# unknown_api_status_*, or no status at all) is a failure of the service: RuntimeError

_SEMAPHORES: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_SEMAPHORES_LOCK = threading.Lock()
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # Python's own line ends (str.splitlines knows more)


def _semaphore(url: str, n: int) -> threading.BoundedSemaphore:
    """One semaphore per (service URL, limit) in this process: at most ``n`` requests in flight to it."""
    with _SEMAPHORES_LOCK:
        sem = _SEMAPHORES.get((url, n))
        if sem is None:
            sem = _SEMAPHORES[(url, n)] = threading.BoundedSemaphore(n)
        return sem


def check_config(cfg: Any) -> str:
    """Validate the remote knobs of a ``CodeRewardConfig``; return the URL. ValueError names the key."""
    url = cfg.sandbox_fusion_url
    if not isinstance(url, str) or not url.strip():
        raise ValueError("backend='sandbox_fusion' needs sandbox_fusion_url: the URL of the service's /run_code "
                         "endpoint, e.g. sandbox_fusion_url='http://127.0.0.1:8080/run_code'")
    url = url.strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"sandbox_fusion_url must be an http(s) URL such as http://host:8080/run_code, got {url!r}")
    if not isinstance(cfg.sandbox_fusion_max_concurrent, int) or cfg.sandbox_fusion_max_concurrent < 1:
        raise ValueError(f"sandbox_fusion_max_concurrent must be an int >= 1, got {cfg.sandbox_fusion_max_concurrent!r}")
    if not cfg.per_test_timeout > 0:
        raise ValueError(f"per_test_timeout must be > 0, got {cfg.per_test_timeout!r}")
    if not (isinstance(cfg.memory_limit_mb, int) and cfg.memory_limit_mb > 0):
        raise ValueError(f"memory_limit_mb must be an int > 0, got {cfg.memory_limit_mb!r}")
    return url


def check_tests(tests: CodeTests, cfg: Any) -> None:
    """ValueError for ground truth the remote backend does not grade (before anything runs)."""
    if tests.mode == "assert" and not cfg.sandbox_fusion_allow_asserts:
        raise ValueError(
            "backend='sandbox_fusion' does not grade assert-style ground truth ({'functional': <assert code>}) "
            "by default: remotely the asserts run in the program's own process, so exit(0) tricks are caught but "
            "always-equal objects, monkeypatched builtins or a program reading its own source are not. Set "
            "sandbox_fusion_allow_asserts=True to accept that, or use backend='local'")


# --------------------------------------------------------------------------- building the request


def _compiles(code: str) -> ast.Module | None:
    """The program's AST when it compiles (as the local harness checks it), else None. Nothing runs."""
    try:
        tree = ast.parse(code, "<solution>")
        compile(tree, "<solution>", "exec")
        return tree
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError, OverflowError):
        return None


def _split_future(code: str, tree: ast.Module) -> tuple[str, str]:
    """(head, rest): ``head`` the lines up to the last leading ``from __future__`` import (with the module
    docstring before it), ``rest`` the remainder; ``("", code)`` when there is none, or when another
    statement shares the import's last line."""
    body = tree.body
    start = 1 if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
        and isinstance(body[0].value.value, str) else 0
    last, following = 0, None
    for node in body[start:]:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            last = node.end_lineno or node.lineno
        else:
            following = node
            break
    if not last or (following is not None and following.lineno <= last):
        return "", code
    pieces, ends = _LINE_BREAK.split(code), _LINE_BREAK.findall(code)
    if last > len(ends):  # the import is on the last line, without a line end
        return code + "\n", ""
    head = "".join(p + e for p, e in zip(pieces[:last], ends[:last]))
    return head, code[len(head):]


def _with_prelude(code: str, tree: ast.Module) -> str:
    """LiveCodeBench's imports (the local harness's PRELUDE) before the program, after its ``__future__``
    imports (which must stay first)."""
    from archer.reward.code.harness import PRELUDE

    head, rest = _split_future(code, tree)
    return head + PRELUDE + rest


def _without_future(code: str, tree: ast.Module) -> str:
    """verl's call wrapper puts its imports before the program, where a ``__future__`` import is a
    SyntaxError: blank those lines out (line numbers kept; annotations are then evaluated normally)."""
    head, rest = _split_future(code, tree)
    return "\n" * len(_LINE_BREAK.findall(head)) + rest


def _request(code: str, tree: ast.Module, tests: CodeTests) -> tuple[str, dict, str | None]:
    """(program to send, verl's ``test_cases`` dict, end marker of assert mode)."""
    n = len(tests.tests)
    if tests.mode == "stdin":
        return _with_prelude(code, tree), {"inputs": [t.input for t in tests.tests], "outputs": [None] * n}, None
    if tests.mode == "call":
        # verl's wrapper json.loads every '\n'-separated line of stdin, so blank lines (a trailing newline) go
        inputs = ["\n".join(ln for ln in _LINE_BREAK.split(t.input) if ln.strip()) for t in tests.tests]
        return _without_future(code, tree), {"inputs": inputs, "outputs": [None] * n, "fn_name": tests.fn_name}, None
    # assert mode: verl appends assert_case[i] to the program; the marker proves the asserts all ran
    marker = f"ARCHER-SF-END-{secrets.token_hex(16)}"
    asserts = tests.assert_code.rstrip() + f"\n\nprint({marker!r})\n"
    return _with_prelude(code, tree), {"inputs": [""], "outputs": [None], "assert_case": [asserts]}, marker


def _call_verl(url: str, program: str, test_cases: dict, cfg: Any) -> list:
    from verl.utils.reward_score import sandbox_fusion as vsf

    sem = _semaphore(url, cfg.sandbox_fusion_max_concurrent)
    if "```" not in program:
        # verl's compute_score takes the text between the last ```python and the next ```: exactly our program
        completion = f"```python\n{program}\n```"
        _, meta = vsf.compute_score(url, sem, cfg.memory_limit_mb, completion, test_cases, continuous=False,
                                    timeout=cfg.per_test_timeout)
    else:
        # a fence inside the program (in a string) would cut verl's extraction short: hand it the program as is
        _, meta = vsf.check_correctness(url, test_cases, program, timeout=cfg.per_test_timeout,
                                        memory_limit_mb=cfg.memory_limit_mb, concurrent_semaphore=sem)
    return meta


# --------------------------------------------------------------------------- judging verl's metadata


def _service_error(meta: Any) -> str:
    if not isinstance(meta, dict):
        return f"unexpected metadata {meta!r:.200}"
    detail = meta.get("api_request_error") or meta.get("error")
    resp = meta.get("api_response")
    if not detail and isinstance(resp, dict):
        detail = resp.get("message") or f"api status {resp.get('status')!r}"
    return f"{meta.get('status', 'no status')}: {detail or 'no detail'}"[:500]


def _call_output_matches(stdout: str, expected_json: str) -> bool:
    """verl's wrapper prints ``json.dumps(result)`` for None/bool/list/tuple/dict and ``str(result)`` for
    int/float/str. An expected string must equal the whole printed text; any other expected value must
    equal the JSON on the last printed line (earlier lines are the function's own prints)."""
    out = stdout[:-1] if stdout.endswith("\n") else stdout
    try:
        expected = json.loads(expected_json)
    except ValueError:
        return False
    if isinstance(expected, str):
        return out == expected
    return call_result_matches(out.rsplit("\n", 1)[-1], expected_json)


def _assertion_failed(stderr: Any) -> bool:
    lines = [ln for ln in str(stderr or "").strip().splitlines() if ln.strip()]
    return bool(lines) and (lines[-1].startswith("AssertionError"))


class _ServiceFailure(Exception):
    pass


def _judge(meta: Any, tests: CodeTests, i: int, marker: str | None) -> str | None:
    """Failure kind of test ``i`` from verl's metadata, or None when it passed; _ServiceFailure when the
    service, not the program, failed."""
    if not isinstance(meta, dict) or (meta.get("status") not in STATUS_TO_KIND and meta.get("status") != "success"):
        raise _ServiceFailure(_service_error(meta))
    status = meta.get("status")
    if status == "success":
        stdout = meta.get("stdout") or ""
        if tests.mode == "stdin":
            return None if stdout_matches(stdout, tests.tests[i].output) else "wrong answer"
        if tests.mode == "call":
            if not stdout:
                # verl's wrapper reports a missing function or an exception on stderr and exits 0
                return "runtime error"
            return None if _call_output_matches(stdout, tests.tests[i].output) else "wrong answer"
        lines = [ln.strip() for ln in stdout.splitlines() if ln.strip()]
        return None if lines and lines[-1] == marker else "wrong answer"
    if status == "runtime_error" and tests.mode == "assert" and _assertion_failed(meta.get("stderr")):
        return "wrong answer"
    if status in ("unknown_failure", "unknown_failure_state"):
        logger.warning("sandbox_fusion: unclassified failure of test %d counted as runtime error (run_status=%r, "
                       "exit_code=%r)", i, meta.get("run_status"), meta.get("exit_code"))
    return STATUS_TO_KIND[status]


def run_remote(code: str, tests: CodeTests, cfg: Any) -> tuple[int, str | None]:
    """Grade ``code`` on the service: (tests passed, first failing test's kind or None).

    A program that does not compile is a "compile error" without a request. RuntimeError when the service
    fails for any test (after verl's own retries: 3 attempts on HTTP 504, none on other errors)."""
    url = check_config(cfg)
    tree = _compiles(code)
    if tree is None:
        return 0, "compile error"
    program, test_cases, marker = _request(code, tree, tests)
    n = len(test_cases["inputs"])
    metas = _call_verl(url, program, test_cases, cfg)
    if not isinstance(metas, list) or len(metas) != n:
        first = metas[0] if isinstance(metas, list) and metas else metas
        raise RuntimeError(f"SandboxFusion at {url}: verl's client returned {len(metas) if isinstance(metas, list) else 0} "
                           f"results for {n} tests ({_service_error(first)})")
    kinds: list[str | None] = []
    failed: list[tuple[int, str]] = []
    for i, meta in enumerate(metas):
        try:
            kinds.append(_judge(meta, tests, i, marker))
        except _ServiceFailure as e:
            failed.append((i, str(e)))
    if failed:
        i, why = failed[0]
        raise RuntimeError(f"SandboxFusion service at {url} failed on {len(failed)} of {n} tests of this program "
                           f"(first: test {i}, {why}); not scoring it")
    passed = sum(k is None for k in kinds)
    first_kind = next((k for k in kinds if k is not None), None)
    return passed, first_kind
