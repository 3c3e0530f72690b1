"""model -> generations -> scores -> tables.

``generate_benchmarks`` reads ``<data-dir>/eval/<name>.parquet`` (verl format), applies the tokenizer's
chat template to ``prompt`` (``add_generation_prompt=True``), samples k responses per problem and appends
one line per problem to ``generations.jsonl`` (the ``score`` format plus ``index``, ``prompt``,
``ability``, ``extra_info``). Problems already in that file are skipped, so an interrupted generation
resumes where it stopped. Generation runs on ``--data-parallel`` engine processes (archer.eval.parallel);
``run`` grades each problem as soon as its engine has written it (scoring.LiveGrader).

``evaluate`` does this for a HF model dir, a verl checkpoint (converted first) or every ``global_step_N``
of a run dir (``OUT/global_step_N/``; steps whose ``summary.json`` already covers the requested
benchmarks are skipped), then scores and writes the tables.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archer.eval.backends import SamplingConfig, make_backend
from archer.eval.benchmarks import BENCHMARKS, Benchmark
from archer.eval.checkpoints import Target, discover_targets, materialize
from archer.eval.errors import EvalInputError
from archer.eval.generations import JsonlAppender, cut_truncated_tail, has_truncated_tail, load_generations, to_jsonable
from archer.eval.parallel import SHARD_DIR, EnginePlan, deal, merge_shards, resolve_data_parallel, run_engines
from archer.eval.requests import build_requests, check_base_seed, check_lengths, check_sampling, problem_seed, to_vllm
from archer.eval.scoring import SUMMARY_FILE, LiveGrader, score_generations
from archer.eval.summary import read_summary
from archer.eval.table import Row, write_tables

logger = logging.getLogger(__name__)

__all__ = ["GenerationOptions", "load_eval_set", "pending_problems", "generate_benchmarks", "evaluate", "GENERATIONS_FILE"]

GENERATIONS_FILE = "generations.jsonl"
WARNINGS_FILE = "generation_warnings.json"


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
    data_parallel: Any = "auto"  # engines: an int >= 1 or "auto" (one per visible GPU group; CPU: 1)
    batch_invariant: bool = False  # vllm: VLLM_BATCH_INVARIANT=1 in the engine processes

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


def _order(opts: GenerationOptions, eval_sets: dict[str, list[EvalProblem]]):
    """Sort key of a generations-file problem: benchmark (registry order), then eval-set row; problems of
    sets not loaded now keep their relative order within their benchmark."""
    ranks = {name: i for i, name in enumerate(BENCHMARKS)}
    positions = {(p.data_source, str(p.index)): p.position for problems in eval_sets.values() for p in problems}

    def key(k: tuple[str, str]):
        pos = positions.get(k)
        return (ranks.get(k[0], len(ranks)), 0 if pos is not None else 1, pos or 0)

    return key


def pending_problems(out_dir: Path, opts: GenerationOptions) -> list[tuple[Benchmark, list[EvalProblem]]]:
    """Per requested benchmark, the problems not yet in ``out_dir/generations.jsonl`` (benchmarks with
    none left are omitted). Shard files left by an interrupted data-parallel run are merged in first. A
    problem generated with another n is an error."""
    gen_path = out_dir / GENERATIONS_FILE
    for bench in opts.benchmarks:
        n = opts.samples(bench)
        if n < 1:
            raise EvalInputError(f"samples per problem for {bench.name} must be >= 1, got {n}")
    eval_sets = {b.name: load_eval_set(b, opts.data_dir, opts.limit) for b in opts.benchmarks}
    if gen_path.exists() and has_truncated_tail(gen_path):
        load_generations(gen_path, tolerate_truncated_tail=True,  # warns, naming the line
                         truncated_note="; that problem is generated again when its benchmark is requested")
        cut_truncated_tail(gen_path)  # our own file: cut it now, so scoring reads a line-valid file
    if (out_dir / SHARD_DIR).is_dir():
        merge_shards(gen_path, out_dir / SHARD_DIR, _order(opts, eval_sets))
    existing = {}
    if gen_path.exists():
        existing = {p.key: p for p in load_generations(gen_path)}
    todo: list[tuple[Benchmark, list[EvalProblem]]] = []
    for bench in opts.benchmarks:
        n = opts.samples(bench)
        problems = eval_sets[bench.name]
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


def check_generation_options(opts: GenerationOptions) -> EnginePlan:
    """Everything about the request that can be wrong, checked before any model loads: seed, sampling
    settings (per benchmark n), ``--data-parallel`` against the visible GPUs. Returns the engine plan."""
    check_base_seed(opts.seed)
    for bench in opts.benchmarks:
        check_sampling(opts.sampling.temperature, opts.sampling.top_p, opts.sampling.max_tokens, opts.samples(bench))
    bo = opts.backend_options
    return resolve_data_parallel(opts.data_parallel, backend=opts.backend,
                                 tensor_parallel_size=bo.get("tensor_parallel_size"), device=bo.get("device"))


def _max_model_len(model_dir: Path, opts: GenerationOptions) -> int | None:
    """The context length prompts are checked against: --max-model-len, else (vllm) the model config's
    max_position_embeddings when it has no rope scaling (vLLM may then derive a longer one); else none."""
    explicit = opts.backend_options.get("max_model_len")
    if explicit is not None:
        if explicit < 1:
            raise EvalInputError(f"--max-model-len must be >= 1, got {explicit}")
        return int(explicit)
    if opts.backend != "vllm":
        return None
    try:
        cfg = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    cfg = cfg.get("text_config", cfg) if isinstance(cfg.get("text_config"), dict) else cfg
    if cfg.get("rope_scaling"):
        return None
    value = cfg.get("max_position_embeddings")
    return value if isinstance(value, int) and value > 0 else None


def _record_warnings(out_dir: Path, max_model_len: int | None, skipped: list[dict], capped: list[dict]) -> None:
    """Merge length warnings into ``OUT/generation_warnings.json`` (keyed by data_source and index)."""
    path = out_dir / WARNINGS_FILE
    data = {"max_model_len": max_model_len, "skipped": [], "capped": []}
    if path.is_file():
        try:
            data.update(json.loads(path.read_text(encoding="utf-8")))
        except ValueError:
            logger.warning("%s: not valid JSON, rewriting it", path)
    for name, new in (("skipped", skipped), ("capped", capped)):
        merged = {(e["data_source"], str(e["index"])): e for e in data.get(name, [])}
        merged.update({(e["data_source"], str(e["index"])): e for e in new})
        data[name] = list(merged.values())
    data["max_model_len"] = max_model_len
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def skipped_counts(out_dir: Path) -> dict[str, int]:
    """Problems per data source left out because their prompt does not fit the context (warnings file)."""
    path = out_dir / WARNINGS_FILE
    if not path.is_file():
        return {}
    try:
        entries = json.loads(path.read_text(encoding="utf-8")).get("skipped", [])
    except ValueError:
        return {}
    counts: dict[str, int] = {}
    for e in entries:
        counts[e["data_source"]] = counts.get(e["data_source"], 0) + 1
    return counts


def generate_benchmarks(model_dir: Path, out_dir: Path, opts: GenerationOptions,
                        todo: list[tuple[Benchmark, list[EvalProblem]]] | None = None, *,
                        plan: EnginePlan | None = None, live_grader: LiveGrader | None = None) -> Path:
    """Append the missing problems of every benchmark (``todo``, default ``pending_problems``) to
    ``out_dir/generations.jsonl``; returns its path. Engines (``plan``, default from ``opts``) start only
    if something is left; ``live_grader`` gets every problem as soon as its engine has finished it."""
    from tqdm.auto import tqdm

    plan = plan or check_generation_options(opts)
    out_dir.mkdir(parents=True, exist_ok=True)
    gen_path = out_dir / GENERATIONS_FILE
    if todo is None:
        todo = pending_problems(out_dir, opts)
    if not todo:
        return gen_path

    tokenizer_path = opts.tokenizer or model_dir
    tokenizer = _load_tokenizer(tokenizer_path)
    # every prompt is built and checked before the (slow) model load, so a template problem fails at once
    source = str(tokenizer_path)
    problems = [(bench, p) for bench, ps in todo for p in ps]
    prompt_ids = [_prompt_ids(tokenizer, p.messages, opts.chat_template, source) for _, p in problems]
    max_model_len = _max_model_len(model_dir, opts)
    lengths = check_lengths([len(ids) for ids in prompt_ids], opts.sampling.max_tokens, max_model_len)
    skipped = [{"data_source": problems[i][1].data_source, "index": problems[i][1].index, "prompt_tokens": n}
               for i, n in lengths.skipped]
    capped = [{"data_source": problems[i][1].data_source, "index": problems[i][1].index, "prompt_tokens": n,
               "max_tokens": lengths.max_tokens[i]} for i, n in lengths.capped]
    if skipped or capped:
        _record_warnings(out_dir, max_model_len, skipped, capped)
        if skipped:
            logger.warning("%d problem(s) skipped: prompt >= max_model_len %d tokens (listed in %s)", len(skipped),
                           max_model_len, out_dir / WARNINGS_FILE)
        if capped:
            logger.warning("%d problem(s) generated with max_tokens cut to fit max_model_len %d (listed in %s)",
                           len(capped), max_model_len, out_dir / WARNINGS_FILE)
    jobs = []
    for (bench, p), ids, cap in zip(problems, prompt_ids, lengths.max_tokens):
        if cap is None:
            continue
        jobs.append({"row": {"data_source": p.data_source, "index": p.index, "ground_truth": p.ground_truth,
                             "prompt": p.messages, "ability": p.ability, "extra_info": p.extra_info},
                     "n": opts.samples(bench), "seed": problem_seed(opts.seed, p.data_source, p.index),
                     "prompt_ids": ids, "max_tokens": cap})
    if not jobs:
        return gen_path
    if opts.backend == "vllm":
        _check_vllm_requests(jobs[0], opts)

    shard_dir = out_dir / SHARD_DIR
    shard_dir.mkdir(parents=True, exist_ok=True)
    batch = opts.batch_size or (256 if opts.backend == "vllm" else 4)
    options = dict(opts.backend_options)
    if opts.backend == "vllm":  # the engine's global seed; vLLM's own bar only for a single engine
        options.update(seed=opts.seed, show_progress=False)
    threads = None
    if plan.engines > 1 and plan.gpus[0] is None:  # CPU engines share the cores
        threads = max(1, (os.cpu_count() or 1) // plan.engines)
    specs = []
    for k, shard in enumerate(deal(jobs, plan.engines)):
        if not shard:
            continue
        jobs_file = shard_dir / f"jobs_{k}.jsonl"
        jobs_file.write_text("".join(json.dumps(j, ensure_ascii=False) + "\n" for j in shard), encoding="utf-8")
        specs.append({"shard": k, "problems": len(shard), "jobs_file": str(jobs_file),
                      "out_file": str(shard_dir / f"shard_{k}.jsonl"), "log_file": str(shard_dir / f"shard_{k}.log"),
                      "gpus": plan.gpus[k], "threads": threads, "model_dir": str(model_dir),
                      "tokenizer": str(opts.tokenizer) if opts.tokenizer else None, "backend": opts.backend,
                      "backend_options": options, "batch_size": batch, "seed": opts.seed,
                      "sampling": {"temperature": opts.sampling.temperature, "top_p": opts.sampling.top_p,
                                   "max_tokens": opts.sampling.max_tokens}})
    total = sum(j["n"] for j in jobs)
    logger.info("generating %d problems (%d samples) with %d engine(s)%s", len(jobs), total, len(specs),
                "".join(f"; shard {s['shard']}: {s['problems']} problems"
                        + (f" on CUDA_VISIBLE_DEVICES={s['gpus']}" if s["gpus"] is not None else "") for s in specs))
    env = {"VLLM_BATCH_INVARIANT": "1"} if (opts.batch_invariant and opts.backend == "vllm") else None
    bar = tqdm(total=total, desc="generated", unit="sample", file=sys.stderr, disable=not opts.progress,
               dynamic_ncols=True)

    def arrived(rows: list[dict]) -> None:
        bar.update(sum(len(r["responses"]) for r in rows))
        if live_grader is not None:
            live_grader.submit(rows)

    try:
        with bar:
            run_engines(specs, plan, shard_dir, on_rows=arrived, env=env)
    finally:  # also after a failed engine: what finished is kept in generations.jsonl
        _merge_into(gen_path, shard_dir, opts)
    for spec in specs:
        Path(spec["jobs_file"]).unlink(missing_ok=True)
        (shard_dir / f"shard_{spec['shard']}.spec.json").unlink(missing_ok=True)
    return gen_path


def _merge_into(gen_path: Path, shard_dir: Path, opts: GenerationOptions) -> None:
    eval_sets = {b.name: load_eval_set(b, opts.data_dir, opts.limit) for b in opts.benchmarks}
    merge_shards(gen_path, shard_dir, _order(opts, eval_sets))


def _check_vllm_requests(job: dict, opts: GenerationOptions) -> None:
    """Build one problem's requests and, where vLLM is importable, its real SamplingParams, before any
    model loads (a setting vLLM refuses then fails here, not after the engines are up)."""
    import importlib.util

    requests = build_requests([job["prompt_ids"]], job["n"], temperature=opts.sampling.temperature,
                              top_p=opts.sampling.top_p, max_tokens=job["max_tokens"], seeds=[job["seed"]])
    if importlib.util.find_spec("vllm") is None:
        raise EvalInputError("backend 'vllm' needs the vllm package (not importable here); install it on the GPU "
                             "node (requirements.txt) or use --backend transformers")
    from vllm import SamplingParams

    try:
        to_vllm(requests, SamplingParams)
    except (ValueError, TypeError) as exc:
        raise EvalInputError(f"vLLM refuses the sampling settings ({exc}); check --temperature, --top-p, "
                             "--max-tokens, --n") from None


def _covers(summary_path: Path, opts: GenerationOptions) -> bool:
    if not summary_path.is_file():
        return False
    summary = read_summary(summary_path)
    for b in opts.benchmarks:
        entry = summary.get(b.name)
        if entry is None or entry["n"] != opts.samples(b):
            return False
        skipped = skipped_counts(summary_path.parent).get(b.name, 0)
        if entry["problems"] != len(load_eval_set(b, opts.data_dir, opts.limit)) - skipped:
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
    plan = check_generation_options(opts)  # before any conversion or model load
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
                                              convert_dir=convert_dir, verify_export=verify_export, multi=mode == "run",
                                              plan=plan)
    if mode == "run" and score:
        rows = [Row(lbl, s) for lbl, s in results.items()]
        write_tables(rows, out, reference=reference, title=f"{Path(model).name}: all checkpoints")
    return results


def _evaluate_one(target: Target, tdir: Path, opts: GenerationOptions, *, score: bool, workers: int,
                  reward_kwargs: dict | None, reference: str | None, convert_dir, verify_export: bool,
                  multi: bool, plan: EnginePlan) -> dict:
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
        grader = None
        if score:  # grade while generating: the verdicts are in results.jsonl before the engines finish
            total = sum(opts.samples(b) * len(ps) for b, ps in todo)
            grader = LiveGrader(tdir, workers=workers, reward_kwargs=reward_kwargs, progress=opts.progress,
                                total=total)
        try:
            generate_benchmarks(model_dir, tdir, opts, todo, plan=plan, live_grader=grader)
        except BaseException:
            if grader is not None:
                grader.close(wait_for_pending=False)
            raise
        if grader is not None:
            grader.close()
    gen_path = tdir / GENERATIONS_FILE
    if not score:
        return {}
    return score_generations(gen_path, tdir, workers=workers, reward_kwargs=reward_kwargs, label=target.label,
                             reference=reference, progress=opts.progress)
