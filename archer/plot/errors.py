"""The one error type for bad input to the plotting commands (missing file, unreadable log, bad label)."""

from __future__ import annotations


class PlotInputError(ValueError):
    """Bad input: the message names the file, option or value at fault. The CLI prints it and exits 2."""
