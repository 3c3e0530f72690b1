"""Data-parallel generation: engine groups, sharding, engine processes, merging shard files.

``--data-parallel N`` runs N engines, each in its own process pinned to its own GPUs
(``CUDA_VISIBLE_DEVICES``: group k is GPUs ``k*tp .. k*tp+tp-1`` of the visible ones, tp =
``--tensor-parallel-size``). The problems still to generate are dealt round-robin over the engines (in the
canonical order: benchmark, then eval-set row); engine k appends finished problems to
``OUT/shards/shard_K.jsonl`` (log: ``shard_K.log``). When the engines are done, or one fails, the shard
files are merged into ``OUT/generations.jsonl``, sorted in the canonical order, and removed. The next call
merges leftovers first, so a rerun generates only what is missing, whatever N was before.

Every problem's samples depend only on its seed (archer.eval.requests), so the merged file is the same for
every N. Engines are processes that exit when their shard is done, which also frees the GPU memory of
each checkpoint of a sweep. The transformers backend with N = 1 runs its engine in this process (a
thread), otherwise everything is the same code path (``archer.eval.worker``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from archer.eval.errors import EngineError, EvalInputError
from archer.eval.generations import problem_index, read_jsonl

logger = logging.getLogger(__name__)

__all__ = ["visible_gpus", "resolve_data_parallel", "EnginePlan", "deal", "merge_shards", "ShardTail",
           "run_engines", "SHARD_DIR"]

SHARD_DIR = "shards"


def visible_gpus() -> list[str]:
    """GPU ids this process may use: ``CUDA_VISIBLE_DEVICES`` if set, else torch's device count."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g.strip() for g in env.split(",") if g.strip() and g.strip() != "-1"]
    try:
        import torch

        return [str(i) for i in range(torch.cuda.device_count())]
    except Exception:  # noqa: BLE001 - no usable CUDA: no GPUs
        return []


@dataclass(frozen=True)
class EnginePlan:
    """N engine processes; ``gpus[k]`` is engine k's CUDA_VISIBLE_DEVICES (None: leave it as is)."""

    engines: int
    gpus: tuple[str | None, ...]
    in_process: bool  # transformers with one engine: run it in this process


def _uses_gpu(backend: str, device: str | None, gpus: list[str]) -> bool:
    if backend == "vllm":
        return True
    if device is None or device == "auto":
        return bool(gpus)
    return not str(device).startswith("cpu")


def resolve_data_parallel(spec: Any, *, backend: str, tensor_parallel_size: int | None = None,
                          device: str | None = None, gpus: list[str] | None = None) -> EnginePlan:
    """Check ``--data-parallel`` (an int >= 1 or ``auto``) against the visible GPUs; before any model loads."""
    gpus = visible_gpus() if gpus is None else list(gpus)
    tp = 1 if tensor_parallel_size is None else tensor_parallel_size
    if not isinstance(tp, int) or tp < 1:
        raise EvalInputError(f"--tensor-parallel-size must be an integer >= 1, got {tp!r}")
    if backend != "vllm":
        tp = 1  # tensor parallelism is vLLM's
    on_gpu = _uses_gpu(backend, device, gpus) and bool(gpus)
    text = str(spec).strip().lower()
    if text == "auto":
        if not on_gpu:
            n = 1
        else:
            n = len(gpus) // tp
            if n < 1:
                raise EvalInputError(f"--data-parallel auto: --tensor-parallel-size {tp} needs {tp} GPUs, but "
                                     f"{len(gpus)} are visible (CUDA_VISIBLE_DEVICES={','.join(gpus)})")
    else:
        try:
            n = int(text)
        except ValueError:
            raise EvalInputError(f"--data-parallel must be a positive integer or 'auto', got {spec!r}") from None
        if n < 1:
            raise EvalInputError(f"--data-parallel must be >= 1 (or 'auto'), got {n}")
        if on_gpu and n * tp > len(gpus):
            raise EvalInputError(
                f"--data-parallel {n} x --tensor-parallel-size {tp} needs {n * tp} GPUs, but {len(gpus)} are visible "
                f"(CUDA_VISIBLE_DEVICES={','.join(gpus)}); use at most --data-parallel {max(1, len(gpus) // tp)} "
                "or 'auto'")
    groups: tuple[str | None, ...]
    if on_gpu:
        groups = tuple(",".join(gpus[k * tp:(k + 1) * tp]) for k in range(n))
    else:
        groups = (None,) * n
    return EnginePlan(n, groups, in_process=(backend != "vllm" and n == 1))


def deal(items: list, engines: int) -> list[list]:
    """Round-robin split (item i goes to engine i mod N); empty shards are kept (callers skip them)."""
    return [items[k::engines] for k in range(engines)]


def _row_key(row: dict, line: int) -> tuple[str, str]:
    return (str(row.get("data_source")), str(problem_index(row, line)))


