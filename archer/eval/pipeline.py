"""model -> generations -> scores -> tables.

``generate_benchmarks`` reads ``<data-dir>/eval/<name>.parquet`` (verl format), applies the tokenizer's
chat template to ``prompt`` (``add_generation_prompt=True``), samples k responses per problem and appends
one line per problem to ``generations.jsonl`` (the ``score`` format plus ``index``, ``prompt``,
``ability``, ``extra_info``). Problems already in that file are skipped, so an interrupted generation
resumes where it stopped.

``evaluate`` does this for a HF model dir, a verl checkpoint (converted first) or every ``global_step_N``
of a run dir (``OUT/global_step_N/``; steps whose ``summary.json`` already covers the requested
benchmarks are skipped), then scores and writes the tables.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archer.eval.backends import SamplingConfig, make_backend
from archer.eval.benchmarks import Benchmark
from archer.eval.checkpoints import Target, discover_targets, materialize
from archer.eval.errors import EvalInputError
from archer.eval.generations import JsonlAppender, cut_truncated_tail, has_truncated_tail, load_generations, to_jsonable
from archer.eval.scoring import SUMMARY_FILE, score_generations
from archer.eval.summary import read_summary
from archer.eval.table import Row, write_tables

logger = logging.getLogger(__name__)

__all__ = ["GenerationOptions", "load_eval_set", "pending_problems", "generate_benchmarks", "evaluate", "GENERATIONS_FILE"]

GENERATIONS_FILE = "generations.jsonl"


@dataclass
class GenerationOptions:
    benchmarks: list[Benchmark]
    data_dir: Path = Path("data")
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    n: dict[str, int] = field(default_factory=dict)  # benchmark name -> samples per problem (else its k)
    limit: int | None = None  # first N problems of each benchmark (smoke tests)
    seed: int = 0
    batch_size: int | None = None  # problems per backend call (default: 256 vllm, 4 transformers)
    backend: str = "vllm"
    backend_options: dict[str, Any] = field(default_factory=dict)
    tokenizer: Path | None = None
    chat_template: bool = True
    progress: bool = True

    def samples(self, bench: Benchmark) -> int:
        return self.n.get(bench.name, bench.k)


@dataclass
class EvalProblem:
    data_source: str
    index: Any
    messages: list[dict]
    ground_truth: Any
    ability: Any
    extra_info: dict
    position: int  # row in the eval set


def load_eval_set(bench: Benchmark, data_dir: Path, limit: int | None = None) -> list[EvalProblem]:
    """Rows of ``<data_dir>/eval/<name>.parquet`` (EvalInputError naming the file and row when malformed)."""
    import pandas as pd

    path = bench.file(data_dir)
    if not path.is_file():
        raise EvalInputError(
            f"{path}: eval set {bench.name!r} not found; prepare it with "
            f"`python -m archer.data prepare --suite eval --out-dir {data_dir}` or pass --data-dir"
        )
    try:
        df = pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise EvalInputError(
            f"{path}: cannot read eval set {bench.name!r} as parquet, the file looks truncated or corrupt "
            f"({type(exc).__name__}: {exc}); prepare it again with `python -m archer.data prepare --suite eval "
            f"--force --out-dir {data_dir}`"
        ) from None
    missing = [c for c in ("data_source", "prompt", "reward_model") if c not in df.columns]
    if missing:
        raise EvalInputError(f"{path}: missing column(s) {missing} (verl format: data_source, prompt, reward_model, ...)")
    if len(df) == 0:
        raise EvalInputError(f"{path}: eval set {bench.name!r} has no rows")
    if limit is not None:
        if limit < 1:
            raise EvalInputError(f"--limit must be >= 1, got {limit}")
        df = df.head(limit)
    problems, seen = [], {}
    for pos, row in enumerate(df.to_dict("records")):
        where = f"{path} row {pos}"
        if row["data_source"] != bench.name:
            raise EvalInputError(f"{where}: data_source {row['data_source']!r}, expected {bench.name!r} (the set name)")
        messages = to_jsonable(row["prompt"])
        if not isinstance(messages, list) or not all(isinstance(m, dict) and "content" in m for m in messages):
            raise EvalInputError(f"{where}: prompt must be a list of {{'role', 'content'}} messages")
        rm = to_jsonable(row["reward_model"])
        if not isinstance(rm, dict) or rm.get("ground_truth") is None:
            raise EvalInputError(f"{where}: reward_model.ground_truth missing")
        extra = to_jsonable(row.get("extra_info")) or {}
        if not isinstance(extra, dict):
            raise EvalInputError(f"{where}: extra_info must be a struct")
        index = extra.get("index", pos)
        if index in seen:
            raise EvalInputError(f"{where}: duplicate extra_info.index {index!r} (also row {seen[index]})")
        seen[index] = pos
        problems.append(EvalProblem(bench.name, index, messages, rm["ground_truth"], to_jsonable(row.get("ability")),
                                    extra, pos))
    return problems


def _load_tokenizer(path: Path):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(path))
    except (OSError, ValueError) as exc:
        raise EvalInputError(f"cannot load a tokenizer from {path}: {exc}") from exc


def _prompt_ids(tokenizer, messages: list[dict], chat_template: bool, source: str) -> list[int]:
    if chat_template:
        if not getattr(tokenizer, "chat_template", None):
            raise EvalInputError(
                f"the tokenizer ({source}) has no chat template; pass --tokenizer with one, or --no-chat-template "
                "to feed the message contents as plain text"
            )
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    else:
        text = "\n".join(str(m["content"]) for m in messages)
    return list(tokenizer(text, add_special_tokens=not chat_template)["input_ids"])


def pending_problems(out_dir: Path, opts: GenerationOptions) -> list[tuple[Benchmark, list[EvalProblem]]]:
    """Per requested benchmark, the problems not yet in ``out_dir/generations.jsonl`` (benchmarks with
    none left are omitted). A problem generated with another n is an error."""
    gen_path = out_dir / GENERATIONS_FILE
    existing = {}
    if gen_path.exists():
        existing = {p.key: p for p in load_generations(
            gen_path, tolerate_truncated_tail=True,
            truncated_note="; that problem is generated again when its benchmark is requested")}
        if has_truncated_tail(gen_path):  # our own file: cut it now, so scoring reads a line-valid file
            cut_truncated_tail(gen_path)
    todo: list[tuple[Benchmark, list[EvalProblem]]] = []
    for bench in opts.benchmarks:
        n = opts.samples(bench)
        if n < 1:
            raise EvalInputError(f"samples per problem for {bench.name} must be >= 1, got {n}")
        problems = load_eval_set(bench, opts.data_dir, opts.limit)
        left = []
        for p in problems:
            old = existing.get((p.data_source, str(p.index)))
            if old is None:
                left.append(p)
            elif len(old.responses) != n:
                raise EvalInputError(
                    f"{gen_path}:{old.line}: {bench.name} problem {p.index!r} has {len(old.responses)} responses "
                    f"but {n} are requested; use the same --n or a new --out directory"
                )
        logger.info("%s: %d problems, %d already generated, %d to generate (n=%d)",
                    bench.name, len(problems), len(problems) - len(left), len(left), n)
        if left:
            todo.append((bench, left))
    return todo


def generate_benchmarks(model_dir: Path, out_dir: Path, opts: GenerationOptions,
                        todo: list[tuple[Benchmark, list[EvalProblem]]] | None = None) -> Path:
    """Append the missing problems of every benchmark (``todo``, default ``pending_problems``) to
    ``out_dir/generations.jsonl``; returns its path. The backend is started only if something is left."""
    from tqdm.auto import tqdm

    out_dir.mkdir(parents=True, exist_ok=True)
    gen_path = out_dir / GENERATIONS_FILE
    if todo is None:
        todo = pending_problems(out_dir, opts)
    if not todo:
        return gen_path

    tokenizer_path = opts.tokenizer or model_dir
    tokenizer = _load_tokenizer(tokenizer_path)
    # every prompt is built before the (slow) model load, so a template problem fails at once
    source = str(tokenizer_path)
    prompt_ids = {(p.data_source, str(p.index)): _prompt_ids(tokenizer, p.messages, opts.chat_template, source)
                  for _, problems in todo for p in problems}
    # vLLM takes a global seed and shows its own progress within a batch; transformers is seeded per call
    extra = {"seed": opts.seed, "show_progress": opts.progress} if opts.backend == "vllm" else {}
    backend = make_backend(opts.backend, model_dir, tokenizer=opts.tokenizer, **extra, **opts.backend_options)
    batch = opts.batch_size or (256 if opts.backend == "vllm" else 4)
    sampling = {"temperature": opts.sampling.temperature, "top_p": opts.sampling.top_p,
                "max_tokens": opts.sampling.max_tokens, "seed": opts.seed, "backend": opts.backend}
    try:
        with JsonlAppender(gen_path) as sink:
            for bench, problems in todo:
                n = opts.samples(bench)
                bar = tqdm(total=len(problems), desc=f"generate {bench.name}", unit="problem", file=sys.stderr,
                           disable=not opts.progress, dynamic_ncols=True)
                with bar:
                    for start in range(0, len(problems), batch):
                        chunk = problems[start : start + batch]
                        ids = [prompt_ids[(p.data_source, str(p.index))] for p in chunk]
                        seeds = [opts.seed + _seed_of(p) for p in chunk]
                        texts = backend.generate(ids, n, opts.sampling, seeds)
                        if len(texts) != len(chunk) or any(len(t) != n for t in texts):
                            raise RuntimeError(f"backend {opts.backend} returned {[len(t) for t in texts]} responses "
                                               f"for {len(chunk)} prompts x n={n}")
                        for p, responses in zip(chunk, texts):
                            sink.write({
                                "data_source": p.data_source, "index": p.index, "ground_truth": p.ground_truth,
                                "responses": responses, "prompt": p.messages, "ability": p.ability,
                                "extra_info": p.extra_info, "sampling": {**sampling, "n": n},
                            })
                        bar.update(len(chunk))
    finally:
        backend.close()
    return gen_path


def _seed_of(problem: EvalProblem) -> int:
    """A problem's sampling seed offset: its integer index, else its row in the eval set."""
    index = problem.index
    return index if isinstance(index, int) and not isinstance(index, bool) else problem.position


