"""Evaluation sets: where each comes from and how a source row becomes a verl row.

Math sets keep the answer as a string: AMC's float answers become ``'27'`` (not ``'27.0'``), AIME's
zero-padded answers lose the padding (``'025'`` -> ``'25'``), Minerva's answer is the last ``\\boxed{}``
of its solution, OlympiadBench's ``final_answer`` list is joined with ``", "`` (``$`` delimiters removed).
LiveCodeBench sets are selected by contest date (see ``archer.data.lcb``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa

from archer.data import lcb
from archer.data.answers import answer_text
from archer.data.rows import RowError, make_row, schema_for
from archer.data.sources import SourceSpec, parse_spec
from archer.data.templates import code_prompt, math_prompt
from archer.data.train_code import CODE_EXTRA as TRAIN_CODE_EXTRA
from archer.data.train_math import MATH_EXTRA as TRAIN_MATH_EXTRA

__all__ = ["EvalSet", "EVAL_SPECS", "math_answer", "eval_rows", "eval_schema", "default_spec"]


@dataclass(frozen=True)
class EvalSet:
    name: str
    ability: str  # "math" | "code"
    local: str | None  # path relative to --local-dir (the layout of ../shared/data)
    hub: str  # default source when no local file is given
    url: str  # where the set is described


EVAL_SPECS: dict[str, EvalSet] = {
    s.name: s
    for s in (
        EvalSet("aime2024", "math", "aime2024/test.jsonl", "hub:HuggingFaceH4/aime_2024,split=train",
                "https://huggingface.co/datasets/HuggingFaceH4/aime_2024"),
        EvalSet("aime2025", "math", "aime2025/test.jsonl", "hub:math-ai/aime25,split=test",
                "https://huggingface.co/datasets/math-ai/aime25"),
        EvalSet("amc2023", "math", "amc2023/test.jsonl", "hub:math-ai/amc23,split=test",
                "https://huggingface.co/datasets/math-ai/amc23"),
        EvalSet("math500", "math", "math500/test.jsonl", "hub:HuggingFaceH4/MATH-500,split=test",
                "https://huggingface.co/datasets/HuggingFaceH4/MATH-500"),
        EvalSet("minerva", "math", "minerva_math/test.jsonl", "hub:math-ai/minervamath,split=test",
                "https://huggingface.co/datasets/math-ai/minervamath"),
        EvalSet("olympiadbench", "math", "olympiadbench/test.jsonl",
                "hub:Hothan/OlympiadBench,config=OE_TO_maths_en_COMP,split=train",
                "https://huggingface.co/datasets/Hothan/OlympiadBench"),
        EvalSet("livecodebench_v5", "code", "livecodebench/lcb_v5window_2408_2501_public_tests.json",
                f"hub:{lcb.LCB_REPO}", f"https://huggingface.co/datasets/{lcb.LCB_REPO}"),
        EvalSet("livecodebench_v6", "code", None, f"hub:{lcb.LCB_REPO}",
                f"https://huggingface.co/datasets/{lcb.LCB_REPO}"),
    )
}

# extra_info fields of eval rows: those of the training rows, plus LiveCodeBench's metadata for code
MATH_EXTRA = TRAIN_MATH_EXTRA
CODE_EXTRA = {
    **TRAIN_CODE_EXTRA,
    "contest_date": pa.string(),
    "platform": pa.string(),
    "difficulty": pa.string(),
    "public_tests_only": pa.bool_(),
}


def eval_schema(ability: str) -> pa.Schema:
    return schema_for(MATH_EXTRA if ability == "math" else CODE_EXTRA)


def default_spec(name: str, local_dir: Path | None) -> tuple[SourceSpec | None, str | None]:
    """(spec, reason it is unavailable). With ``local_dir``: the set's file there (or None + reason)."""
    es = EVAL_SPECS[name]
    if local_dir is None:
        return parse_spec(es.hub), None
    if es.local is None:
        return None, f"no local file for {name} in {local_dir} (needs {es.hub} online, or --source {name}=PATH)"
    path = Path(local_dir) / es.local
    if not path.exists():
        return None, f"{path} does not exist"
    return parse_spec(str(path)), None


def _first(row: dict, keys: tuple[str, ...]) -> Any:
    for k in keys:
        if row.get(k) is not None:
            return row[k]
    return None


def math_answer(row: dict) -> str:
    """The answer string of a math eval row (answer / final_answer, else the last \\boxed of solution)."""
    ans = answer_text(_first(row, ("answer", "final_answer", "Answer", "gt")))
    if ans is None:
        sol = row.get("solution")
        if isinstance(sol, list):
            sol = "\n".join(map(str, sol))
        if isinstance(sol, str) and sol.strip():
            from archer.reward.math.extract import last_boxed

            boxed = last_boxed(sol)
            ans = answer_text(boxed) if boxed else None
    if ans is not None and ("\\boxed" in ans or "\\fbox" in ans):
        from archer.reward.math.extract import ground_truth_answer

        ans = ground_truth_answer(ans) or None
    if ans is None:
        raise RowError("missing answer", "no answer/final_answer field and no \\boxed{} in solution")
    return ans


