"""Code reward: grade a model's program against hidden tests in a sandbox (see docs/reward_code.md).

    from archer.reward.code.grader import compute_code_score
    compute_code_score("livecodebench", response, ground_truth, extra_info)
    -> {"score": 1.0, "acc": True, "passed": 3, "total": 3, "failure_kind": None, "isolation": "bwrap"}

All tests of one program run in ONE sandboxed harness process (archer/reward/code/harness.py), which
forks a fresh child per test and enforces the per-test timeout; the grader enforces a wall-clock deadline
for the whole program and compares outputs here, outside the sandbox. Concurrency across programs is
bounded node-wide, over every grading process, by the slot budget of archer/reward/code/slots.py (the
CPUs, or ``ARCHER_CODE_WORKERS``); ``compute_code_score_batch`` fills it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from archer.reward.code import sandbox as sb
from archer.reward.code.compare import call_result_matches, stdout_matches
from archer.reward.code.extract import extract_code
from archer.reward.code.testcases import CodeTests, parse_ground_truth

logger = logging.getLogger(__name__)

__all__ = ["CodeRewardConfig", "compute_code_score", "compute_code_score_batch", "FAILURE_KINDS"]

FAILURE_KINDS = ("wrong answer", "runtime error", "timeout", "compile error", "no code")
HARNESS_HOST = str(Path(__file__).with_name("harness.py"))
HARNESS_INSIDE = "/opt/archer/harness.py"
END_MARKER = "ARCHER-END-OF-TESTS-v1"  # must equal harness.END_MARKER
_SITE_PATHS = [p for p in sys.path if p.endswith(("site-packages", "dist-packages")) and os.path.isdir(p)]


@dataclasses.dataclass(frozen=True)
class CodeRewardConfig:
    """Knobs of the code reward (all can be passed as keyword arguments of ``compute_code_score``)."""

    per_test_timeout: float = 6.0  # LiveCodeBench's default per-test timeout (seconds, wall clock)
    program_timeout: float | None = None  # whole program; None: tests * (per_test_timeout + 0.5) + 5
    max_tests: int | None = None  # grade a deterministic subset of at most this many tests
    memory_limit_mb: int = 4096  # RLIMIT_AS
    max_processes: int = 64  # RLIMIT_NPROC (processes + threads)
    max_output_bytes: int = 1 << 20  # per test and stream
    isolation: str = "auto"  # "auto" | "bwrap" | "unshare" | "none"
    allow_unsandboxed: bool = False
    pass_score: float = 1.0
    fail_score: float = 0.0
    fail_fast: bool = True  # stop at the first test that errors or times out (the score is 0 anyway)
    sandbox_uid_base: int = sb.DEFAULT_UID_BASE  # as root, node-wide slot k runs as uid base + k
    backend: str = "local"  # "local" (this sandbox) or "sandbox_fusion" (remote service, archer/reward/code/remote.py)
    # backend="sandbox_fusion" only (per_test_timeout, memory_limit_mb and max_tests apply to it as well):
    sandbox_fusion_url: str | None = None  # the service's /run_code endpoint, e.g. http://host:8080/run_code
    sandbox_fusion_max_concurrent: int = 64  # requests in flight to that URL from this process (one semaphore)
    sandbox_fusion_allow_asserts: bool = False  # grade {"functional": <asserts>} remotely, with weaker guarantees

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> "CodeRewardConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in kwargs.items() if k in names})


@dataclasses.dataclass
class ProgramRun:
    """What running one program found: tests passed, the first failure's kind (None: all passed), the
    isolation level, whether any test (or the whole program) hit its wall-clock limit, and how long the
    program waited for a node-wide sandbox slot. The last two tell load from bad code."""

    passed: int
    kind: str | None
    isolation: str = ""
    timed_out: bool = False
    slot_wait_s: float = 0.0


def _result(cfg: CodeRewardConfig, total: int, run: ProgramRun) -> dict:
    ok = run.kind is None and total > 0 and run.passed == total
    return {
        "score": float(cfg.pass_score if ok else cfg.fail_score),
        "acc": bool(ok),
        "passed": int(run.passed),
        "total": int(total),
        "failure_kind": None if ok else (run.kind or "wrong answer"),
        "isolation": run.isolation or "",
        "code_timeout": bool(run.timed_out),
        "sandbox_wait_s": float(run.slot_wait_s),
    }


# --------------------------------------------------------------------------- running


def _parse_events(stdout: bytes) -> list[dict]:
    events = []
    for line in stdout.decode("utf-8", "replace").splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if isinstance(ev, dict):
            events.append(ev)
    return events


def _run_program(code: str, tests: CodeTests, cfg: CodeRewardConfig) -> ProgramRun:
    n = len(tests.tests) if tests.mode != "assert" else 1
    per_test = cfg.per_test_timeout
    deadline = cfg.program_timeout if cfg.program_timeout is not None else n * (per_test + 0.5) + 5.0
    header = {
        "mode": tests.mode,
        "code": code,
        "fn_name": tests.fn_name,
        "inputs": [t.input for t in tests.tests],
        "timeout": per_test,
        "max_output": cfg.max_output_bytes,
        "fail_fast": cfg.fail_fast,
        # the harness starts with -S (site processing costs ~10 ms a program): site-packages added by hand
        "sys_path": _SITE_PATHS,
    }
    blob = json.dumps(header).encode()
    stdin = str(len(blob)).encode() + b"\n" + blob
    if tests.mode == "assert":
        stdin += tests.assert_code.encode()
    scfg = sb.SandboxConfig(
        isolation=cfg.isolation,
        allow_unsandboxed=cfg.allow_unsandboxed,
        wall_timeout=deadline,
        cpu_seconds=int(math.ceil(deadline)) + 1,
        address_space_bytes=cfg.memory_limit_mb << 20,
        max_processes=cfg.max_processes,
        sandbox_uid_base=cfg.sandbox_uid_base,
        # the harness reports each test's output inside its JSON lines
        stdout_limit=n * (cfg.max_output_bytes * 2 + 8192) + 65536,
        stderr_limit=65536,
    )
    res = sb.run_sandboxed([sys.executable, "-I", "-S", "-X", "utf8", HARNESS_INSIDE], stdin, scfg, ro_files={HARNESS_HOST: HARNESS_INSIDE})
    events = _parse_events(res.stdout)
    compiled = next((e for e in events if e.get("event") == "compile"), None)
    if compiled is not None and not compiled.get("ok"):
        return ProgramRun(0, "compile error", res.isolation, res.timed_out, res.slot_wait_seconds)
    finished = any(e.get("event") == "end" and e.get("marker") == END_MARKER for e in events)
    by_index: dict[int, dict] = {}
    for e in events:
        if e.get("event") == "test" and isinstance(e.get("i"), int) and e["i"] not in by_index:
            by_index[e["i"]] = e
    passed, first_kind = 0, None
    any_timeout = res.timed_out or any(e.get("status") == "timeout" for e in by_index.values())
    for i in range(n):
        e = by_index.get(i)
        if e is None:
            kind = "timeout" if res.timed_out else "runtime error"
        else:
            kind = _judge(e, tests, i)
        if kind is None:
            passed += 1
        elif first_kind is None:
            first_kind = kind
    if first_kind is None and not finished:
        # every test reported but the harness never reached its end marker: do not trust the report
        first_kind = "timeout" if res.timed_out else "runtime error"
        passed = min(passed, n - 1)
    if compiled is None and first_kind is None:
        first_kind = "runtime error"
    if res.stderr and first_kind is not None and not events:
        logger.debug("code harness stderr: %s", res.stderr[-2000:].decode("utf-8", "replace"))
    return ProgramRun(passed, first_kind, res.isolation, any_timeout, res.slot_wait_seconds)


def _judge(e: dict, tests: CodeTests, i: int) -> str | None:
    status = e.get("status")
    if status == "timeout":
        return "timeout"
    if status in ("error", "output_limit"):
        return "runtime error"
    if tests.mode == "assert":
        return None if status == "ok" else "wrong answer"
    if status != "ok":
        return "runtime error"
    out = e.get("out")
    if not isinstance(out, str):
        return "runtime error"
    expected = tests.tests[i].output
    ok = stdout_matches(out, expected) if tests.mode == "stdin" else call_result_matches(out, expected)
    return None if ok else "wrong answer"


def compute_code_score(
    data_source: Any,
    solution_str: Any,
    ground_truth: Any,
    extra_info: dict | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Grade one response. Returns ``score`` (``pass_score`` if every test passes, else ``fail_score``),
    ``acc``, ``passed`` / ``total`` tests, ``failure_kind`` (None or one of ``FAILURE_KINDS``; the first
    failing test's), ``isolation`` (the sandbox level used, "" when nothing ran), ``code_timeout`` (some
    test or the whole program hit its wall-clock limit) and ``sandbox_wait_s`` (seconds the program
    waited for a node-wide sandbox slot).

    ``kwargs``: any field of ``CodeRewardConfig``; unknown keys are ignored (the dispatcher passes the
    same reward kwargs to every grader). Malformed ``ground_truth`` raises ValueError; no usable sandbox
    raises ``SandboxUnavailableError`` unless ``allow_unsandboxed=True``. With ``backend="sandbox_fusion"``
    a missing ``sandbox_fusion_url`` raises ValueError and a failing service RuntimeError (naming the URL).
    """
    cfg = kwargs.pop("config", None) or CodeRewardConfig.from_kwargs(kwargs)
    if cfg.backend not in ("local", "sandbox_fusion"):
        raise ValueError(f"backend must be 'local' or 'sandbox_fusion', got {cfg.backend!r}")
    remote = None
    if cfg.backend == "sandbox_fusion":
        from archer.reward.code import remote

        remote.check_config(cfg)  # ValueError naming sandbox_fusion_url, before anything else
    tests = parse_ground_truth(ground_truth, extra_info).subset(cfg.max_tests)
    if remote is not None:
        remote.check_tests(tests, cfg)
    code = extract_code(solution_str)
    if code is None:
        return _result(cfg, tests.total, ProgramRun(0, "no code"))
    if remote is not None:
        passed, kind = remote.run_remote(code, tests, cfg)  # RuntimeError when the service fails
        # the service reports only the first failing test's kind here: a timeout after it goes unseen
        return _result(cfg, tests.total, ProgramRun(passed, kind, remote.ISOLATION, kind == "timeout"))
    return _result(cfg, tests.total, _run_program(code, tests, cfg))


def compute_code_score_batch(
    data_sources: list,
    solution_strs: list,
    ground_truths: list,
    extra_infos: list | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """``compute_code_score`` over a batch, up to ``pool_size()`` programs at a time from this process
    (fewer when other grading processes hold node-wide slots); results in input order.
    A malformed ground truth raises ValueError for the whole batch."""
    extra_infos = extra_infos if extra_infos is not None else [None] * len(solution_strs)
    workers = sb.pool_size()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="code-reward") as ex:
        futs = [ex.submit(compute_code_score, d, s, g, e, **kwargs)
                for d, s, g, e in zip(data_sources, solution_strs, ground_truths, extra_infos)]
        return [f.result() for f in futs]
