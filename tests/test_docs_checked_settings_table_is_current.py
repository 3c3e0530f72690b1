"""docs/launch.md's table of checked settings is the one archer/launch/settings.py generates."""

from pathlib import Path

from archer.launch.settings import TABLE_END, TABLE_START, markdown_table

DOC = Path(__file__).resolve().parents[1] / "docs" / "launch.md"


def test_docs_table_matches_the_declarations():
    text = DOC.read_text()
    table = text[text.index(TABLE_START) + len(TABLE_START):text.index(TABLE_END)].strip()
    assert table == markdown_table(), "docs/launch.md is stale: run python -m archer.launch.settings"
