"""The data CLI documents its commands and options in --help."""

from __future__ import annotations

import subprocess
import sys

from data_support import REPO


def test_prepare_help_lists_every_option():
    out = subprocess.run([sys.executable, "-m", "archer.data", "prepare", "--help"], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    for opt in ("--suite", "--out-dir", "--local-dir", "--source", "--sets", "--max-bad-fraction", "--ngram",
                "--min-overlap", "--no-decontam", "--strict", "--force", "--batch-rows", "--no-progress"):
        assert opt in out, opt


def test_top_level_help_names_commands():
    out = subprocess.run([sys.executable, "-m", "archer.data", "--help"], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout
    assert "prepare" in out and "validate" in out


def test_unknown_source_name_is_an_error_naming_it(capsys):
    from archer.data.__main__ import main

    assert main(["prepare", "--suite", "math", "--source", "gsm8k=/x.jsonl", "--no-progress"]) == 1
    assert "unknown source 'gsm8k'" in capsys.readouterr().err


def test_validate_command_prints_counts_and_fails_on_a_bad_file(tmp_path, capsys):
    import json

    from data_support import FIXTURES, run_prepare

    from archer.data.__main__ import main

    assert run_prepare(tmp_path, "math", "--no-decontam", deepscaler=FIXTURES / "deepscaler.jsonl",
                       skywork_or1_math="none", dapo_math="none") == 0
    capsys.readouterr()
    good = tmp_path / "train" / "math.parquet"
    bad = tmp_path / "bad.parquet"
    bad.write_text("x")
    assert main(["validate", str(good), str(bad)]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out)["data_sources"] == {"deepscaler": 4}
    assert "bad.parquet: not a readable parquet file" in err
