"""Errors of the export: one message that says what is wrong, with which file, and what to do."""

from __future__ import annotations

from archer.cli import FAILED, CliError


class ExportError(CliError):
    """Bad input or a failed step of the export (the message names the file / option and the fix)."""


class VerificationError(ExportError):
    """The exported model does not match the checkpoint shards; the output dir is marked as failed."""

    exit_code = FAILED
