"""Runs scripts/cpu_env.sh's archer_cpu_env against a stand-in venv whose bin/python records its arguments
(one line per call) instead of running pip: what the set-up would install, in which order, says and skips."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

# exits 1 for a `--no-index` call when NO_LOCAL_WHEEL is set (no local torch wheel), else 0
STAND_IN = """#!/usr/bin/env bash
echo "$*" >> "$(dirname "$0")/../calls.txt"
if [ -n "${NO_LOCAL_WHEEL:-}" ] && [[ " $* " == *" --no-index "* ]]; then exit 1; fi
exit 0
"""


def stand_in_venv(path: Path) -> Path:
    (path / "bin").mkdir(parents=True)
    python = path / "bin" / "python"
    python.write_text(STAND_IN)
    python.chmod(0o755)
    return path


def run_cpu_env(venv: Path, *extra: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, list[str]]:
    script = f'source scripts/cpu_env.sh && archer_cpu_env "$PWD" python3 "{venv}" test {" ".join(extra)}'
    # a bwrap on PATH: the set-up's apt-get install of bubblewrap is not what these tests are about
    tools = venv.parent / "tools"
    tools.mkdir(exist_ok=True)
    (tools / "bwrap").write_text("#!/bin/sh\nexit 0\n")
    (tools / "bwrap").chmod(0o755)
    done = subprocess.run(["bash", "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                          env={"PATH": f"{tools}:/usr/bin:/bin", **(env or {})})
    calls = (venv / "calls.txt").read_text().splitlines() if (venv / "calls.txt").is_file() else []
    return done, calls