def _original_id(row: dict, fallback: int) -> str:
    v = _first(row, ("id", "unique_id", "idx", "question_id", "ID"))
    return str(v) if v is not None else str(fallback)


def _math_row(name: str, row: dict, i: int, source: str) -> dict:
    problem = _first(row, ("problem", "question", "Problem", "Question"))
    if not isinstance(problem, str) or not problem.strip():
        raise RowError("empty prompt", "no problem/question text")
    answer = math_answer(row)
    extra = {"index": i, "split": "test", "original_id": _original_id(row, i), "problem": problem, "source": source}
    return make_row(name, math_prompt(problem), "math", answer, extra)


def _code_row(name: str, row: dict, i: int, source: str) -> dict:
    """A LiveCodeBench row, raw hub layout (``question_content`` ...) or rllm's public-test file
    (``problem``, ``starter_code``, ``tests``: public tests only, no dates)."""
    from archer.reward.code.testcases import fn_name_from_starter

    starter = row.get("starter_code") or ""
    if "question_content" in row:
        question = row["question_content"]
        public, private = lcb.lcb_tests(row)
        tests = public + private
        public_only = not private
        fn = lcb.func_name(row) or fn_name_from_starter(starter)
        meta = {
            "original_id": str(row.get("question_id", i)),
            "contest_date": str(row.get("contest_date") or ""),
            "platform": str(row.get("platform") or ""),
            "difficulty": str(row.get("difficulty") or ""),
        }
    else:
        question = row.get("problem")
        tests = lcb._json_field(row.get("tests"), "tests") or []
        public_only = True
        fn = fn_name_from_starter(starter)
        meta = {"original_id": str(i), "contest_date": None, "platform": None, "difficulty": None}
    if not isinstance(question, str) or not question.strip():
        raise RowError("empty prompt", "no question text")
    if not isinstance(tests, list) or not tests:
        raise RowError("unparsable tests", "no tests")
    functional = any(isinstance(t, dict) and t.get("testtype") == "functional" for t in tests)
    fn = fn if functional else None
    extra = {"index": i, "split": "test", "problem": question, "source": source, "starter_code": starter,
             "fn_name": fn, "num_tests": len(tests), "public_tests_only": public_only, **meta}
    gt = lcb.canonical_ground_truth(tests, fn, {"starter_code": starter})
    return make_row(name, code_prompt(question, starter, fn), "code", gt, extra)


def _lcb_records(name: str, spec: SourceSpec, batch_rows: int) -> Iterator[dict]:
    """Raw LiveCodeBench rows of the set's contest window (deduplicated by question_id); rows without
    ``contest_date`` (rllm's public-test file) pass through: that file is the v5 window by construction."""
    from archer.data import io

    window = lcb.WINDOWS[name]
    if spec.kind == "hub":
        files = _download_lcb(spec.target, name)
        records = (r for f in files for r in io.iter_file(f, batch_rows))
    else:
        records = io.iter_path(spec.target, batch_rows)
    seen: set[str] = set()
    for r in records:
        if "contest_date" not in r:
            yield r
            continue
        try:
            if not lcb.in_window(r.get("contest_date"), window):
                continue
        except RowError:
            yield r  # let the converter count it as malformed
            continue
        qid = str(r.get("question_id"))
        if qid in seen:
            continue
        seen.add(qid)
        yield r


def _download_lcb(repo: str, name: str) -> list[Path]:
    try:
        from huggingface_hub import hf_hub_download

        return [Path(hf_hub_download(repo, f, repo_type="dataset")) for f in lcb.LCB_FILES]
    except Exception as e:
        raise ValueError(
            f"could not download {repo} files {list(lcb.LCB_FILES)} with huggingface_hub: {type(e).__name__}: {e}. "
            f"Offline? Pass the jsonl files with --source {name}=DIR (or a file)."
        ) from e


def eval_rows(name: str, spec: SourceSpec, batch_rows: int = 64) -> Iterator[tuple[int, dict | RowError]]:
    """(row number, prepared row or the RowError explaining why the source row is bad)."""
    from archer.data.sources import open_rows

    es = EVAL_SPECS[name]
    source = str(spec)
    if es.ability == "code":
        records = _lcb_records(name, spec, batch_rows)
    else:
        records, _ = open_rows(spec, batch_rows)
    convert = _math_row if es.ability == "math" else _code_row
    for i, raw in enumerate(records):
        try:
            yield i, convert(name, raw, i, source)
        except RowError as e:
            yield i, e
