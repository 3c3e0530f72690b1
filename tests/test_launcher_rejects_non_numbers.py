"""A launcher variable that is not a number where one is needed stops the launcher at once, naming the
variable (before bash arithmetic turns it into a cryptic error, or hydra into a string)."""

from __future__ import annotations

import pytest

from launcher_support import EVERY_SPELLING, dry_runs, run_launcher


@pytest.mark.parametrize(
    "name, value, says",
    [
        ("MAX_RESPONSE_LENGTH", "32k", "MAX_RESPONSE_LENGTH=32k is not a whole number"),
        ("N_RESPONSES", "abc", "N_RESPONSES=abc is not a whole number"),
        ("NNODES", "two", "NNODES=two is not a whole number"),
        ("LR", "1e-6x", "LR=1e-6x is not a number"),
        ("LOSS_MODE", "grpo", "LOSS_MODE=grpo: use aspo (ASPO) or vanilla"),
    ],
)
def test_non_number_is_named_before_anything_runs(tmp_path, name, value, says):
    proc = run_launcher("math", "--dry-run", timeout=120, DATA_DIR=str(tmp_path), **{name: value})
    assert proc.returncode == 1
    assert says in proc.stderr, proc.stderr[-2000:]
    assert proc.stdout == ""
    assert "value too great" not in proc.stderr and "syntax error" not in proc.stderr


def test_numbers_in_every_spelling_pass():
    (proc,) = dry_runs({"spellings": EVERY_SPELLING}).values()
    assert proc.returncode == 0, proc.stderr[-2000:]
