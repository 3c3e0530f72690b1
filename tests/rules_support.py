"""Shared inputs of the rule tests (tests/test_rules_*.py): a plain nested config for calling one rule of
archer/launch/rules.py directly (:func:`config`), and, for the same mistakes through the whole dry run
(``archer.launch.dry_run.run``, what ``--dry-run`` and the real run's preflight call, in-process), one small
world per session (a tiny local model, data files) with a base config that passes (:func:`base`,
:func:`rejected`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from archer.launch import dry_run

_WORLD: dict[str, str] = {}


def config(values: dict[str, Any]) -> dict:
    """{dotted key: value} as the nested dict a composed config is (enough for a rule of archer.launch.rules)."""
    out: dict = {}
    for key, value in values.items():
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def write_parquet(path: Path, rows: list[dict]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def rows(source: str, ability: str, n: int) -> list[dict]:
    from archer.data.rows import make_row

    return [make_row(source, f"question {i}?", ability, str(i), {"split": "train", "index": i}) for i in range(n)]


def world(tmp_path_factory) -> dict[str, str]:
    """The session's tiny model (max_position_embeddings 64) and data files (built on first use)."""
    if not _WORLD:
        from verl_cpu_support import build_tiny_model

        tmp = tmp_path_factory.getbasetemp() / "rules_world"
        data = tmp / "data"
        _WORLD.update({
            "model": str(build_tiny_model(tmp / "model")),
            "math": str(write_parquet(data / "train" / "math.parquet", rows("deepscaler", "math", 64))),
            "small": str(write_parquet(data / "small" / "math.parquet", rows("deepscaler", "math", 3))),
            "code": str(write_parquet(data / "other" / "code.parquet", rows("archer2_code", "code", 64))),
            "eval": str(write_parquet(data / "eval" / "math500.parquet", rows("math500", "math", 64))),
            "ckpt": str(tmp / "ckpt"),
        })
    return _WORLD


def base(w: dict[str, str], *extra: str) -> list[str]:
    return [
        f"data.train_files=[{w['math']}]", f"data.val_files=[{w['eval']}]",
        f"actor_rollout_ref.model.path={w['model']}", f"trainer.default_local_dir={w['ckpt']}",
        "data.train_batch_size=8", "actor_rollout_ref.actor.ppo_mini_batch_size=4", "actor_rollout_ref.rollout.n=4",
        "data.max_prompt_length=16", "data.max_response_length=32",
        *extra,
    ]


def rejected(w: dict[str, str], *extra: str, task: str = "math") -> str:
    """The dry run's error text for the base config plus ``extra`` (it must be rejected)."""
    with pytest.raises(dry_run.DryRunError) as raised:
        dry_run.run(base(w, *extra), task=task)
    return str(raised.value)


def problem_lines(message: str) -> list[str]:
    """The listed problems of a dry run's error ("  - ..." lines)."""
    return [line[4:] for line in message.splitlines() if line.startswith("  - ")]


def line_naming(message: str, named: str) -> str:
    """The one listed problem that names ``named``."""
    found = [line for line in problem_lines(message) if named in line]
    assert found, f"no problem names {named!r}:\n{message}"
    return found[0]
