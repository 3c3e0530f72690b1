"""The one exception type for bad input to the evaluation commands (the CLI prints it without a traceback)."""

from __future__ import annotations

from archer.cli import CliError, WorkFailed

__all__ = ["EvalInputError", "EngineError"]


class EvalInputError(CliError, ValueError):
    """Bad input: a missing or malformed file, an unknown benchmark, a checkpoint without weights, ...
    The message names the file / key / value at fault."""


class EngineError(WorkFailed, RuntimeError):
    """A generation engine process (one data-parallel shard) failed; the message names the shard, its
    GPUs and its log file. Finished problems are kept: re-running the same command resumes."""
