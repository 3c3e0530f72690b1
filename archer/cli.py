"""One runner for every ``python -m archer.*`` command: one error base, one exit-code convention.

Exit codes (every command, docs/cli.md):

* 0 - done;
* 1 - the work failed (a check that ran found a problem it could not fix, a training or evaluation stage
  failed, an unexpected error: traceback);
* 2 - bad input: a path, option, value or config the user gave (the message names it and the fix);
* 130 - interrupted (Ctrl-C).

A command raises :class:`CliError` (or a subclass: each package's own input error derives from it) for
bad input; :func:`run` prints ``<prog>: error: <message>`` and exits with the error's code.
"""

from __future__ import annotations

import sys
from typing import Callable, Optional, Sequence

OK, FAILED, BAD_INPUT, INTERRUPTED = 0, 1, 2, 130


class CliError(Exception):
    """Bad input to a command: the message names what and how to fix it."""

    exit_code = BAD_INPUT


class WorkFailed(CliError):
    """The command's work failed for a reason the message explains (not the user's input)."""

    exit_code = FAILED


def run(main: Callable[[Optional[Sequence[str]]], Optional[int]], prog: str, argv: Optional[Sequence[str]] = None) -> int:
    """Call ``main(argv)`` and turn its outcome into an exit code (see the module doc)."""
    try:
        code = main(argv)
    except CliError as error:
        _say(prog, "error", error)
        return error.exit_code
    except KeyboardInterrupt:
        _say(prog, "interrupted", "Ctrl-C; rerun the same command to continue where it can")
        return INTERRUPTED
    return OK if code is None else int(code)


def _say(prog: str, word: str, message) -> None:
    import logging

    logger = logging.getLogger(prog)
    if logger.handlers or logging.getLogger().handlers:  # archer.log.setup_logging ran: one log style
        (logger.error if word == "error" else logger.warning)("%s", message)
    else:
        print(f"{prog}: {word}: {message}", file=sys.stderr)
