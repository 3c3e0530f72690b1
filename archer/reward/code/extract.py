"""Extract the program from a model response: the last fenced Python code block after the reasoning."""

from __future__ import annotations

import re

__all__ = ["extract_code", "ACCEPTED_TAGS"]

ACCEPTED_TAGS = frozenset({"", "python", "py", "python3", "Python"})
# an opening fence at the start of a line, its info string, the body, then a closing fence on its own line
_FENCE = re.compile(r"^[ \t]*```[ \t]*([^\n`]*)\n(.*?)^[ \t]*```[ \t]*$", re.S | re.M)


def extract_code(response: str) -> str | None:
    """Code of the last ```python / ```py / ```python3 / ```Python / bare ``` block after ``</think>``.

    Only the text after the last ``</think>`` counts; a response that opens ``<think>`` and never closes it
    has no answer. Blocks tagged with another language are skipped; an unterminated final block is not
    code. Returns None when there is no (non-empty) code.
    """
    if not isinstance(response, str):
        return None
    if "</think>" in response:
        response = response.rsplit("</think>", 1)[1]
    elif "<think>" in response:
        return None
    code = None
    for m in _FENCE.finditer(response):
        tag = m.group(1).strip().split()[0] if m.group(1).strip() else ""
        if tag in ACCEPTED_TAGS:
            code = m.group(2)
    if code is None or not code.strip():
        return None
    return code
