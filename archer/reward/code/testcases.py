"""Ground truth of a code problem: parse every accepted form into one ``CodeTests``.

Canonical form (what data preparation writes), a JSON string or a dict::

    {"tests": [{"input": str, "output": str, "testtype": "stdin" | "functional"}], "fn_name": str}

``fn_name`` is required when the tests are functional: the method of ``class Solution`` (or a top-level
function of that name); a functional input holds one JSON value per line, one line per argument, and
its output is one JSON value (LiveCodeBench's layout). Also accepted:

* ``{"inputs": [...], "outputs": [...]}`` (Archer2.0 / DeepCoder / APPS / TACO): stdin tests, or call-based
  with ``fn_name`` — then an input may also be a list of arguments and an output any JSON value;
* ``{"functional": "<assert code>"}`` (DeepCoder / HumanEval+): assert statements run against the
  program's functions; if the code defines ``check`` without calling it, ``check(<fn_name>)`` is added
  (``fn_name`` from the ground truth or ``extra_info["entry_point"|"fn_name"]``);
* LiveCodeBench's list of tests ``[{"input", "output", "testtype", "metadata": {"func_name"}}]``; without
  metadata the method name is parsed from ``extra_info["starter_code"]``.

Anything else raises ``ValueError`` saying what is wrong.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import re
from typing import Any

__all__ = ["Test", "CodeTests", "parse_ground_truth", "fn_name_from_starter", "metadata_func_name"]


@dataclasses.dataclass(frozen=True)
class Test:
    input: str
    output: str
    testtype: str  # "stdin" | "functional"


@dataclasses.dataclass(frozen=True)
class CodeTests:
    mode: str  # "stdin" | "call" | "assert"
    tests: tuple[Test, ...] = ()
    fn_name: str | None = None
    assert_code: str | None = None

    @property
    def total(self) -> int:
        return 1 if self.mode == "assert" else len(self.tests)

    def key(self) -> str:
        """Stable digest of the problem (seeds the test subset)."""
        blob = json.dumps([self.mode, self.fn_name, self.assert_code, [dataclasses.astuple(t) for t in self.tests]])
        return hashlib.sha256(blob.encode()).hexdigest()

    def subset(self, max_tests: int | None) -> "CodeTests":
        """At most ``max_tests`` tests, the same ones every time for this problem (order kept)."""
        if max_tests is None or self.mode == "assert" or len(self.tests) <= max_tests:
            return self
        if max_tests < 1:
            raise ValueError(f"max_tests must be >= 1, got {max_tests}")
        rng = random.Random(int(self.key()[:16], 16))
        keep = sorted(rng.sample(range(len(self.tests)), max_tests))
        return dataclasses.replace(self, tests=tuple(self.tests[i] for i in keep))


_STARTER_RE = re.compile(r"class\s+Solution\b.*?\bdef\s+([A-Za-z_]\w*)\s*\(\s*self", re.S)
_DEF_RE = re.compile(r"^def\s+([A-Za-z_]\w*)\s*\(", re.M)


def fn_name_from_starter(starter_code: str) -> str | None:
    """Method name of ``class Solution`` in LeetCode starter code (first method), else first function."""
    if not isinstance(starter_code, str) or not starter_code.strip():
        return None
    m = _STARTER_RE.search(starter_code) or _DEF_RE.search(starter_code)
    return m.group(1) if m else None


def _extra_fn_name(extra_info: Any) -> str | None:
    if not isinstance(extra_info, dict):
        return None
    for key in ("fn_name", "func_name", "entry_point"):
        v = extra_info.get(key)
        if isinstance(v, str) and v.strip():
            return v.strip()
    return fn_name_from_starter(extra_info.get("starter_code") or "")


def _check_fn_name(name: Any, where: str) -> str:
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"code ground truth: {where} fn_name must be a Python identifier, got {name!r}")
    return name


def _as_text(v: Any, what: str, i: int) -> str:
    if not isinstance(v, str):
        raise ValueError(f"code ground truth: test {i} {what} must be a string, got {type(v).__name__}")
    return v


def _validate_functional(t: Test, i: int) -> None:
    lines = [ln for ln in t.input.split("\n") if ln.strip()]
    for ln in lines:
        try:
            json.loads(ln)
        except ValueError:
            raise ValueError(f"code ground truth: functional test {i} input line {ln[:80]!r} is not JSON") from None
    try:
        json.loads(t.output)
    except ValueError:
        raise ValueError(f"code ground truth: functional test {i} output {t.output[:80]!r} is not JSON") from None


def metadata_func_name(meta: Any) -> Any:
    """``func_name`` of LiveCodeBench's ``metadata`` (a dict or its JSON text); None when absent or unreadable."""
    if isinstance(meta, str):
        try:
            meta = json.loads(meta) if meta.strip() else {}
        except ValueError:
            return None
    return meta.get("func_name") if isinstance(meta, dict) else None


