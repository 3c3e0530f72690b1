"""Re-run detection: a manifest (inputs + options + code version) stored in each output's report.

A re-run whose manifest equals the one in ``<output>.report.json`` (and whose output exists and
validated last time) is skipped; ``--force`` redoes it. Local inputs are identified by path, size and
mtime; hub inputs by id/split/config only (use ``--force`` to fetch a newer hub revision).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

__all__ = ["code_version", "report_path", "load_report", "up_to_date", "write_json_atomic"]


def code_version() -> str:
    """Digest of archer/data/*.py and the code-test parser: a change there re-prepares the data."""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    files = sorted(here.glob("*.py")) + [here.parent / "reward" / "code" / "testcases.py"]
    for f in files:
        if f.exists():
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def report_path(output: Path) -> Path:
    return output.with_name(output.name.removesuffix(".parquet") + ".report.json")


def load_report(output: Path) -> dict | None:
    p = report_path(output)
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return None


def up_to_date(output: Path, manifest: dict[str, Any]) -> bool:
    rep = load_report(output)
    return bool(output.exists() and rep and rep.get("status") == "ok" and rep.get("manifest") == manifest)


def write_json_atomic(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    tmp.replace(path)
