"""HumanEval's canonical solutions, converted to our assert form ({"functional": ...}), pass 164/164;
a mutated copy (each solution returns a wrong value) fails all of them. Needs ../shared/data/humaneval."""
import pytest



import gzip
import json
from pathlib import Path
from code_reward_support import resp, leftovers

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "humaneval" / "HumanEval.jsonl.gz"
pytestmark = pytest.mark.skipif(not DATA.exists(), reason=f"{DATA} absent (shared data not mounted)")


def load():
    with gzip.open(DATA, "rt") as f:
        return [json.loads(line) for line in f]


def as_sample(p, body):
    gt = json.dumps({"functional": p["test"], "fn_name": p["entry_point"]})
    return resp(p["prompt"] + body), gt


@pytest.mark.slow
def test_canonical_solutions_pass_and_mutants_fail():
    from archer.reward.code.grader import compute_code_score_batch

    probs = load()
    assert len(probs) == 164
    good = [as_sample(p, p["canonical_solution"]) for p in probs]
    out = compute_code_score_batch(["humaneval"] * 164, [g[0] for g in good], [g[1] for g in good])
    failed = [(p["task_id"], o) for p, o in zip(probs, out) if not o["acc"]]
    assert not failed, failed[:5]
    # mutant: the same function, but its result is replaced by a wrong one of a similar kind
    mutant_wrap = ("\n\n_orig_{n} = {n}\n"
                   "def {n}(*a, **k):\n    r = _orig_{n}(*a, **k)\n"
                   "    if isinstance(r, bool): return not r\n"
                   "    if isinstance(r, (int, float)): return r + 1\n"
                   "    if isinstance(r, str): return r + 'x'\n"
                   "    if isinstance(r, (list, tuple)): return type(r)(list(r) + [None])\n"
                   "    return 'mutated'\n")
    bad = [as_sample(p, p["canonical_solution"] + mutant_wrap.format(n=p["entry_point"])) for p in probs]
    out = compute_code_score_batch(["humaneval"] * 164, [b[0] for b in bad], [b[1] for b in bad], per_test_timeout=3.0)
    passed = [p["task_id"] for p, o in zip(probs, out) if o["acc"]]
    assert not passed, passed
    assert not leftovers()
