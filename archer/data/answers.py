"""Answer values (str, int, float, list) of math sources as one ground-truth string."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["answer_text"]

_MATH_DELIM = re.compile(r"(?<!\\)\$")


def answer_text(v: Any) -> str | None:
    """An answer value as one string: integral floats without '.0', lists joined with ', ', unescaped `$`
    delimiters removed, zero-padded integers unpadded; None when empty."""
    if v is None:
        return None
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        parts = [p for p in (answer_text(x) for x in v) if p]
        return ", ".join(parts) if parts else None
    s = str(v).strip()
    if "$" in s:
        s = _MATH_DELIM.sub("", s).strip()  # math delimiters go; an escaped dollar sign (\$18.90) stays
    if s.isdigit() and len(s) > 1:
        s = str(int(s))  # AoPS zero padding: '025' -> '25'
    return s or None
