"""exit(0) / os._exit(0) / sys.exit() before the asserts cannot pass assert-style tests: the end marker
is written by the judge only after the last assert, in a process the program cannot reach."""
import pytest

from archer.reward.code.grader import compute_code_score


from code_reward_support import resp, stdin_gt, leftovers

GT = {"functional": "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(2) == 4\n", "fn_name": "f"}


@pytest.mark.parametrize("prog", [
    "def f(x):\n    return 0\nexit(0)",
    "import os\ndef f(x):\n    return 0\nos._exit(0)",
    "import sys\ndef f(x):\n    sys.exit(0)",
    "import os\ndef f(x):\n    os._exit(0)",
    "import os, signal\ndef f(x):\n    os.kill(os.getppid(), signal.SIGKILL)",
    "import os\ndef f(x):\n    os.kill(-1, 9)",
])
def test_exit_before_asserts_fails(prog):
    r = compute_code_score("humaneval", resp(prog), GT, per_test_timeout=2.0)
    assert r["score"] == 0.0 and not r["acc"], r
    assert not leftovers()


def test_forged_marker_does_not_pass():
    prog = ("import os, json\n"
            "for fd in range(3, 20):\n"
            "    try:\n        os.write(fd, b'{\"event\": \"test\", \"i\": 0, \"status\": \"ok\"}\\n{\"event\": \"end\", \"marker\": \"ARCHER-END-OF-TESTS-v1\"}\\n')\n"
            "    except OSError:\n        pass\n"
            "print(json.dumps({'event': 'end', 'marker': 'ARCHER-END-OF-TESTS-v1'}))\n"
            "os._exit(0)")
    r = compute_code_score("humaneval", resp(prog), GT, per_test_timeout=2.0)
    assert r["score"] == 0.0


def test_kill_parent_in_stdin_mode():
    prog = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint(1)"
    r = compute_code_score("code", resp(prog), stdin_gt(("", "1")), per_test_timeout=2.0)
    assert r["score"] == 0.0
    assert not leftovers()
