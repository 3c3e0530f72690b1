"""Every prompt text archer's data preparation writes, in one place.

Prompts hold the **user turn only**. The DeepSeek-R1-Distill chat template (``<｜begin▁of▁sentence｜>
<｜User｜>...<｜Assistant｜><think>\\n``) is applied later by the tokenizer (verl / vLLM call
``apply_chat_template``), so it is not written into the data.

Math: the problem followed by DeepScaleR's instruction sentence. DeepScaleR (agentica-project/deepscaler,
``scripts/data/deepscaler_dataset.py``, whose ``instruction`` is this sentence) trained
DeepSeek-R1-Distill-Qwen-1.5B with it, and Archer2.0 starts from that model family; the math grader
reads the last ``\\boxed{}`` of the response.

Code: LiveCodeBench's code-generation prompt layout (``lcb_runner/prompts/code_generation.py``): a
``### Question:`` section, a ``### Format:`` section that either shows the starter code to complete
(LeetCode, call-based tests) or asks for a program reading stdin and writing stdout (AtCoder /
Codeforces), and a ``### Answer:`` line asking for a fenced Python block. The layout is LiveCodeBench's;
the sentences below are ours. The code grader runs the last fenced Python block of the response.
"""

from __future__ import annotations

import re

__all__ = ["MATH_INSTRUCTION", "math_prompt", "code_prompt", "strip_foreign_math_instructions", "split_lcb_prompt"]

MATH_INSTRUCTION = "Let's think step by step and output the final answer within \\boxed{}."

CODE_WITH_STARTER = (
    "Complete the starter code below so that it solves the problem. Return the whole solution in one "
    "fenced Python code block."
)
CODE_STDIN = (
    "Write a Python program that reads the input from standard input and prints the answer to standard "
    "output (do not hard-code the sample inputs). Return the whole program in one fenced Python code block."
)
CODE_FUNCTION = (
    "Write a Python function named `{fn_name}` (a method of `class Solution` is accepted too) that solves "
    "the problem. Return the whole solution in one fenced Python code block."
)
CODE_ANSWER = "### Answer: (one ```python code block)"


def math_prompt(problem: str) -> str:
    return f"{problem.strip()} {MATH_INSTRUCTION}"


def code_prompt(question: str, starter_code: str = "", fn_name: str | None = None) -> str:
    """LiveCodeBench layout: starter code when there is one, else stdin/stdout instructions (or, for
    call-based tests without starter code, the function name to define)."""
    parts = [f"### Question:\n{question.strip()}\n"]
    if starter_code and starter_code.strip():
        parts.append(f"### Format: {CODE_WITH_STARTER}\n```python\n{starter_code.rstrip()}\n```\n")
    elif fn_name:
        parts.append(f"### Format: {CODE_FUNCTION.format(fn_name=fn_name)}\n")
    else:
        parts.append(f"### Format: {CODE_STDIN}\n```python\n# your code here\n```\n")
    parts.append(CODE_ANSWER)
    return "\n".join(parts)


# Instructions other datasets put around the problem text (stripped before our template is applied).
_FOREIGN_PREFIXES = [
    # DAPO-Math-17k
    re.compile(
        r"^\s*Solve the following math problem step by step\.\s*The last line of your response should be of the "
        r"form Answer: \$Answer \(without quotes\) where \$Answer is the answer to the problem\.\s*",
        re.S,
    ),
]
_FOREIGN_SUFFIXES = [
    re.compile(r"\s*Remember to put your answer on its own line after \"Answer:\"\.?\s*$"),
    re.compile(r"\s*Let'?s think step by step and output the final answer within \\boxed\{\}\.?\s*$", re.I),
    re.compile(r"\s*Please reason step by step,? and put your final answer within \\boxed\{\}\.?\s*$", re.I),
    re.compile(r"\s*Please output the final answer within \\boxed\{\}\.?\s*$", re.I),
    re.compile(r"\s*Put your final answer within \\boxed\{\}\.?\s*$", re.I),
]


def strip_foreign_math_instructions(text: str) -> str:
    """The bare problem: known answer-format instructions of other datasets removed from both ends."""
    out = text
    changed = True
    while changed:
        changed = False
        for pat in _FOREIGN_PREFIXES + _FOREIGN_SUFFIXES:
            new = pat.sub("", out, count=1)
            if new != out:
                out, changed = new, True
    return out.strip()


_LCB_LAYOUT = re.compile(r"^\s*###\s*Question:\s*(?P<q>.*?)\n\s*###\s*Format:(?P<fmt>.*?)(?:\n\s*###\s*Answer:.*)?$", re.S)
_FENCE = re.compile(r"```(?:python)?\n(?P<code>.*?)```", re.S)


def split_lcb_prompt(text: str) -> tuple[str, str] | None:
    """(question, starter_code) of a prompt already in LiveCodeBench's layout, else None. The
    placeholder block of stdin problems (``# YOUR CODE HERE``) is not starter code."""
    m = _LCB_LAYOUT.match(text)
    if not m:
        return None
    starter = ""
    f = _FENCE.search(m.group("fmt"))
    if f:
        code = f.group("code").strip("\n")
        if code.strip() and not re.fullmatch(r"\s*#[^\n]*", code):
            starter = code
    return m.group("q").strip(), starter
