"""The one exception type for bad input to the evaluation commands (the CLI prints it without a traceback)."""

from __future__ import annotations

__all__ = ["EvalInputError"]


class EvalInputError(ValueError):
    """Bad input: a missing or malformed file, an unknown benchmark, a checkpoint without weights, ...
    The message names the file / key / value at fault."""
