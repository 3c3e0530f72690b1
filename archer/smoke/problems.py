"""The smoke data sets, generated with fixed seeds (no download, no ../shared needed).

* math: two-number arithmetic questions (``What is 37 + 5?``) in archer's math prompt
  (:func:`archer.data.templates.math_prompt`, answer in ``\\boxed{}``), data source ``smoke_math``;
* code: stdin/stdout programming tasks in archer's code prompt (:func:`archer.data.templates.code_prompt`)
  with the code grader's canonical ground truth (``{"tests": [...], "fn_name": null}``, see
  :mod:`archer.reward.code.testcases`), data source ``smoke_code``.

Every problem also carries the two responses the warm start teaches (:mod:`archer.smoke.warm_start`): a
correct one and a wrong one, so the warm-started policy is right about half the time.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from archer.data.rows import make_row
from archer.data.templates import code_prompt, math_prompt

MATH_SOURCE = "smoke_math"
CODE_SOURCE = "smoke_code"


@dataclass(frozen=True)
class Problem:
    prompt: str  # user turn
    ground_truth: str
    correct: str  # a response the grader accepts
    wrong: str  # a response the grader rejects


def math_problems(count: int, seed: int) -> list[Problem]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        a, b = rng.randint(2, 49), rng.randint(2, 49)
        op = rng.choice("+-*")
        answer = {"+": a + b, "-": a - b, "*": a * b}[op]
        out.append(Problem(math_prompt(f"What is {a} {op} {b}?"), str(answer),
                           f"\\boxed{{{answer}}}", f"\\boxed{{{answer + 1}}}"))
    return out


# (question, correct program, wrong program, input generator)
_CODE_TASKS = [
    ("Read two integers a and b on one line. Print a + b.",
     "a, b = map(int, input().split())\nprint(a + b)", "a, b = map(int, input().split())\nprint(a - b)",
     lambda r: f"{r.randint(-99, 99)} {r.randint(-99, 99)}"),
    ("Read two integers a and b on one line. Print a * b.",
     "a, b = map(int, input().split())\nprint(a * b)", "a, b = map(int, input().split())\nprint(a + b)",
     lambda r: f"{r.randint(2, 99)} {r.randint(2, 99)}"),
    ("Read two integers on one line. Print the larger one.",
     "a, b = map(int, input().split())\nprint(max(a, b))", "a, b = map(int, input().split())\nprint(min(a, b))",
     lambda r: f"{r.randint(0, 99)} {r.randint(100, 199)}"),
    ("Read one word. Print it reversed.",
     "print(input()[::-1])", "print(input())",
     lambda r: "".join(r.choice("abcdefgh") for _ in range(5))),
    ("Read one integer n. Print n squared.",
     "n = int(input())\nprint(n * n)", "n = int(input())\nprint(n + n)",
     lambda r: str(r.randint(3, 99))),
    ("Read one word. Print it in upper case.",
     "print(input().upper())", "print(input().lower())",
     lambda r: "".join(r.choice("abcdefgh") for _ in range(5))),
]


def _fenced(program: str) -> str:
    return f"```python\n{program}\n```"


def code_problems(count: int, seed: int, tests_per_problem: int = 3) -> list[Problem]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        question, good, bad, make_input = _CODE_TASKS[i % len(_CODE_TASKS)]
        tests = []
        for _ in range(tests_per_problem):
            stdin = make_input(rng)
            tests.append({"input": stdin + "\n", "output": _run_reference(good, stdin) + "\n", "testtype": "stdin"})
        ground_truth = json.dumps({"tests": tests, "fn_name": None})
        out.append(Problem(code_prompt(question), ground_truth, _fenced(good), _fenced(bad)))
    return out


def _run_reference(program: str, stdin: str) -> str:
    """The expected output of ``program`` on ``stdin`` (the reference programs are ours and pure)."""
    import contextlib
    import io

    lines = iter(stdin.splitlines())
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(program, {"input": lambda *_: next(lines)})  # noqa: S102 - our own constant programs
    return out.getvalue().rstrip("\n")


def rows(problems: list[Problem], data_source: str, ability: str, split: str) -> list[dict]:
    """verl rows (archer.data's row layout) for ``problems``."""
    return [
        make_row(data_source, p.prompt, ability, p.ground_truth, {"index": i, "split": split})
        for i, p in enumerate(problems)
    ]
