"""One generation engine: ``python -m archer.eval.worker SPEC.json`` (started by archer.eval.parallel).

The spec names the model, backend options, sampling settings, a jobs file (one problem per line: its
generations-file fields, ``n``, its problem seed, prompt token ids and ``max_tokens``) and the shard file
to append finished problems to (one line each, the generations-file format, flushed after every batch).
The process loads the model, generates its shard and exits, so its GPU memory goes back to the driver's
next engine. Exit status 0 when the shard is done, 2 on bad input (message on stderr), 1 otherwise.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

from archer.eval.errors import EvalInputError

logger = logging.getLogger("archer.eval.worker")

__all__ = ["run_shard", "main"]

# testing only: "K:M" makes shard K exit abruptly after writing M problems (a crashed engine)
CRASH_ENV = "_ARCHER_EVAL_CRASH_SHARD"


def _crash_after(shard: int) -> int | None:
    value = os.environ.get(CRASH_ENV, "")
    k, _, m = value.partition(":")
    return int(m) if k.strip() == str(shard) and m.strip().isdigit() else None


def _batches(jobs: list[dict], size: int):
    """Consecutive jobs with the same n, at most ``size`` at a time."""
    start = 0
    while start < len(jobs):
        end = start + 1
        while end < len(jobs) and end - start < size and jobs[end]["n"] == jobs[start]["n"]:
            end += 1
        yield jobs[start:end]
        start = end


def run_shard(spec: dict) -> int:
    """Generate every job of ``spec['jobs_file']`` into ``spec['out_file']``; returns the problems written."""
    from archer.eval.backends import SamplingConfig, make_backend
    from archer.eval.generations import JsonlAppender

    jobs = [json.loads(line) for line in Path(spec["jobs_file"]).read_text(encoding="utf-8").splitlines() if line]
    if not jobs:
        return 0
    if spec.get("threads"):
        import torch

        torch.set_num_threads(int(spec["threads"]))
    s = spec["sampling"]
    sampling = SamplingConfig(s["temperature"], s["top_p"], s["max_tokens"])
    record = {"temperature": s["temperature"], "top_p": s["top_p"], "max_tokens": s["max_tokens"],
              "seed": spec["seed"], "backend": spec["backend"]}
    crash = _crash_after(spec["shard"])
    backend = make_backend(spec["backend"], spec["model_dir"], tokenizer=spec.get("tokenizer"),
                           **spec.get("backend_options", {}))
    written = 0
    try:
        with JsonlAppender(spec["out_file"]) as sink:
            for batch in _batches(jobs, int(spec["batch_size"])):
                n = batch[0]["n"]
                texts = backend.generate([j["prompt_ids"] for j in batch], n, sampling, [j["seed"] for j in batch],
                                         [j["max_tokens"] for j in batch])
                if len(texts) != len(batch) or any(len(t) != n for t in texts):
                    raise RuntimeError(f"backend {spec['backend']} returned {[len(t) for t in texts]} responses "
                                       f"for {len(batch)} prompts x n={n}")
                for job, responses in zip(batch, texts):
                    row = job["row"]
                    sink.write({"data_source": row["data_source"], "index": row["index"],
                                "ground_truth": row["ground_truth"], "responses": responses, "prompt": row["prompt"],
                                "ability": row["ability"], "extra_info": row["extra_info"],
                                "sampling": {**record, "n": n}})
                    written += 1
                    if crash is not None and written >= crash:
                        os._exit(3)
    finally:
        backend.close()
    return written


def main(argv: list[str] | None = None) -> int:
    from archer.log import setup_logging

    argv = sys.argv[1:] if argv is None else argv
    setup_logging("archer.eval", os.environ.get("ARCHER_EVAL_LOG_LEVEL", "INFO"))
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    logger.info("shard %s: %s problems on %s", spec["shard"], spec["problems"],
                f"CUDA_VISIBLE_DEVICES={spec['gpus']}" if spec.get("gpus") is not None else "the default device")
    try:
        written = run_shard(spec)
    except EvalInputError as exc:
        logger.error("%s", exc)
        return 2
    logger.info("shard %s: done, %d problems", spec["shard"], written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
