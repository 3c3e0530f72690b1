"""LiveCodeBench (``livecodebench/code_generation_lite``): raw jsonl files, contest-date windows, test decoding.

The hub dataset is script-based (recent ``datasets`` no longer runs loading scripts), so its raw files
``test.jsonl``, ``test2.jsonl`` ... ``test6.jsonl`` (release_v1 .. release_v6 add one file each) are
downloaded with ``huggingface_hub`` and streamed. Each row: ``question_title``, ``question_content``,
``platform``, ``question_id``, ``contest_id``, ``contest_date`` (ISO), ``starter_code``, ``difficulty``,
``public_test_cases`` (JSON string), ``private_test_cases`` (JSON string, or base64 of zlib of a pickle
of a JSON string), ``metadata`` (JSON string with ``func_name`` for call-based problems).

Private tests are decoded as LiveCodeBench stores them, but never with a plain ``pickle.loads``: the
unpickler refuses every global (so no object can be constructed) and the result must be a str/bytes.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import pickle
import zlib
from dataclasses import dataclass
from typing import Any

from archer.data.rows import RowError

__all__ = ["LCB_REPO", "LCB_FILES", "WINDOWS", "decode_private_tests", "in_window", "lcb_tests", "canonical_ground_truth"]

LCB_REPO = "livecodebench/code_generation_lite"
LCB_FILES = ("test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl", "test6.jsonl")
MAX_DECOMPRESSED = 1 << 30  # refuse private-test blobs that inflate beyond 1 GiB


@dataclass(frozen=True)
class Window:
    start: dt.date  # inclusive
    end: dt.date  # exclusive


WINDOWS = {
    "livecodebench_v5": Window(dt.date(2024, 8, 1), dt.date(2025, 2, 1)),
    "livecodebench_v6": Window(dt.date(2025, 2, 1), dt.date(2025, 5, 1)),
}


def in_window(contest_date: Any, window: Window) -> bool:
    if not isinstance(contest_date, str) or len(contest_date) < 10:
        raise RowError("malformed row", f"contest_date {contest_date!r}")
    try:
        d = dt.date.fromisoformat(contest_date[:10])
    except ValueError:
        raise RowError("malformed row", f"contest_date {contest_date!r}") from None
    return window.start <= d < window.end


class _PlainStringUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: D401 - pickle hook
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in LiveCodeBench test data")


def _safe_unpickle_text(blob: bytes) -> str:
    try:
        value = _PlainStringUnpickler(io.BytesIO(blob)).load()
    except Exception as e:
        raise RowError("unsafe private tests", f"pickle refused: {type(e).__name__}: {e}") from None
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if not isinstance(value, str):
        raise RowError("unsafe private tests", f"pickle holds a {type(value).__name__}, expected a string")
    return value


def decode_private_tests(field: Any) -> list:
    """LiveCodeBench's private test list: plain JSON, else base64 -> zlib -> (restricted) pickle -> JSON."""
    if field is None or (isinstance(field, str) and not field.strip()):
        return []
    if isinstance(field, list):
        return field
    if not isinstance(field, str):
        raise RowError("unparsable tests", f"private_test_cases is a {type(field).__name__}")
    try:
        tests = json.loads(field)
    except ValueError:
        try:
            raw = base64.b64decode(field.encode("ascii"), validate=False)
            d = zlib.decompressobj()
            blob = d.decompress(raw, MAX_DECOMPRESSED)
            if d.unconsumed_tail:
                raise RowError("unparsable tests", f"private tests inflate beyond {MAX_DECOMPRESSED} bytes")
        except RowError:
            raise
        except Exception as e:
            raise RowError("unparsable tests", f"private tests: {type(e).__name__}: {e}") from None
        text = _safe_unpickle_text(blob)
        try:
            tests = json.loads(text)
        except ValueError as e:
            raise RowError("unparsable tests", f"decoded private tests are not JSON: {e}") from None
    if not isinstance(tests, list):
        raise RowError("unparsable tests", f"private tests are a {type(tests).__name__}, expected a list")
    return tests


def _json_field(value: Any, what: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else None
        except ValueError:
            # rllm's local LCB file stores Python reprs; ast.literal_eval evaluates literals only
            import ast

            try:
                return ast.literal_eval(value)
            except (ValueError, SyntaxError):
                raise RowError("unparsable tests", f"{what} is neither JSON nor a Python literal") from None
    return value


def lcb_tests(row: dict) -> tuple[list, list]:
    """(public, private) test lists of a raw LiveCodeBench row."""
    public = _json_field(row.get("public_test_cases"), "public_test_cases") or []
    if not isinstance(public, list):
        raise RowError("unparsable tests", "public_test_cases is not a list")
    private = decode_private_tests(row.get("private_test_cases"))
    return public, private


def func_name(row: dict) -> str | None:
    from archer.reward.code.testcases import metadata_func_name

    name = metadata_func_name(row.get("metadata"))
    return name if isinstance(name, str) else None


def canonical_ground_truth(tests: list, fn_name: str | None, extra_info: dict | None = None) -> str:
    """The code grader's canonical JSON ``{"tests": [...], "fn_name": ...}`` of LiveCodeBench tests (their
    ``metadata`` dropped), through the same canonicalisation as the training rows
    (RowError "unparsable tests" when ``archer.reward.code.testcases.parse_ground_truth`` refuses)."""
    from archer.data.train_code import canonical_from_any

    items = [
        {"input": t.get("input"), "output": t.get("output"), "testtype": t.get("testtype", "stdin")}
        if isinstance(t, dict)
        else t
        for t in tests
    ]
    return canonical_from_any({"tests": items, "fn_name": fn_name}, extra_info)[0]