def _from_test_list(items: Any, fn_name: Any, where: str) -> CodeTests:
    if not isinstance(items, list) or not items:
        raise ValueError(f"code ground truth: {where} must be a non-empty list of tests")
    tests = []
    meta_name = None
    for i, it in enumerate(items):
        if not isinstance(it, dict):
            raise ValueError(f"code ground truth: test {i} must be an object, got {type(it).__name__}")
        missing = [k for k in ("input", "output") if k not in it]
        if missing:
            raise ValueError(f"code ground truth: test {i} lacks {missing}")
        tt = it.get("testtype", "stdin")
        if tt not in ("stdin", "functional"):
            raise ValueError(f"code ground truth: test {i} testtype must be 'stdin' or 'functional', got {tt!r}")
        name_in_metadata = metadata_func_name(it.get("metadata"))
        if name_in_metadata:
            meta_name = name_in_metadata
        tests.append(Test(_as_text(it["input"], "input", i), _as_text(it["output"], "output", i), tt))
    types = {t.testtype for t in tests}
    if len(types) > 1:
        raise ValueError("code ground truth: mixes stdin and functional tests in one problem")
    if types == {"functional"}:
        name = fn_name or meta_name
        if name is None:
            raise ValueError("code ground truth: functional tests need fn_name (or extra_info starter_code)")
        name = _check_fn_name(name, where)
        for i, t in enumerate(tests):
            _validate_functional(t, i)
        return CodeTests("call", tuple(tests), name)
    return CodeTests("stdin", tuple(tests), None)


def _from_inputs_outputs(d: dict, fn_name: Any) -> CodeTests:
    ins, outs = d["inputs"], d["outputs"]
    if not isinstance(ins, list) or not isinstance(outs, list):
        raise ValueError("code ground truth: 'inputs' and 'outputs' must be lists")
    if len(ins) != len(outs):
        raise ValueError(f"code ground truth: {len(ins)} inputs but {len(outs)} outputs")
    if not ins:
        raise ValueError("code ground truth: no tests ('inputs' is empty)")
    name = d.get("fn_name") or fn_name
    if not name:
        tests = []
        for i, (a, b) in enumerate(zip(ins, outs)):
            if isinstance(a, list):
                a = "\n".join(map(str, a))
            if isinstance(b, list):
                b = "\n".join(map(str, b))
            tests.append(Test(_as_text(a, "input", i), _as_text(b, "output", i), "stdin"))
        return CodeTests("stdin", tuple(tests), None)
    name = _check_fn_name(name, "'inputs'/'outputs'")
    tests = []
    for i, (a, b) in enumerate(zip(ins, outs)):
        if isinstance(a, list):
            a = "\n".join(json.dumps(v) for v in a)
        if not isinstance(b, str):
            b = json.dumps(b)
        t = Test(_as_text(a, "input", i), b, "functional")
        _validate_functional(t, i)
        tests.append(t)
    return CodeTests("call", tuple(tests), name)


def _from_assert(code: Any, fn_name: Any) -> CodeTests:
    if not isinstance(code, str) or not code.strip():
        raise ValueError("code ground truth: 'functional' must be a non-empty string of assert code")
    import ast

    try:
        tree = ast.parse(code)
    except SyntaxError as e:
        raise ValueError(f"code ground truth: 'functional' assert code does not parse: {e}") from None
    defines_check = any(isinstance(n, ast.FunctionDef) and n.name == "check" for n in tree.body)
    calls_check = re.search(r"^check\s*\(", code, re.M) is not None
    if defines_check and not calls_check:
        if not fn_name:
            raise ValueError("code ground truth: assert code defines check() but no fn_name/entry_point names the candidate")
        code = code.rstrip() + f"\n\ncheck({_check_fn_name(fn_name, 'functional')})\n"
    return CodeTests("assert", (), fn_name if isinstance(fn_name, str) else None, code)


def parse_ground_truth(ground_truth: Any, extra_info: dict | None = None) -> CodeTests:
    """Parse any accepted ground-truth form (JSON string, dict or list); ValueError when malformed."""
    gt = ground_truth
    if hasattr(gt, "item") and not isinstance(gt, (str, dict, list)):  # numpy scalar from a parquet column
        gt = gt.item()
    if isinstance(gt, bytes):
        gt = gt.decode("utf-8")
    if isinstance(gt, str):
        try:
            gt = json.loads(gt)
        except ValueError as e:
            raise ValueError(f"code ground truth is not valid JSON: {e}") from None
    fallback_name = _extra_fn_name(extra_info)
    if isinstance(gt, list):
        return _from_test_list(gt, fallback_name, "the LiveCodeBench test list")
    if not isinstance(gt, dict):
        raise ValueError(f"code ground truth must be a JSON object or list, got {type(gt).__name__}")
    if "tests" in gt:
        return _from_test_list(gt["tests"], gt.get("fn_name") or fallback_name, "'tests'")
    if "inputs" in gt or "outputs" in gt:
        if "inputs" not in gt or "outputs" not in gt:
            raise ValueError("code ground truth: needs both 'inputs' and 'outputs'")
        return _from_inputs_outputs(gt, fallback_name)
    if "functional" in gt:
        return _from_assert(gt["functional"], gt.get("fn_name") or fallback_name)
    raise ValueError(f"code ground truth: unknown form with keys {sorted(gt)[:10]} (expected 'tests', "
                     "'inputs'/'outputs' or 'functional')")
