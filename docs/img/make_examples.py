"""Regenerate the example figures of docs/plots.md from the SYNTHETIC test fixtures (not from a real run).

    .venv/bin/python docs/img/make_examples.py

Runs ``python -m archer.plot`` on ``tests/fixtures/plot/`` (made-up ASPO and GRPO logs and eval summaries,
see ``tests/fixtures/plot/make_fixtures.py``), every title marked "EXAMPLE DATA", and stores a few of the
PNGs here, reduced to a 96-colour palette so each stays under 150 KB.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "plot"
TITLE = "EXAMPLE DATA (synthetic test fixtures, not a real run)"
MAX_BYTES = 150_000

sys.path.insert(0, str(REPO))
from archer.plot.__main__ import main  # noqa: E402


def _store(src: Path, name: str) -> Path:
    dest = HERE / name
    Image.open(src).convert("RGB").quantize(colors=96).save(dest, optimize=True)
    size = dest.stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"{dest}: {size} bytes > {MAX_BYTES}; lower the dpi")
    return dest


def build() -> None:
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        tmp = Path(tmp)
        runs = ["--run", f"{FIXTURES / 'aspo.jsonl'}:ASPO", "--run", f"{FIXTURES / 'grpo.jsonl'}:GRPO"]
        if main(["-q", "dynamics", *runs, "--out", str(tmp / "dyn"), "--smooth", "3", "--title", TITLE, "--dpi", "72"]):
            raise SystemExit("dynamics figure failed")
        evals = ["--results", f"{FIXTURES / 'eval_results' / 'aspo'}:ASPO", "--results", f"{FIXTURES / 'eval_results' / 'grpo'}:GRPO"]
        if main(["-q", "eval", *evals, "--out", str(tmp / "eval_lines.png"), "--title", TITLE, "--dpi", "80"]):
            raise SystemExit("eval line figure failed")
        last = [
            "--results", f"{FIXTURES / 'eval_results' / 'aspo' / 'global_step_300'}:ASPO",
            "--results", f"{FIXTURES / 'eval_results' / 'grpo' / 'global_step_300'}:GRPO",
        ]
        if main(["-q", "eval", *last, "--out", str(tmp / "eval_bars.png"), "--title", TITLE, "--dpi", "80"]):
            raise SystemExit("eval bar figure failed")
        stored = [
            _store(tmp / "dyn" / "overview.png", "example_dynamics_overview.png"),
            _store(tmp / "dyn" / "dual_clip_neg.png", "example_dual_clip_neg.png"),
            _store(tmp / "eval_lines.png", "example_eval_lines.png"),
            _store(tmp / "eval_bars.png", "example_eval_bars.png"),
        ]
    for dest in stored:
        print(f"{dest.relative_to(REPO)} ({dest.stat().st_size // 1000} KB)")


if __name__ == "__main__":
    build()
