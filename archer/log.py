"""One log style for archer's command-line tools: ``PROG: [warning: |error: ]message`` on stderr.

    from archer.log import setup_logging, get_logger

    log = setup_logging("archer.data", verbose=args.verbose)   # once, in the CLI's main()
    log.info("wrote %s", path)         # archer.data: wrote data/eval/aime2024.parquet
    log.warning("%s: skipped", name)   # archer.data: warning: aime2024: skipped
    log.error("%s", exc)               # archer.data: error: <message naming the file / key / line>

Library modules keep using ``get_logger(__name__)`` (= ``logging.getLogger``); every record of an
``archer.*`` logger is printed with the CLI's prefix, records of other libraries (verl, transformers, ...)
with their own logger name, e.g. ``transformers: warning: ...``. Lines are written through
``tqdm.write`` so they never land on the line of a progress bar still being drawn.

``setup_logging`` may be called again (e.g. by tests calling several ``main()``s in one process): it
replaces its own handler and leaves other handlers (pytest's caplog) alone.
"""

from __future__ import annotations

import logging
import sys

__all__ = ["setup_logging", "get_logger", "LEVEL_WORDS"]

LEVEL_WORDS = {logging.DEBUG: "debug: ", logging.INFO: "", logging.WARNING: "warning: ",
               logging.ERROR: "error: ", logging.CRITICAL: "error: "}


def get_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)``; named here so library code and CLIs import one module."""
    return logging.getLogger(name)


class _Formatter(logging.Formatter):
    def __init__(self, prog: str):
        super().__init__()
        self.prog = prog

    def format(self, record: logging.LogRecord) -> str:
        name = record.name
        prefix = self.prog if name == "archer" or name.startswith("archer.") or name == "root" else name.split(".")[0]
        word = LEVEL_WORDS.get(record.levelno, f"{record.levelname.lower()}: ")
        text = f"{prefix}: {word}{record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class _Handler(logging.Handler):
    """stderr, through tqdm.write when tqdm is there (a bar being drawn is cleared and redrawn)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = self.format(record)
            try:
                from tqdm import tqdm

                tqdm.write(msg, file=sys.stderr)
            except ImportError:  # pragma: no cover - tqdm is a dependency
                sys.stderr.write(msg + "\n")
            sys.stderr.flush()
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


def setup_logging(prog: str, level: int | str = logging.INFO, *, quiet: bool = False,
                  verbose: bool = False) -> logging.Logger:
    """Configure the root logger for the CLI ``prog`` (e.g. ``"archer.eval"``) and return its logger.

    ``level``: a logging level or its name ("INFO", "debug"); ``quiet`` -> WARNING, ``verbose`` -> DEBUG
    (they win over ``level``). Third-party loggers stay at WARNING unless ``verbose``."""
    if isinstance(level, str):
        level = logging.getLevelName(level.upper())
        if not isinstance(level, int):
            level = logging.INFO
    if quiet:
        level = logging.WARNING
    if verbose:
        level = logging.DEBUG
    root = logging.getLogger()
    for h in list(root.handlers):
        if isinstance(h, _Handler):
            root.removeHandler(h)
    handler = _Handler()
    handler.setFormatter(_Formatter(prog))
    root.addHandler(handler)
    root.setLevel(level if verbose else max(level, logging.WARNING))
    logging.getLogger("archer").setLevel(level)
    return logging.getLogger(prog)
