"""The one error type for bad input to the plotting commands (missing file, unreadable log, bad label)."""

from __future__ import annotations

from archer.cli import CliError


class PlotInputError(CliError, ValueError):
    """Bad input: the message names the file, option or value at fault. The CLI prints it and exits 2."""
