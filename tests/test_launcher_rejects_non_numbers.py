"""A launcher variable that is not a number where one is needed stops the launcher at once, naming the
variable (before hydra turns it into a string), and numbers pass in every spelling the launcher accepts.
In-process (launcher_support.dry: archer.launch.run's --dry-run path)."""

from __future__ import annotations

import pytest

from launcher_support import dry

# numbers written every way the launcher accepts
EVERY_SPELLING = {"LR": "1e-6", "TEMPERATURE": "1.", "TOP_P": ".95", "TEST_FREQ": "-1", "KL_LOSS_COEF": "0.001",
                  "MAX_RESPONSE_LENGTH": "1024"}


@pytest.mark.parametrize(
    "name, value, says",
    [
        ("MAX_RESPONSE_LENGTH", "32k", "MAX_RESPONSE_LENGTH=32k is not a whole number"),
        ("N_RESPONSES", "abc", "N_RESPONSES=abc is not a whole number"),
        ("NNODES", "two", "NNODES=two is not a whole number"),
        ("LR", "1e-6x", "LR=1e-6x is not a number"),
        ("LOSS_MODE", "grpo", "LOSS_MODE=grpo: grpo not allowed; use one of"),
    ],
)
def test_non_number_is_named_before_anything_runs(tmp_path, name, value, says):
    done = dry("math", {"DATA_DIR": str(tmp_path), name: value})
    assert done.exit_code == 2 and done.config is None
    assert says in done.problems, done.problems
    # the environment's own check (archer.launch.resolve.environment_problems), before any value is resolved
    assert "problem(s) in the settings; nothing was started" in done.problems and not done.overrides
    if name == "LOSS_MODE":
        assert "aspo" in done.problems and "vanilla" in done.problems


def test_numbers_in_every_spelling_pass():
    done = dry("math", EVERY_SPELLING)
    assert done.exit_code == 0, done.problems
