"""Grade a generations file with ``archer.reward.compute_score``, in parallel and resumably.

Every sample's verdict is appended to ``OUT/results.jsonl`` as soon as it is known, keyed by
``(data_source, index, sample)`` together with a SHA-1 of the response text. A re-run grades only the
samples without a result (or whose response text changed, e.g. after regenerating); then the summary
(``summary.json``) and the tables (``table.md``, CSVs) are rebuilt from all results.

Parallelism: a thread pool of ``workers`` threads over samples. The graders do their heavy work in
subprocesses (math: a pool of killable math-verify workers; code: one sandboxed process per program), so
threads are enough; concurrent programs are bounded by the sandbox's node-wide slot budget (the CPUs, or
``ARCHER_CODE_WORKERS`` as a node-wide total), the math pool by ``ARCHER_MATH_REWARD_WORKERS``.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from archer.eval.errors import EvalInputError
from archer.eval.generations import JsonlAppender, Problem, load_generations, problem_index, read_jsonl
from archer.eval.summary import summarize, write_summary
from archer.eval.table import Row, write_tables
from archer import rundir

logger = logging.getLogger(__name__)

__all__ = ["score_generations", "grade_sample", "LiveGrader", "RESULTS_FILE", "SUMMARY_FILE"]

RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = rundir.EVAL_SUMMARY
_KEPT = ("score", "acc", "pred", "failure_kind", "grader_timeout", "response_has_answer", "passed", "total",
         "repetition_ratio")


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def grade_sample(problem: Problem, sample: int, reward_kwargs: dict[str, Any]) -> dict:
    """Grade one response; the result record written to results.jsonl."""
    from archer.reward import compute_score

    response = problem.responses[sample]
    try:
        result = compute_score(problem.data_source, response, problem.ground_truth, problem.extra_info, **reward_kwargs)
    except ValueError as exc:  # unknown data_source, malformed ground truth, bad grader option
        raise EvalInputError(
            f"line {problem.line} (data_source={problem.data_source!r}, index={problem.index!r}, sample {sample}): {exc}"
        ) from exc
    record = {"data_source": problem.data_source, "index": problem.index, "sample": sample}
    record.update({k: result.get(k) for k in _KEPT})
    record["acc"] = bool(record["acc"])
    record["response_sha1"] = _sha1(response)
    return record


def _load_done(path: Path) -> dict[tuple[str, str, int], dict]:
    done: dict[tuple[str, str, int], dict] = {}
    if not path.exists():
        return done
    for line, rec in read_jsonl(path, tolerate_truncated_tail=True, truncated_note="; that sample is graded again"):
        missing = [k for k in ("data_source", "index", "sample", "acc", "response_sha1") if k not in rec]
        if missing or not isinstance(rec["sample"], int):
            raise EvalInputError(f"{path}:{line}: not a result record of archer.eval (missing {missing or ['int sample']}); "
                                 "use another --out directory")
        key = (rec["data_source"], str(rec["index"]), rec["sample"])
        done[key] = rec  # a later line for the same key (a re-grade) wins
    return done


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="sample", file=sys.stderr, disable=not enabled, dynamic_ncols=True)


def score_generations(
    generations: str | Path,
    out_dir: str | Path,
    *,
    workers: int = 8,
    reward_kwargs: dict[str, Any] | None = None,
    label: str | None = None,
    reference: str | None = None,
    progress: bool = True,
) -> dict[str, dict]:
    """Grade every response of ``generations`` (resuming from ``out_dir/results.jsonl``), then write
    ``summary.json``, ``table.md``, ``summary.csv`` and the paper-table CSVs into ``out_dir``.
    Returns the summary."""
    generations, out_dir = Path(generations), Path(out_dir)
    if workers < 1:
        raise EvalInputError(f"--workers must be >= 1, got {workers}")
    problems = load_generations(generations, tolerate_truncated_tail=True,
                                truncated_note="; that problem is left out of the summary (generate it again "
                                "with `run`/`generate` into the same --out, or score a complete file)")
    if not problems:
        raise EvalInputError(f"{generations}: no problems in the file")
    out_dir.mkdir(parents=True, exist_ok=True)
    results_path = out_dir / RESULTS_FILE
    done = _load_done(results_path)
    reward_kwargs = dict(reward_kwargs or {})

    todo: list[tuple[Problem, int]] = []
    reused = 0
    for p in problems:
        for j, response in enumerate(p.responses):
            rec = done.get((p.data_source, str(p.index), j))
            if rec is not None and rec["response_sha1"] == _sha1(response):
                reused += 1
            else:
                todo.append((p, j))
    logger.info("%s: %d problems, %d samples; %d already graded in %s, %d to grade with %d workers",
                generations, len(problems), reused + len(todo), reused, results_path, len(todo), workers)

    if todo:
        with JsonlAppender(results_path) as sink, _progress(len(todo), "grading", progress) as bar, \
                ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eval-grade") as pool:
            futures = {pool.submit(grade_sample, p, j, reward_kwargs) for p, j in todo}
            try:
                while futures:
                    finished, futures = wait(futures, return_when=FIRST_EXCEPTION)
                    failed = [f for f in finished if f.exception() is not None]
                    for fut in finished:
                        if fut.exception() is None:  # keep every verdict we have before raising
                            rec = fut.result()
                            sink.write(rec)
                            done[(rec["data_source"], str(rec["index"]), rec["sample"])] = rec
                            bar.update(1)
                    if failed:
                        failed[0].result()  # re-raises the grader's error
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise

    correct = {}
    for p in problems:
        correct[p.key] = [bool(done[(p.data_source, str(p.index), j)]["acc"]) for j in range(len(p.responses))]
    summary = summarize(correct)
    write_summary(summary, out_dir / SUMMARY_FILE)
    write_tables([Row(label or out_dir.name, summary)], out_dir, reference=reference)
    return summary


class LiveGrader:
    """Grade problems while they are being generated: ``submit(rows)`` with generations-file rows as the
    engines finish them; verdicts are appended to ``out_dir/results.jsonl`` as they come, so the final
    ``score_generations`` finds them graded (same response SHA-1) and only writes the summary. A grader
    error stops live grading (logged); the final scoring then raises it with the line that caused it."""

    def __init__(self, out_dir: str | Path, *, workers: int = 8, reward_kwargs: dict | None = None,
                 progress: bool = True, total: int = 0):
        if workers < 1:
            raise EvalInputError(f"--workers must be >= 1, got {workers}")
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / RESULTS_FILE
        self.done = _load_done(path)
        self.reward_kwargs = dict(reward_kwargs or {})
        self.sink = JsonlAppender(path)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eval-live-grade")
        self.bar = _progress(total, "graded", progress)
        self.lock = threading.Lock()
        self.error: BaseException | None = None
        self.graded = 0
        self.closed = False

    def submit(self, rows: list[dict]) -> None:
        for row in rows:
            if self.error is not None:
                return
            p = Problem(row["data_source"], problem_index(row, 0), row["ground_truth"], row["responses"],
                        row.get("extra_info"), 0, row)
            for j, response in enumerate(p.responses):
                rec = self.done.get((p.data_source, str(p.index), j))
                if rec is not None and rec["response_sha1"] == _sha1(response):
                    self.bar.update(1)
                    continue
                self.pool.submit(grade_sample, p, j, self.reward_kwargs).add_done_callback(self._finished)

    def _finished(self, fut) -> None:
        with self.lock:
            if fut.cancelled() or self.closed:
                return
            exc = fut.exception()
            if exc is not None:
                if self.error is None:
                    self.error = exc
                    logger.warning("live grading stopped (%s); the rest is graded after generation", exc)
                return
            rec = fut.result()
            self.sink.write(rec)
            self.graded += 1
            self.bar.update(1)

    def close(self, *, wait_for_pending: bool = True) -> None:
        self.pool.shutdown(wait=wait_for_pending, cancel_futures=not wait_for_pending)
        with self.lock:
            self.closed = True
            self.sink.close()
        self.bar.close()
