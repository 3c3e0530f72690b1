"""Progress bars of `prepare` name an eval set once ("aime2024: ..."), a training source as SUITE:SOURCE."""

from __future__ import annotations

from data_support import FIXTURES

from archer.data.__main__ import main


def test_eval_set_progress_label_is_not_doubled(tmp_path, capsys):
    rc = main(["prepare", "--suite", "eval", "--sets", "aime2024", "--out-dir", str(tmp_path),
               "--source", f"aime2024={FIXTURES / 'aime2024_mini.jsonl'}"])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "aime2024: " in err and "aime2024:aime2024" not in err