def merge_shards(gen_path: Path, shard_dir: Path, order: Callable[[tuple[str, str]], Any]) -> int:
    """Move every complete line of ``shard_dir/shard_*.jsonl`` into ``gen_path`` and sort it with
    ``order(key)`` (stable; key = (data_source, str(index))); shard files are removed afterwards. A
    problem already in ``gen_path`` keeps its line. Returns the number of problems added."""
    shard_files = sorted(p for p in shard_dir.glob("shard_*.jsonl") if re.fullmatch(r"shard_\d+\.jsonl", p.name)) \
        if shard_dir.is_dir() else []
    lines: list[tuple[tuple[str, str], str]] = []
    seen: set[tuple[str, str]] = set()
    if gen_path.is_file():
        raw = gen_path.read_text(encoding="utf-8").split("\n")  # "\n" only: JSON strings may hold U+2028
        for lineno, row in read_jsonl(gen_path):
            key = _row_key(row, lineno)
            seen.add(key)
            lines.append((key, raw[lineno - 1]))
    before = [k for k, _ in lines]
    added = 0
    for path in shard_files:
        raw = path.read_text(encoding="utf-8", errors="replace").split("\n")
        for lineno, row in read_jsonl(path, tolerate_truncated_tail=True,
                                      truncated_note="; that problem is generated again"):
            key = _row_key(row, lineno)
            if key in seen:
                continue
            seen.add(key)
            lines.append((key, raw[lineno - 1]))
            added += 1
    ordered = sorted(lines, key=lambda kv: order(kv[0]))
    if added or [k for k, _ in ordered] != before:
        tmp = gen_path.with_name(gen_path.name + ".merging")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write("".join(text + "\n" for _, text in ordered))
        os.replace(tmp, gen_path)
    for path in shard_files:
        path.unlink()
    if added:
        logger.info("merged %d problem(s) from %d shard file(s) into %s", added, len(shard_files), gen_path)
    return added


class ShardTail:
    """Complete lines appended to a file since the last ``poll`` (for grading while generating)."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0

    def poll(self) -> list[dict]:
        if not self.path.is_file():
            return []
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        end = data.rfind(b"\n") + 1
        if end == 0:
            return []
        self.offset += end
        rows = []
        for raw in data[:end].splitlines():
            if raw.strip():
                try:
                    rows.append(json.loads(raw.decode("utf-8")))
                except ValueError:  # a broken line: left to the merge, which names it
                    pass
        return rows


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").rstrip().splitlines()
    except OSError:
        return "(no log)"
    return "\n".join("    " + ln for ln in text[-lines:]) or "    (empty log)"


def _stop(procs: Iterable[subprocess.Popen]) -> None:
    procs = [p for p in procs if p.poll() is None]
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + 20
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            p.wait()


def run_engines(specs: list[dict], plan: EnginePlan, shard_dir: Path, *,
                on_rows: Callable[[list[dict]], None] | None = None, env: dict[str, str] | None = None,
                poll_s: float = 0.5) -> None:
    """Run one engine per spec (``archer.eval.worker``), calling ``on_rows`` with every finished problem
    as it arrives. Raises EngineError naming the first shard that fails (the others are stopped)."""
    from archer.eval.worker import run_shard

    tails = [ShardTail(Path(s["out_file"])) for s in specs]
    procs: list[tuple[dict, subprocess.Popen | None]] = []
    thread_error: list[BaseException] = []
    thread = None
    if plan.in_process:
        (spec,) = specs

        def target():
            try:
                run_shard(spec)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                thread_error.append(exc)

        thread = threading.Thread(target=target, name="eval-engine", daemon=True)
        thread.start()
    else:
        repo = str(Path(__file__).resolve().parents[2])
        for spec in specs:
            spec_path = shard_dir / f"shard_{spec['shard']}.spec.json"
            spec_path.write_text(json.dumps(spec), encoding="utf-8")
            child_env = {**os.environ, **(env or {})}
            child_env["PYTHONPATH"] = os.pathsep.join(p for p in (repo, child_env.get("PYTHONPATH")) if p)
            if spec.get("gpus") is not None:
                child_env["CUDA_VISIBLE_DEVICES"] = spec["gpus"]
            if spec.get("threads"):
                child_env.setdefault("OMP_NUM_THREADS", str(spec["threads"]))
            log = open(Path(spec["log_file"]), "ab")
            proc = subprocess.Popen([sys.executable, "-m", "archer.eval.worker", str(spec_path)], env=child_env,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
            procs.append((spec, proc))

    def drain():
        rows = [r for t in tails for r in t.poll()]
        if rows and on_rows is not None:
            on_rows(rows)

    try:
        while True:
            time.sleep(poll_s)
            drain()
            if thread is not None:
                if not thread.is_alive():
                    drain()
                    if thread_error:
                        raise thread_error[0]
                    return
                continue
            failed = [(s, p) for s, p in procs if p.poll() not in (None, 0)]
            if failed:
                spec, proc = failed[0]
                _stop(p for _, p in procs)
                drain()
                done = sum(1 for _ in open(spec["out_file"], "rb")) if Path(spec["out_file"]).is_file() else 0
                gpus = f"CUDA_VISIBLE_DEVICES={spec['gpus']}" if spec.get("gpus") is not None else "CPU"
                if proc.returncode == 2:  # the engine refused its input (bad option, model dir, ...)
                    raise EvalInputError(f"engine shard {spec['shard']} of {len(specs)} ({gpus}) refused its input; "
                                         f"log {spec['log_file']}:\n{_log_tail(Path(spec['log_file']))}")
                raise EngineError(
                    f"engine shard {spec['shard']} of {len(specs)} ({gpus}) exited with code {proc.returncode} after "
                    f"{done} of {spec['problems']} problems; log {spec['log_file']}:\n{_log_tail(Path(spec['log_file']))}\n"
                    "finished problems are kept; re-run the same command to generate only what is missing")
            if all(p.poll() == 0 for _, p in procs):
                drain()
                return
    except BaseException:
        _stop(p for _, p in procs)
        raise
