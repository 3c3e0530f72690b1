"""docs/example_eval_table.md is exactly what `score` writes for the test fixtures (so the example
in the docs cannot drift from the code)."""

from __future__ import annotations

from pathlib import Path

from code_reward_support import needs_bwrap
from eval_support import EXAMPLE_DOC_HEADER, example_table

DOC = Path(__file__).resolve().parents[1] / "docs" / "example_eval_table.md"


@needs_bwrap
def test_example_doc_matches_table_generated_from_fixtures(tmp_path):
    assert DOC.read_text(encoding="utf-8") == EXAMPLE_DOC_HEADER + example_table(tmp_path)
