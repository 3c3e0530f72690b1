"""Objects whose __eq__ is always True (or int/list subclasses) cannot pass call-based or assert tests:
results cross the sandbox boundary as plain JSON and are compared by the grader / judge."""
import pytest

from archer.reward.code.grader import compute_code_score


from code_reward_support import resp

ALWAYS = "class A:\n    def __eq__(self, o): return True\n    def __ne__(self, o): return False\n    def __bool__(self): return True\n"


def test_call_based_eq_object():
    gt = {"tests": [{"input": "[1, 2]", "output": "3", "testtype": "functional"}], "fn_name": "f"}
    r = compute_code_score("code", resp(ALWAYS + "class Solution:\n    def f(self, xs):\n        return A()"), gt)
    assert r["score"] == 0.0
    r = compute_code_score("code", resp("class I(int):\n    def __eq__(s, o): return True\nclass Solution:\n    def f(self, xs):\n        return I(7)"), gt)
    assert r["score"] == 0.0


@pytest.mark.parametrize("assert_code", ["assert f(1) == 2", "assert not (f(1) != 2)", "assert f(1)", "assert abs(f(1) - 2) < 1e-6"])
def test_assert_eq_object(assert_code):
    prog = ALWAYS + "class B(A):\n    def __sub__(self, o): return self\n    def __abs__(self): return self\n    def __lt__(self, o): return True\n" \
           "def f(x):\n    return B()"
    r = compute_code_score("humaneval", resp(prog), {"functional": assert_code})
    assert r["score"] == 0.0


def test_monkeypatched_builtins_do_not_reach_the_judge():
    prog = ("import builtins\nbuiltins.abs = lambda x: 0\nbuiltins.AssertionError = type('X', (Exception,), {})\n"
            "builtins.len = lambda x: 3\ndef f(x):\n    return x")
    for code in ["assert abs(f(1) - 2) < 1e-9", "assert len(f([1])) == 3", "assert f(1) == 2"]:
        assert compute_code_score("humaneval", resp(prog), {"functional": code})["score"] == 0.0


def test_reading_the_tests_is_not_possible():
    # the program looks for the expected output everywhere it could be: its files, /proc, the judge
    prog = ("import os, gc\nfound = []\n"
            "for root in ['/tmp', '/opt', '/proc/self', '/proc/1']:\n"
            "    for dp, dn, fn in os.walk(root):\n"
            "        for n in fn:\n"
            "            try:\n"
            "                if b'SECRET-EXPECTED-9731' in open(os.path.join(dp, n), 'rb').read(1 << 20):\n"
            "                    found.append(n)\n"
            "            except Exception:\n                pass\n"
            "        dn[:] = [d for d in dn if d not in ('fd', 'task', 'map_files', 'fdinfo', 'net')]\n"
            "        if dp.count('/') > 4: dn[:] = []\n"
            "for pid in os.listdir('/proc'):\n"
            "    if pid.isdigit():\n"
            "        for what in ['mem', 'cmdline', 'environ', 'fd/0']:\n"
            "            try:\n"
            "                if b'SECRET-EXPECTED-9731' in open(f'/proc/{pid}/{what}', 'rb').read(1 << 20): found.append(what)\n"
            "            except Exception:\n                pass\n"
            "for o in gc.get_objects():\n"
            "    if isinstance(o, str) and 'SECRET-EXPECTED-9731' in o: found.append('gc')\n"
            "def f(x):\n    return repr(found)\n")
    r = compute_code_score("humaneval", resp(prog), {"functional": "assert f(1) == 'SECRET-EXPECTED-9731'"}, per_test_timeout=5)
    assert r["score"] == 0.0
    r = compute_code_score("humaneval", resp(prog), {"functional": "assert f(1) == '[]'"}, per_test_timeout=5)
    assert r["acc"], r  # nothing was found anywhere
