"""Data preparation for archer: verl-format parquet for training (math, code) and evaluation sets.

CLI: ``python -m archer.data prepare --suite math|code|eval|all`` (see data/README.md).
``validate_prepared(path)`` checks a prepared file (used by the launcher's dry run).
"""

from __future__ import annotations

from archer.data.validate import validate_prepared

__all__ = ["validate_prepared", "EVAL_SETS", "TRAIN_SUITES"]

EVAL_SETS = (
    "aime2024",
    "aime2025",
    "amc2023",
    "math500",
    "minerva",
    "olympiadbench",
    "livecodebench_v5",
    "livecodebench_v6",
)
TRAIN_SUITES = ("math", "code")