def _covers(summary_path: Path, opts: GenerationOptions) -> bool:
    if not summary_path.is_file():
        return False
    summary = read_summary(summary_path)
    for b in opts.benchmarks:
        entry = summary.get(b.name)
        if entry is None or entry["n"] != opts.samples(b):
            return False
        if entry["problems"] != len(load_eval_set(b, opts.data_dir, opts.limit)):
            return False
    return True


def evaluate(
    model: str | Path,
    out: str | Path,
    opts: GenerationOptions,
    *,
    score: bool = True,
    workers: int = 8,
    reward_kwargs: dict | None = None,
    label: str | None = None,
    reference: str | None = None,
    convert_dir: str | Path | None = None,
    verify_export: bool = True,
) -> dict[str, dict]:
    """Evaluate a HF dir / verl checkpoint / run dir; returns {label: summary} of the targets evaluated
    (or skipped as already done). With ``score=False`` only generations are written."""
    out = Path(out)
    mode, targets = discover_targets(model, label)
    logger.info("%s: %s with %d checkpoint(s): %s", model, mode, len(targets), ", ".join(t.label for t in targets))
    results: dict[str, dict] = {}
    for target in targets:
        tdir = out / target.label if mode == "run" else out
        if mode == "run" and score and _covers(tdir / SUMMARY_FILE, opts):
            logger.info("%s: %s exists and covers the requested benchmarks; skipping", target.label, tdir / SUMMARY_FILE)
            results[target.label] = read_summary(tdir / SUMMARY_FILE)
            continue
        results[target.label] = _evaluate_one(target, tdir, opts, score=score, workers=workers,
                                              reward_kwargs=reward_kwargs, reference=reference,
                                              convert_dir=convert_dir, verify_export=verify_export, multi=mode == "run")
    if mode == "run" and score:
        rows = [Row(lbl, s) for lbl, s in results.items()]
        write_tables(rows, out, reference=reference, title=f"{Path(model).name}: all checkpoints")
    return results


