"""Find the final answer in a model response.

Only the *final* answer is graded:

1. If the response contains ``</think>``, only the text after the last ``</think>`` is searched (the
   reasoning before it is ignored). Without ``</think>`` the whole response is searched, unless
   ``require_think_close`` is set, in which case a response that opened ``<think>`` but never closed it
   has no answer (its reasoning was cut off).
2. The answer is the content of the last ``\\boxed{...}`` or ``\\fbox{...}`` (nested braces and escaped
   braces ``\\{ \\}`` are handled), or the token after ``\\boxed `` in the brace-less form ``\\boxed 5``.
   If that last box is never closed (truncated output) there is no answer: an earlier box is not used.
3. Optionally (``fallback=True``, off by default) a response without any box falls back to the last
   "final answer is ..." / "Answer: ..." phrase.

Everything here is linear in the length of the response: it never backtracks over the whole text.
"""

from __future__ import annotations

import re

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"

_BOX_SEARCH = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")

# "final answer is X", "The answer is: X", "Answer: X", "**Final Answer:** X" (last one wins).
_FALLBACK = re.compile(r"(?i)(?:final\s+answer|\banswer)\s*(?:\*\*)?\s*(?:is\b|:|=)\s*(?:\*\*)?\s*:?[ \t]*")
_MATH_SPAN = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]")


def final_region(response: str, require_think_close: bool = False) -> str | None:
    """The part of ``response`` that may hold the final answer, or None when there is none."""
    cut = response.rfind(THINK_CLOSE)
    if cut >= 0:
        return response[cut + len(THINK_CLOSE) :]
    if require_think_close and THINK_OPEN in response:
        return None
    return response


def _matching_brace(text: str, open_pos: int) -> int:
    """Index of the ``}`` closing the ``{`` at ``open_pos``, or -1. ``\\{`` and ``\\}`` are not braces."""
    depth = 0
    i = open_pos
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2  # skip the escaped character (covers \{ \} and \\)
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed``/``\\fbox`` in ``text``; None if there is none or it is unclosed."""
    start = -1
    for match in _BOX_SEARCH.finditer(text):
        start = match.start()
        end_of_command = match.end()
    if start < 0:
        return None
    i = end_of_command
    n = len(text)
    if i < n and text[i] == "{":
        close = _matching_brace(text, i)
        if close < 0:
            return None
        return text[i + 1 : close].strip()
    # Brace-less form: "\boxed 5" or "\boxed5". Take one token.
    j = i
    while j < n and text[j] in " \t":
        j += 1
    if j == i and not (j < n and (text[j].isdigit() or text[j] in "+-")):
        return None  # "\boxedfoo" is another command, "\boxed$" has no content
    k = j
    while (
        k < n
        and not text[k].isspace()
        and text[k] != "$"
        and not text.startswith("\\]", k)
        and not text.startswith("\\)", k)
    ):
        k += 1
    token = text[j:k].rstrip(".,;")
    return token or None


def fallback_answer(text: str) -> str | None:
    """The answer stated in the last "final answer is ..." style phrase, or None."""
    last = None
    for match in _FALLBACK.finditer(text):
        last = match
    if last is None:
        return None
    end = text.find("\n", last.end())
    ans = text[last.end() : end if end >= 0 else len(text)][:500].strip()
    span = _MATH_SPAN.search(ans)
    if span is not None:
        ans = next(g for g in span.groups() if g is not None)
    ans = ans.replace("**", "").strip().rstrip(".").strip()
    return ans or None


def extract_answer(
    response: str,
    *,
    fallback: bool = False,
    require_think_close: bool = False,
) -> str | None:
    """The final answer of ``response`` as a raw LaTeX string, or None when it has none."""
    region = final_region(response, require_think_close=require_think_close)
    if region is None:
        return None
    if _BOX_SEARCH.search(region):
        ans = last_boxed(region)
    else:
        ans = fallback_answer(region) if fallback else None
    if ans is None or not ans.strip():
        return None
    return ans.strip()


# What may stand between the boxes of a gold answer given as several boxes: "\boxed{1}, \boxed{2}",
# "$\boxed{1}$ and $\boxed{2}$".
_BETWEEN_BOXES = re.compile(r"^(?:\s|[,;$]|\\quad|\\qquad|\\[,;: ]|~|\band\b|\\text\{\s*(?:and|,)?\s*\})*$")


def all_boxed(text: str) -> tuple[list[str], list[str]] | None:
    """Contents of every top-level braced ``\\boxed{}``/``\\fbox{}`` in ``text`` and the pieces of text
    around them; None when a box is unclosed or brace-less."""
    contents: list[str] = []
    outside: list[str] = []
    pos = 0
    for match in _BOX_SEARCH.finditer(text):
        if match.start() < pos:
            continue  # a box inside the previous box
        open_pos = match.end()
        if open_pos >= len(text) or text[open_pos] != "{":
            return None
        close = _matching_brace(text, open_pos)
        if close < 0:
            return None
        outside.append(text[pos : match.start()])
        contents.append(text[open_pos + 1 : close].strip())
        pos = close + 1
    outside.append(text[pos:])
    return contents, outside


def ground_truth_answer(gold: str) -> str:
    """A gold answer may itself be wrapped in ``\\boxed``; unwrap it (or keep it as is).

    A gold made of several boxes and nothing else (``\\boxed{1}\\boxed{2}``, ``\\boxed{1}, \\boxed{2}``)
    states a list of answers: it becomes ``1, 2``, which a response answers with ``\\boxed{1, 2}``. A
    gold with text around its boxes (a worked solution) keeps its last box, as a response does.
    """
    if "\\boxed" in gold or "\\fbox" in gold:
        boxes = all_boxed(gold)
        if boxes is not None and len(boxes[0]) > 1 and all(_BETWEEN_BOXES.match(t) for t in boxes[1]):
            return ", ".join(c for c in boxes[0] if c)
        inner = last_boxed(gold)
        if inner is not None:
            return inner  # "" for an empty box: no answer
    return gold.strip()
