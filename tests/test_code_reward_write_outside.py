"""With bubblewrap the file system outside the sandbox's private /tmp is read-only (or absent)."""

from archer.reward.code import sandbox as sb
from archer.reward.code.grader import compute_code_score


from pathlib import Path
from code_reward_support import resp, stdin_gt, needs_bwrap


@needs_bwrap
def test_write_outside_temp_dir_is_blocked(tmp_path):
    target = tmp_path / "pwned.txt"
    repo_target = Path(sb.sys.prefix) / "pwned.txt"
    prog = ("ok = 0\n"
            f"for p in [{str(target)!r}, {str(repo_target)!r}, '/etc/pwned', '/usr/pwned', '/pwned', '/dev/shm/x']:\n"
            "    try:\n        open(p, 'w').write('x')\n        ok += 1\n    except OSError:\n        pass\n"
            "open('/tmp/inside.txt', 'w').write('fine')\n"
            "print(ok, open('/tmp/inside.txt').read())")
    r = compute_code_score("code", resp(prog), stdin_gt(("", "0 fine")))
    assert r["acc"], r
    assert not target.exists() and not repo_target.exists()


@needs_bwrap
def test_repository_and_data_are_not_visible():
    here = str(Path(__file__).resolve())
    prog = f"import os\nprint(os.path.exists({here!r}), os.path.exists('/work/shared/data'))"
    assert compute_code_score("code", resp(prog), stdin_gt(("", "False False")))["acc"]


def test_temp_dir_is_fresh_and_removed():
    import glob

    before = set(glob.glob("/tmp/archer-sbx-*"))
    prog = "import os\nprint(len(os.listdir('.')))\nopen('left.txt', 'w').write('x')"
    r = compute_code_score("code", resp(prog), stdin_gt(("", "0"), ("", "0")))
    assert r["acc"], r
    assert set(glob.glob("/tmp/archer-sbx-*")) == before
