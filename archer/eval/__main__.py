"""``python -m archer.eval``: generate, score and tabulate evaluations in the paper's protocol.

Subcommands (``--help`` on each): ``run`` (model -> generations -> scores -> tables), ``generate``
(generations only, e.g. on the GPU node), ``score`` (grade a generations file, CPU only), ``table``
(merge summary.json files into one table), ``benchmarks`` (print the protocol). See docs/eval.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from archer.eval.benchmarks import BENCHMARKS, GROUPS, SAMPLING, resolve_benchmarks
from archer.eval.errors import EngineError, EvalInputError
from archer.eval.reference import REFERENCE_GROUPS
from archer.log import setup_logging
from archer import rundir

_REF_CHOICES = [*REFERENCE_GROUPS, "all"]


def _add_reporting(p: argparse.ArgumentParser, progress: bool = True) -> None:
    p.add_argument("--reference", nargs="?", const="1.5b", default=None, choices=_REF_CHOICES, metavar="GROUP",
                   help="add the paper's published rows beside ours; GROUP: base-model block "
                        f"({', '.join(_REF_CHOICES)}; default when given without value: 1.5b)")
    if progress:
        p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--log-level", default="INFO", help="logging level on stderr (default INFO)")


def _add_scoring(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=int, default=8,
                   help="threads grading samples in parallel (graders run their heavy work in subprocesses; default 8)")
    p.add_argument("--reward-kwargs", default=None, metavar="JSON",
                   help="JSON object of grader options passed to archer.reward.compute_score, e.g. "
                        "'{\"per_test_timeout\": 6, \"timeout_s\": 5}' (see docs/reward_math.md, docs/reward_code.md)")
    p.add_argument("--label", default=None, help="row label in the tables (default: the output / model dir name)")


def _add_generation(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True,
                   help="HF model dir, verl actor checkpoint (.../global_step_N/actor or global_step_N), "
                        "or a run dir with global_step_* subdirs (every step, in order)")
    p.add_argument("--out", required=True, help="output dir (a run dir gets one OUT/global_step_N/ per step)")
    p.add_argument("--data-dir", default="data", help="prepared data root; eval sets are DATA_DIR/eval/<name>.parquet "
                                                      "(default: data)")
    p.add_argument("--benchmarks", default="all",
                   help=f"comma-separated names or groups ({', '.join(GROUPS)}); known: {', '.join(BENCHMARKS)} "
                        "(default: all)")
    p.add_argument("--n", default=None, metavar="N|NAME=N,...",
                   help="samples per problem: one number for every benchmark, or per benchmark "
                        "(e.g. aime2024=16,math500=2); default: the paper's k (see `benchmarks`)")
    p.add_argument("--temperature", type=float, default=SAMPLING["temperature"], help="default 0.8")
    p.add_argument("--top-p", type=float, default=SAMPLING["top_p"], help="default 0.95")
    p.add_argument("--max-tokens", type=int, default=SAMPLING["max_tokens"], help="max new tokens, default 32768")
    p.add_argument("--seed", type=int, default=0,
                   help="sampling seed in [0, 2**63); every (benchmark, problem, sample) gets its own seed derived "
                        "from it (default 0)")
    p.add_argument("--limit", type=int, default=None, help="only the first N problems of each benchmark (smoke tests)")
    p.add_argument("--backend", default="auto", choices=["auto", "vllm", "transformers"],
                   help="auto (default): vllm where the vllm package is installed (the GPU node), else transformers "
                        "(any device, slow: small runs); the choice is logged")
    p.add_argument("--batch-size", type=int, default=None,
                   help="problems per backend call; results are appended after each (default 256 vllm, 4 transformers)")
    p.add_argument("--tensor-parallel-size", type=int, default=None, help="vllm: GPUs per model (default 1)")
    p.add_argument("--data-parallel", default="auto", metavar="N|auto",
                   help="engine processes, each on its own --tensor-parallel-size GPUs, problems sharded across them; "
                        "auto (default): one per visible GPU group (CPU: 1)")
    p.add_argument("--batch-invariant", action="store_true",
                   help="vllm: run the engines with VLLM_BATCH_INVARIANT=1 (vLLM's beta batch-invariant kernels; "
                        "outputs independent of batching, slower; needs a recent NVIDIA GPU)")
    p.add_argument("--gpu-memory-utilization", type=float, default=None, help="vllm: default 0.9")
    p.add_argument("--max-model-len", type=int, default=None, help="vllm: context length (default: the model's)")
    p.add_argument("--enforce-eager", action="store_true", default=None, help="vllm: no CUDA graphs")
    p.add_argument("--dtype", default=None, help="model dtype: auto (default), bfloat16, float16, float32")
    p.add_argument("--device", default=None, help="transformers: torch device (default: cuda if available, else cpu)")
    p.add_argument("--tokenizer", default=None, help="tokenizer dir (default: the model dir)")
    p.add_argument("--no-chat-template", action="store_true",
                   help="feed the prompt messages' contents as plain text instead of applying the chat template")
    p.add_argument("--convert-dir", default=None,
                   help="where verl checkpoints are converted to HF (default: OUT[/global_step_N]/hf_model)")
    p.add_argument("--no-verify-export", action="store_true",
                   help="skip archer.export's tensor/logit verification of converted checkpoints")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m archer.eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("score", help="grade a generations file (CPU only) and write summary.json + tables",
                       description="Grade every response of a generations jsonl (one problem per line: data_source, "
                                   "ground_truth, responses, ...) with archer.reward; resumable via OUT/results.jsonl.")
    p.add_argument("--generations", required=True, help="generations jsonl file")
    p.add_argument("--out", required=True, help="output dir: results.jsonl, summary.json, table.md, *.csv")
    _add_scoring(p)
    _add_reporting(p)

    p = sub.add_parser("run", help="generate with a model, grade, write summary.json + tables",
                       description="Evaluate a HF model dir, a verl checkpoint or every checkpoint of a run dir.")
    _add_generation(p)
    _add_scoring(p)
    _add_reporting(p)

    p = sub.add_parser("generate", help="generate only (writes OUT[/global_step_N]/generations.jsonl)",
                       description="Generation step of `run`, for GPU nodes; grade later with `score`.")
    _add_generation(p)
    p.add_argument("--label", default=None, help="label of a single model (default: its dir name)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--log-level", default="INFO", help="logging level on stderr (default INFO)")

    p = sub.add_parser("table", help="merge summary.json files into one table (Markdown + CSV)",
                       description="Inputs: summary.json files, dirs holding one, or run output dirs holding "
                                   "global_step_*/summary.json (expanded in step order). Prefix LABEL= to name a row.")
    p.add_argument("inputs", nargs="+", metavar="[LABEL=]PATH")
    p.add_argument("--out", required=True, help="output dir for table.md, summary.csv, table_*.csv")
    p.add_argument("--title", default=None, help="heading of table.md")
    _add_reporting(p, progress=False)

    p = sub.add_parser("benchmarks", help="print the evaluation protocol (benchmarks, k, sampling)")
    p.add_argument("--data-dir", default="data", help="show where each eval set is expected (default: data)")
    return parser


def _parse_n(spec: str | None, benchmarks) -> dict[str, int]:
    if spec is None:
        return {}
    if re.fullmatch(r"\d+", spec.strip()):
        return {b.name: int(spec) for b in benchmarks}
    out = {}
    for part in spec.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not value.strip().isdigit():
            raise EvalInputError(f"--n {spec!r}: expected a number or NAME=N,... (bad part {part!r})")
        if name not in BENCHMARKS:
            raise EvalInputError(f"--n: unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}")
        out[name] = int(value)
    return out


def _reward_kwargs(text: str | None) -> dict:
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EvalInputError(f"--reward-kwargs is not valid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise EvalInputError(f"--reward-kwargs must be a JSON object, got {type(value).__name__}")
    return value


def _vllm_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


def choose_backend(requested: str, log) -> str:
    """``--backend auto`` -> vllm if importable, else transformers (said in the log); others as given."""
    if requested != "auto":
        return requested
    if _vllm_installed():
        log.info("backend: vllm (--backend auto; the vllm package is installed)")
        return "vllm"
    log.info("backend: transformers (--backend auto; vllm is not installed here). Slow: meant for small runs "
             "such as --limit; evaluate full benchmarks with vLLM on the GPU node")
    return "transformers"


def check_backend_installed(backend: str) -> None:
    """An explicit ``--backend vllm`` without vllm is refused before any checkpoint is converted."""
    if backend == "vllm" and not _vllm_installed():
        raise EvalInputError("backend 'vllm' needs the vllm package, which is not installed here; install it on "
                             "the GPU node (requirements.txt), or use --backend transformers (or leave --backend "
                             "out: auto picks what is installed)")


EVAL_INFO = "eval_info.json"
LOSS_WORDS = {"aspo": "ASPO", "vanilla": "verl's vanilla PPO/GRPO loss (the GRPO baseline)"}


def write_eval_info(model: str, out: str, backend: str, log) -> None:
    """``OUT/eval_info.json``: what was evaluated, with which backend, and the policy loss it was trained
    with (read from the export report or the run's config; archer.compare shows it)."""
    from archer.eval.checkpoints import model_loss_mode

    mode, source = model_loss_mode(model)
    if mode is not None:
        log.info("model trained with loss_mode=%s: %s (from %s)", mode, LOSS_WORDS.get(mode, mode), source)
    info = {"model": str(Path(model).expanduser().resolve()), "backend": backend, "loss_mode": mode,
            "loss_mode_source": source}
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / EVAL_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


def _generation_options(args, log):
    from archer.eval.backends import SamplingConfig
    from archer.eval.pipeline import GenerationOptions

    benchmarks = resolve_benchmarks(args.benchmarks)
    backend_options = {"tensor_parallel_size": args.tensor_parallel_size, "dtype": args.dtype,
                       "gpu_memory_utilization": args.gpu_memory_utilization, "max_model_len": args.max_model_len,
                       "enforce_eager": args.enforce_eager, "device": args.device}
    return GenerationOptions(
        benchmarks=benchmarks, data_dir=Path(args.data_dir),
        sampling=SamplingConfig(args.temperature, args.top_p, args.max_tokens), n=_parse_n(args.n, benchmarks),
        limit=args.limit, seed=args.seed, batch_size=args.batch_size, backend=choose_backend(args.backend, log),
        backend_options={k: v for k, v in backend_options.items() if v is not None},
        tokenizer=Path(args.tokenizer) if args.tokenizer else None, chat_template=not args.no_chat_template,
        progress=not args.no_progress, data_parallel=args.data_parallel, batch_invariant=args.batch_invariant,
    )


def _table_inputs(inputs: list[str]):
    from archer.eval.summary import read_summary
    from archer.eval.table import Row

    rows = []
    for item in inputs:
        label, sep, path = item.partition("=")
        if not sep or not label or Path(item).exists():
            label, path = None, item
        p = Path(path)
        if p.is_file():
            rows.append(Row(label or p.parent.name, read_summary(p)))
        elif (p / "summary.json").is_file():
            rows.append(Row(label or p.name, read_summary(p / "summary.json")))
        elif p.is_dir():
            steps = sorted((int(m.group(1)), c) for c in p.iterdir()
                           if (m := rundir.STEP_DIR.fullmatch(c.name)) and (c / rundir.EVAL_SUMMARY).is_file())
            if not steps:
                raise EvalInputError(f"{p}: no summary.json in it nor in global_step_*/ subdirs")
            prefix = f"{label} " if label else ""
            rows += [Row(prefix + c.name, read_summary(c / "summary.json")) for _, c in steps]
        else:
            raise EvalInputError(f"{p}: no such file or directory")
    return rows


def _print_protocol(data_dir: str) -> None:
    print(f"sampling: temperature {SAMPLING['temperature']}, top_p {SAMPLING['top_p']}, "
          f"max_tokens {SAMPLING['max_tokens']}")
    print(f"{'name':<18} {'paper label':<32} {'task':<5} {'k':>3}  file")
    for b in BENCHMARKS.values():
        print(f"{b.name:<18} {b.label:<32} {b.task:<5} {b.k:>3}  {b.file(data_dir)}")


def main(argv: list[str] | None = None) -> int:
    """Exit status (every archer command, archer/cli.py): 0 done, 1 the work failed, 2 bad input, 130 Ctrl-C."""
    from archer.cli import run

    return run(_main, "archer.eval", argv)


def _main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    log = setup_logging("archer.eval", str(getattr(args, "log_level", "INFO")))
    if args.command in ("run", "score"):  # all grading happens in this one process: size its math pool for that
        os.environ.setdefault("ARCHER_MATH_REWARD_PROCESSES", "1")
    try:
        if args.command == "benchmarks":
            _print_protocol(args.data_dir)
        elif args.command == "score":
            from archer.eval.scoring import score_generations

            score_generations(args.generations, args.out, workers=args.workers,
                              reward_kwargs=_reward_kwargs(args.reward_kwargs), label=args.label,
                              reference=args.reference, progress=not args.no_progress)
            print((Path(args.out) / "table.md").read_text(encoding="utf-8"))
            log.info("wrote %s", ", ".join(str(Path(args.out) / f) for f in ("summary.json", "table.md")))
        elif args.command in ("run", "generate"):
            from archer.eval.pipeline import check_generation_options, evaluate

            opts = _generation_options(args, log)
            check_generation_options(opts)  # settings first (as evaluate does), then whether the backend exists
            check_backend_installed(opts.backend)
            scoring = args.command == "run"
            evaluate(args.model, args.out, opts, score=scoring, workers=getattr(args, "workers", 8),
                     reward_kwargs=_reward_kwargs(getattr(args, "reward_kwargs", None)), label=args.label,
                     reference=getattr(args, "reference", None), convert_dir=args.convert_dir,
                     verify_export=not args.no_verify_export)
            write_eval_info(args.model, args.out, opts.backend, log)
            if scoring:
                print((Path(args.out) / "table.md").read_text(encoding="utf-8"))
        elif args.command == "table":
            from archer.eval.table import write_tables

            rows = _table_inputs(args.inputs)
            written = write_tables(rows, args.out, reference=args.reference, title=args.title)
            print(written[0].read_text(encoding="utf-8"))
    except EvalInputError as exc:
        log.error("%s", exc)
        return 2
    except EngineError as exc:
        log.error("%s", exc)
        return 1
    except KeyboardInterrupt:
        log.error("interrupted; re-run the same command to resume")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
