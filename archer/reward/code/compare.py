"""Output comparison rules of the code reward, shared by the local sandbox backend (grader.py) and the
SandboxFusion backend (remote.py): stdin/stdout tests by LiveCodeBench's line rule, call-based tests by
equality of JSON values."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

__all__ = ["stdout_matches", "call_result_matches"]


def _stripped_lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.strip().split("\n")]


def _decimals(line: str) -> list[Decimal] | None:
    try:
        return [Decimal(tok) for tok in line.split()]
    except (InvalidOperation, ValueError):
        return None


def stdout_matches(got: str, expected: str) -> bool:
    """LiveCodeBench's rule: same number of lines after stripping the whole text; each pair of stripped
    lines equal, or both parse as whitespace-separated numbers with equal ``Decimal`` values (so ``1.50``
    matches ``1.5`` and ``3`` matches ``3.0``, but there is no approximate tolerance)."""
    a, b = _stripped_lines(got), _stripped_lines(expected)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x == y:
            continue
        dx, dy = _decimals(x), _decimals(y)
        if dx is None or dy is None or dx != dy:
            return False
    return True


def call_result_matches(got_json: str, expected_json: str) -> bool:
    """Both sides parsed from JSON here, so only plain values are compared (tuples arrive as lists)."""
    try:
        return json.loads(got_json) == json.loads(expected_json)
    except ValueError:
        return False
