"""The hub code path (datasets.load_dataset(..., streaming=True)) prepares the code set, run on local files."""

from __future__ import annotations

import json

from data_support import FIXTURES, read_rows

from archer.data.prepare import Options, prepare_train
from archer.data.sources import SourceSpec, parse_spec


def test_code_set_through_datasets_streaming_on_local_parquet(tmp_path):
    spec = SourceSpec("hub", "parquet", "train", None, options={"data_files": str(FIXTURES / "archer2_code.parquet")})
    opts = Options(out_dir=tmp_path, sources={"archer2_code": spec}, decontam=False, max_bad_fraction=0.25,
                   progress=False)
    out = prepare_train("code", opts)
    assert out.status == "ok", out.message
    rows = read_rows(tmp_path / "train" / "code.parquet")
    assert len(rows) == 4
    report = json.loads((tmp_path / "train" / "code.report.json").read_text())
    assert report["manifest"]["inputs"]["archer2_code"]["kind"] == "hub"


def test_hub_spec_parsing():
    s = parse_spec("hub:Skywork/Skywork-OR1-RL-Data,split=math")
    assert (s.kind, s.target, s.split, s.config) == ("hub", "Skywork/Skywork-OR1-RL-Data", "math", None)
    s = parse_spec("hub:Hothan/OlympiadBench,config=OE_TO_maths_en_COMP,split=train")
    assert (s.config, s.split) == ("OE_TO_maths_en_COMP", "train")
    assert parse_spec("none").kind == "none"
