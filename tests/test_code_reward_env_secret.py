"""The sandbox environment is built from scratch: a secret of the grader's environment is invisible."""

from archer.reward.code import sandbox as sb
from archer.reward.code.grader import compute_code_score


from code_reward_support import resp, stdin_gt


def test_env_secret_invisible(monkeypatch):
    monkeypatch.setenv("ARCHER_TEST_SECRET", "hunter2-s3cr3t")
    prog = ("import os\nv = os.environ.get('ARCHER_TEST_SECRET', '')\n"
            "try:\n    v += open('/proc/1/environ').read()\nexcept OSError:\n    pass\n"
            "try:\n    v += open(f'/proc/{os.getppid()}/environ').read()\nexcept OSError:\n    pass\n"
            "print('leak' if 'hunter2' in v else 'clean')\nprint(sorted(os.environ))")
    r = compute_code_score("code", resp(prog), stdin_gt(("", "leak")))
    assert r["failure_kind"] == "wrong answer"
    allowed = sorted(k for k in sb.minimal_env("/tmp")) + ["PWD"]
    # the program sees only the minimal variables
    r = compute_code_score("code", resp("import os\nprint('clean' if set(os.environ) <= set(%r) else sorted(os.environ))" % allowed),
                           stdin_gt(("", "clean")))
    assert r["acc"]