def _evaluate_one(target: Target, tdir: Path, opts: GenerationOptions, *, score: bool, workers: int,
                  reward_kwargs: dict | None, reference: str | None, convert_dir, verify_export: bool,
                  multi: bool) -> dict:
    todo = pending_problems(tdir, opts)
    if todo:  # the model (and a verl conversion) is needed only when something is left to generate
        if target.kind == "verl":
            # the chat template is checked before the (slow) conversion: verl saves the tokenizer in huggingface/
            tok_dir = opts.tokenizer or target.path / "huggingface"
            if opts.chat_template and (Path(tok_dir) / "tokenizer_config.json").is_file():
                _prompt_ids(_load_tokenizer(Path(tok_dir)), todo[0][1][0].messages, True, str(tok_dir))
            cdir = Path(convert_dir) / target.label if (convert_dir and multi) else Path(convert_dir or tdir / "hf_model")
            model_dir = materialize(target, cdir, verify_export=verify_export)
        else:
            model_dir = materialize(target, tdir)
        generate_benchmarks(model_dir, tdir, opts, todo)
    gen_path = tdir / GENERATIONS_FILE
    if not score:
        return {}
    return score_generations(gen_path, tdir, workers=workers, reward_kwargs=reward_kwargs, label=target.label,
                             reference=reference, progress=opts.progress)
