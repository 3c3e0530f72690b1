"""benchmarks/bench_data_streaming.py --tmp MISSING: exit 2 with one line naming the directory, no traceback."""

from __future__ import annotations

import subprocess
import sys

from data_support import REPO


def test_bench_with_missing_tmp_dir_names_it(tmp_path):
    missing = tmp_path / "no_such_dir"
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_data_streaming.py"), "--gb", "0.001",
                           "--tmp", str(missing)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert f"--tmp {missing}: not an existing directory" in done.stderr
    assert "Traceback" not in done.stderr
    assert not missing.exists()
