"""Decide whether a predicted answer equals one of the gold answers.

Two stages:

1. **Fast path, in-process, pure Python** (:func:`fast_compare`): canonical-string equality, exact
   rational comparison of plain numbers (integers with leading zeros, decimals, fractions, scientific
   notation, percentages), units and degrees, and tuples / intervals / sets whose elements are numbers.
   It answers True, False, or "undecided". Plain numbers are always decided here; the comparison rule
   matches math-verify's (exact, or rounded to 6 decimals when either side is written as a decimal).
2. **Symbolic path** (undecided answers only): math-verify ``parse`` + ``verify`` in a worker process from
   :mod:`archer.reward.math.pool`, with a budget of ``timeout_s`` CPU seconds of the worker (waiting for
   a free worker or for a core does not count) and a hard wall-clock limit of
   ``WALL_LIMIT_FACTOR x timeout_s``. A timeout, a wall-limit kill ("starved") or a crashed worker means
   "not equal" and is counted.

Everything is deterministic for a given input (timeouts aside, which are reported).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from archer.reward.math.normalize import (
    Answer,
    Num,
    assignment_rhs,
    normalize_answer,
    numbers_equal,
    parse_number,
    percent_variants,
    split_structure,
    text_key,
)
from archer.reward.math.sizing import pool_size

WORKER_MODULE = "archer.reward.math.worker"

UNDECIDED = None

# A symbolic check is killed after this many times its CPU budget in wall seconds even if it has not
# used the budget (the node is too loaded to give it a core): the caller must get an answer.
WALL_LIMIT_FACTOR = 3.0


@dataclass(frozen=True)
class MathGraderConfig:
    timeout_s: float = 5.0  # CPU-second budget of one symbolic check (the worker is killed after it)
    num_workers: int = 0  # 0: see archer.reward.math.sizing; fixed when the pool starts
    max_answer_chars: int | None = 1000  # longer predictions are only compared as strings/numbers
    symbolic: bool = True  # False: fast path only (undecided counts as wrong)
    worker_memory_mb: int = 4096  # address-space limit of a worker (0: none)

    def pool_size(self) -> int:
        return pool_size(self.num_workers)


@dataclass(frozen=True)
class Verdict:
    correct: bool
    # "fast", "symbolic", "too_long", "timeout" (used its CPU budget), "starved" (hit the wall-clock
    # limit with budget left: the node was overloaded), "crash", "fast_only"
    method: str
    timed_out: bool = False  # "timeout" or "starved": no verdict, scored as wrong


# ----------------------------------------------------------------------------------------------------
# Fast path


def _numbers_of(ans: Answer, key: str) -> list[Num] | None:
    num = parse_number(key)
    if num is None:
        return None
    return percent_variants(num, ans.percent)


def _compare_numbers(a: list[Num], b: list[Num]) -> bool:
    return any(numbers_equal(x, y) for x in a for y in b)


def _element_numbers(items: tuple[str, ...]) -> list[Num] | None:
    out = []
    for item in items:
        num = parse_number(item)
        if num is None:
            return None
        out.append(num)
    return out


def _compare_structures(gold_key: str, pred_key: str) -> bool | None:
    gs, ps = split_structure(gold_key), split_structure(pred_key)
    if gs is None or ps is None:
        return UNDECIDED
    gn, pn = _element_numbers(gs.items), _element_numbers(ps.items)
    if gn is None or pn is None:
        return UNDECIDED
    if gs.kind != ps.kind:
        if gs.left == "\\{" or ps.left == "\\{":
            return False  # a braced set is never a tuple or an interval
        return UNDECIDED  # a bare list "1, 2" against "(1, 2)": let math-verify apply its rules
    if gs.kind == "seq":
        if (gs.left, gs.right) != (ps.left, ps.right) or len(gn) != len(pn):
            return False
        return all(numbers_equal(x, y) for x, y in zip(gn, pn))
    # sets (also bare "a, b" lists): same elements, order and multiplicity ignored
    return all(any(numbers_equal(x, y) for y in pn) for x in gn) and all(
        any(numbers_equal(x, y) for x in gn) for y in pn
    )


def fast_compare(gold: Answer, pred: Answer) -> bool | None:
    """True / False when decidable without symbolic algebra, else ``None`` (undecided)."""
    if gold.unit and pred.unit and gold.unit != pred.unit:
        return False  # both state a unit and they differ: "5 cm" is not "5 m"
    if gold.base is not None and pred.base is not None and gold.base != pred.base:
        return False  # "4210_5" is not "4210_8" (one side without a base just gives the digits)
    if gold.key == pred.key:
        return True if gold.key else False

    g_keys = [gold.key]
    p_keys = [pred.key]
    g_rhs, p_rhs = assignment_rhs(gold.key), assignment_rhs(pred.key)
    if g_rhs is not None and p_rhs is None:
        g_keys.append(g_rhs)
    elif p_rhs is not None and g_rhs is None:
        p_keys.append(p_rhs)

    decided_false = True
    for gk in g_keys:
        for pk in p_keys:
            if gk == pk:
                return True
            gn, pn = _numbers_of(gold, gk), _numbers_of(pred, pk)
            if gn is not None and pn is not None:
                if _compare_numbers(gn, pn):
                    return True
                continue
            structure = _compare_structures(gk, pk)
            if structure is True:
                return True
            if structure is False:
                continue
            decided_false = False
    if decided_false:
        return False

    gt, pt = text_key(gold), text_key(pred)
    if gt is not None and gt == pt:
        return True
    return UNDECIDED


# ----------------------------------------------------------------------------------------------------
# Symbolic path


def _symbolic_alternatives(ans: Answer) -> list[str]:
    alts = [ans.latex]
    if ans.percent and ans.latex:
        alts.append("\\frac{" + ans.latex + "}{100}")
    return alts


_STATS_LOCK = threading.Lock()
_STATS = {"graded": 0, "fast": 0, "symbolic": 0, "timeouts": 0, "starved": 0, "crashes": 0, "too_long": 0}


def _count(key: str) -> None:
    with _STATS_LOCK:
        _STATS[key] += 1


def grader_stats() -> dict[str, int]:
    """Counters since process start: answers graded, decided by the fast path, decided by a worker,
    timeouts (CPU budget used up), starved (wall-clock limit hit with budget left), crashes, too_long."""
    with _STATS_LOCK:
        return dict(_STATS)


def timeout_count() -> int:
    with _STATS_LOCK:
        return _STATS["timeouts"]


def math_worker_pool(config: MathGraderConfig | None = None):
    """The process-wide pool of math-verify workers (created, not started, on first call)."""
    from archer.reward.math.pool import get_pool

    config = config or MathGraderConfig()
    return get_pool(
        WORKER_MODULE,
        config.pool_size(),
        env={"ARCHER_MATH_WORKER_MEM_MB": str(int(config.worker_memory_mb))},
    )


def _symbolic_equal(golds: list[Answer], pred: Answer, config: MathGraderConfig) -> Verdict:
    pool = math_worker_pool(config)
    payload = {
        "golds": [_symbolic_alternatives(g) for g in golds],
        "preds": _symbolic_alternatives(pred),
        "cpu_s": config.timeout_s + 5.0,
    }
    reply = pool.request(payload, timeout=config.timeout_s, wall_limit=WALL_LIMIT_FACTOR * config.timeout_s)
    if reply.status == "timeout":
        _count("timeouts")
        return Verdict(False, "timeout", timed_out=True)
    if reply.status == "starved":
        _count("starved")
        return Verdict(False, "starved", timed_out=True)
    if reply.status == "crash":
        _count("crashes")
        return Verdict(False, "crash")
    _count("symbolic")
    return Verdict(bool(reply.payload.get("equal")), "symbolic")


def grade_answer(pred: str, golds: list[str], config: MathGraderConfig | None = None) -> Verdict:
    """Is ``pred`` (an extracted answer) equal to any of ``golds`` (unwrapped gold answers)?"""
    config = config or MathGraderConfig()
    _count("graded")
    p = normalize_answer(pred)
    undecided: list[Answer] = []
    for gold in golds:
        g = normalize_answer(gold)
        decision = fast_compare(g, p)
        if decision is True:
            _count("fast")
            return Verdict(True, "fast")
        if decision is UNDECIDED:
            undecided.append(g)
    if not undecided:
        _count("fast")
        return Verdict(False, "fast")
    if config.max_answer_chars is not None and len(p.latex) > config.max_answer_chars:
        _count("too_long")
        return Verdict(False, "too_long")
    if not config.symbolic:
        return Verdict(False, "fast_only")
    return _symbolic_equal(undecided, p, config)
