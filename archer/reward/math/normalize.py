"""Normalise one answer string (gold or prediction) into an :class:`Answer`.

Pure Python, no sympy: this runs in the calling process for every answer, so it must be cheap and
linear in the input size. It produces

* ``latex``: cleaned LaTeX that math-verify can parse (spacing commands, ``\\left``/``\\right``,
  ``\\dfrac``/``\\tfrac``, degrees, percent signs, trailing ``\\text{}`` units, thousands separators and
  ``1.5e3`` style exponents are taken care of here, because math-verify mis-reads some of them);
* ``key``: a whitespace-free canonical string for exact comparison;
* the side information that was stripped: ``unit``, ``percent``, ``degree``.

Numbers and simple numeric structures are parsed by :func:`parse_number` / :func:`split_structure`
so the grader can decide most answers without any symbolic algebra.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction

# ----------------------------------------------------------------------------------------------------
# Unicode -> LaTeX


_SUPERSCRIPTS = {
    "²": "^2",
    "³": "^3",
    "¹": "^1",
    "⁰": "^0",
    "⁴": "^4",
    "⁵": "^5",
    "⁶": "^6",
    "⁷": "^7",
    "⁸": "^8",
    "⁹": "^9",
    "⁻": "^-",
}
_UNICODE = {
    "\u2212": "-",  # minus sign
    "\u2013": "-",  # en dash
    "\u2044": "/",  # fraction slash (NFKC turns ½ into 1⁄2)
    "\u2215": "/",
    "÷": "/",
    "π": "\\pi ",
    "∞": "\\infty ",
    "×": "\\times ",
    "·": "\\cdot ",
    "⋅": "\\cdot ",
    "√": "\\sqrt",
    "°": "^\\circ",
    "≤": "\\le ",
    "≥": "\\ge ",
    "≠": "\\ne ",
    "∪": "\\cup ",
    "∩": "\\cap ",
    "\u00a0": " ",
}


def unicode_to_latex(s: str) -> str:
    if s.isascii():
        return s
    for k, v in _SUPERSCRIPTS.items():
        s = s.replace(k, v)
    s = unicodedata.normalize("NFKC", s)  # full-width digits, ½ -> 1⁄2, ...
    for k, v in _UNICODE.items():
        s = s.replace(k, v)
    return s


# ----------------------------------------------------------------------------------------------------
# LaTeX cleanup

_OUTER_DELIMS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
_SIZING = re.compile(
    r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|big|Big|bigg|Bigg)(?![A-Za-z])\s*\.?"
)
_SPACES = re.compile(r"\\[,;: ]|\\q?quad(?![A-Za-z])|~")
_FRAC_VARIANTS = re.compile(r"\\[dtc]frac(?![A-Za-z])")
_BINOM_VARIANTS = re.compile(r"\\[dt]binom(?![A-Za-z])")
_DISPLAY = re.compile(r"\\(?:displaystyle|textstyle|scriptstyle)(?![A-Za-z])")
_DEGREE = re.compile(
    r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ(?![A-Za-z])|\\circ(?![A-Za-z])\s*$"
    r"|\\degree(?![A-Za-z])|\^\s*\{\s*\\text\{\s*o\s*\}\s*\}"
)
_PERCENT = re.compile(r"\\?%")
# "28 percent", "28 per cent", "28 pct", "28\text{ percent}": the same as "28\%".
_PERCENT_WORD = re.compile(
    r"(?<=[\d}\s])\s*(?:\\(?:text|textrm|textnormal|mbox|mathrm)\s*\{\s*(?:percent|per\s*cent|pct\.?)\s*\}"
    r"|(?:percent|per\s*cent|pct\.?))\s*$",
    re.I,
)
# "4:30 p.m.", "\text{4:30 p.m.}", "4:30\text{ pm}", "04:30 AM" -> time 4:30 with meridiem "pm"/"am".
_TEXT_WRAPPER = re.compile(r"\\(?:text|textrm|textnormal|mbox|mathrm)\s*\{([^{}]*)\}")
_TIME_OF_DAY = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(?:([ap])\.?\s*m\.?)?$", re.I)
# "32,\! 349": a thousands separator whose negative space is followed by a real space.
_COMMA_NEGSPACE = re.compile(r"(?:,|\{,\})\s*\\!\s*")
_DOLLAR = re.compile(r"\\\$|\\dollar(?![A-Za-z])")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:[, ]\d{3})+(?:\.\d+)?$")  # 1,000 / 1{,}000 / 1\,000
# 1.5e3, 4.5e-7, 3e8 -> 1.5\times10^{3}. An integer mantissa with a signed exponent ("2e-1") is left alone:
# it reads just as well as 2e - 1 with Euler's number.
_SCI_E = re.compile(
    r"(?<![A-Za-z\\\d.])(\d+\.\d*|\.\d+)[eE]([+-]?\d+)(?![A-Za-z\d])|(?<![A-Za-z\\\d.])(\d+)[eE](\d+)(?![A-Za-z\d])"
)
# A trailing text-like group is a unit: "5\text{ cm}", "3\,\mathrm{m}^2".
_TRAILING_TEXT = re.compile(
    r"^(?P<value>.*?)\s*\\(?:text|textrm|textnormal|mbox|mathrm|operatorname)\s*\{(?P<unit>[^{}]*)\}"
    r"(?P<pow>\s*\^\s*(?:\{\s*-?\d+\s*\}|\d))?\s*$",
    re.S,
)
_WHOLE_TEXT = re.compile(
    r"^\\(?:text|textbf|textit|textrm|textnormal|mbox|mathrm|mathbf|operatorname)\s*\{(?P<inner>[^{}]*)\}$"
)
_NOT_UNITS = {"i", "e", "d", "j", "or", "and"}
_UNIT_OK = re.compile(r"^[A-Za-z][A-Za-z .\-/]*(?:\^\s*\{?\s*-?\d+\s*\}?)?$")
# A number written in another base: 4210_{5}, 1011_2, A5_{16}.
_BASE_N = re.compile(r"^(?P<digits>-?[0-9A-Z]*\d[0-9A-Z]*)_\{?(?P<base>\d{1,2})\}?$")


def _strip_outer(s: str) -> str:
    changed = True
    while changed:
        changed = False
        s = s.strip()
        for left, right in _OUTER_DELIMS:
            if len(s) >= len(left) + len(right) and s.startswith(left) and s.endswith(right):
                inner = s[len(left) : len(s) - len(right)]
                if left in inner or right in inner:
                    continue  # "$a$ and $b$" is not one delimited formula
                s = inner
                changed = True
                break
    return s


def clean_latex(s: str) -> str:
    """Presentation-only cleanup: same mathematical content, fewer spellings."""
    s = unicode_to_latex(s)
    s = _strip_outer(s)
    if "\\" in s:
        s = _DISPLAY.sub("", s)
        s = _SIZING.sub("", s)
        s = _COMMA_NEGSPACE.sub(",", s)
        s = s.replace("\\!", "")
        s = _SPACES.sub(" ", s)
        s = _FRAC_VARIANTS.sub(r"\\frac", s)
        s = _BINOM_VARIANTS.sub(r"\\binom", s)
    s = s.replace("{,}", ",")
    s = s.strip().rstrip(".;").strip()
    return s


# ----------------------------------------------------------------------------------------------------
# Units

_UNIT_ALIASES = {
    "centimeter": "cm",
    "centimetre": "cm",
    "millimeter": "mm",
    "millimetre": "mm",
    "kilometer": "km",
    "kilometre": "km",
    "meter": "m",
    "metre": "m",
    "inch": "in",
    "foot": "ft",
    "feet": "ft",
    "yard": "yd",
    "mile": "mi",
    "second": "s",
    "sec": "s",
    "minute": "min",
    "hour": "h",
    "hr": "h",
    "day": "day",
    "gram": "g",
    "kilogram": "kg",
    "pound": "lb",
    "lbs": "lb",
    "degree": "deg",
    "unit": "unit",
    "cent": "cent",
    "dollar": "dollar",
    "square": "sq",
    "cubic": "cu",
}


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 2 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def normalize_unit(unit: str, power: str = "") -> str:
    """Canonical unit spelling: "square centimeters" -> "cm^2", "\\text{ inches}" -> "in"."""
    text = unit.lower()
    exp = re.sub(r"[^\d-]", "", power)
    inner = re.search(r"\^\s*\{?\s*(-?\d+)\s*\}?\s*$", text)
    if inner:
        exp = exp or inner.group(1)
        text = text[: inner.start()]
    words = [w for w in re.split(r"[\s.]+", text) if w]
    words = [_UNIT_ALIASES.get(_singular(w), _singular(w)) for w in words]
    if words and words[0] in ("sq", "cu"):
        exp = "2" if words[0] == "sq" else "3"
        words = words[1:]
    if exp == "1":
        exp = ""
    return "".join(words) + (f"^{exp}" if exp else "")


def is_degree_unit(unit_key: str) -> bool:
    return unit_key == "deg"


# ----------------------------------------------------------------------------------------------------
# The normalised answer


@dataclass(frozen=True)
class Answer:
    raw: str
    latex: str  # cleaned LaTeX, side information removed: what the symbolic checker sees
    key: str  # canonical whitespace-free form for exact comparison
    unit: str | None = None
    percent: bool = False
    degree: bool = False
    base: int | None = None  # "4210_{5}": digits "4210" in base 5


def _canonical_key(latex: str) -> str:
    # Drop whitespace except between two digits ("1 2" must not become "12").
    key = re.sub(r"(?<=\d)\s+(?=\d)", "\x00", latex)
    key = re.sub(r"\s+", "", key).replace("\x00", " ")
    # Single-token groups: x^{2} -> x^2, \frac12 -> \frac{1}{2}, \sqrt3 -> \sqrt{3}.
    key = re.sub(r"([\^_])\{(\w)\}", r"\1\2", key)
    key = re.sub(r"\\frac(\d)(\d)", r"\\frac{\1}{\2}", key)
    key = re.sub(r"\\sqrt(\w)", r"\\sqrt{\1}", key)
    return key


def time_of_day(s: str) -> tuple[str, str | None] | None:
    """``("4:30", "pm")`` for a clock time such as ``4:30 p.m.`` or ``\\text{4:30 p.m.}``; None otherwise.

    Only a time with a meridiem (a.m./p.m., any case, dots optional) or one written inside ``\\text{}``
    is recognised: a bare ``3:20`` stays what it was (it may be a ratio).
    """
    if ":" not in s:
        return None
    unwrapped = _TEXT_WRAPPER.sub(lambda m: " " + m.group(1) + " ", s) if "\\" in s else s
    m = _TIME_OF_DAY.match(" ".join(unwrapped.split()))
    if m is None or (m.group(4) is None and unwrapped == s):
        return None
    hour, minute, second = int(m.group(1)), m.group(2), m.group(3)
    value = f"{hour}:{minute}" + (f":{second}" if second else "")
    return value, (m.group(4).lower() + "m" if m.group(4) else None)


def normalize_answer(raw: str) -> Answer:
    """Normalise one answer. ``raw`` is the content of a box or a ground-truth string."""
    s = clean_latex(raw)
    degree = False
    percent = False
    unit = None

    clock = time_of_day(s)
    if clock is not None:  # the meridiem acts as a unit: a.m. vs p.m. differ, one side without it is ignored
        return Answer(raw=raw, latex=clock[0], key=clock[0], unit=clock[1])

    if "\\" in s or "°" in s:
        if _DEGREE.search(s):
            degree = True
            s = _DEGREE.sub("", s).strip()
        s = _DOLLAR.sub("", s).strip()
    if "%" in s:
        percent = True
        s = _PERCENT.sub("", s).strip()
    elif "cent" in s.lower() or "pct" in s.lower():
        m = _PERCENT_WORD.search(s)
        if m is not None and s[: m.start()].strip():
            percent = True
            s = s[: m.start()].strip()

    if "\\" in s:
        m = _TRAILING_TEXT.match(s)
        if m:
            value = m.group("value").strip()
            content = m.group("unit").strip()
            if (
                value
                and not value.endswith(("=", "+", "-", "\\cdot", "\\times", "(", "[", ","))
                and content.lower() not in _NOT_UNITS
                and _UNIT_OK.match(content)
            ):
                unit_key = normalize_unit(content, m.group("pow") or "")
                if is_degree_unit(unit_key):
                    degree = True
                elif unit_key:
                    unit = unit_key
                s = value
                if _DEGREE.search(s):
                    degree = True
                    s = _DEGREE.sub("", s).strip()

    spaced = " ".join(s.split())
    if ("," in spaced or " " in spaced) and _THOUSANDS.match(spaced):
        s = spaced.replace(",", "").replace(" ", "")
    if "e" in s or "E" in s:
        s = _SCI_E.sub(lambda m: f"{m.group(1) or m.group(3)}\\times10^{{{m.group(2) or m.group(4)}}}", s)
    s = s.strip().rstrip(".").strip()
    base = None
    if "_" in s:
        m = _BASE_N.match(s.replace(" ", ""))
        if m:  # an out-of-range base (52_1) is kept as stated, so it still differs from 52_8
            base = int(m.group("base"))
            s = m.group("digits")
    return Answer(raw=raw, latex=s, key=_canonical_key(s), unit=unit, percent=percent, degree=degree, base=base)


# ----------------------------------------------------------------------------------------------------
# Numbers

INF = "inf"
_MAX_EXP = 400  # 10^k with |k| above this is not treated as a plain number (no huge powers in-process)
_MAX_DIGITS = 400

_PLAIN = re.compile(r"^(?:\d+\.?\d*|\.\d+)$")
_TIMES10 = re.compile(r"^(\d+\.?\d*|\.\d+)(?:\\times|\\cdot|\*)10\^(?:\{([+-]?\d+)\}|(\d))$")
_POWER = re.compile(r"^(\d+)\^(?:\{([+-]?\d+)\}|(\d))$")
_INFTY = re.compile(r"^([+-]?)\\infty$")
_MAX_POWER_DIGITS = 2000  # b^k is evaluated in-process only when it has at most this many digits


@dataclass(frozen=True)
class Num:
    """An exact rational (``value``) or an infinity (``value`` is "inf", sign in ``negative``)."""

    value: Fraction | str
    is_float: bool  # written with a decimal point: compared to 6 decimal places like math-verify
    negative: bool = False


def _split_sign(text: str) -> tuple[int, str]:
    if text[:1] in "+-":
        return (-1 if text[0] == "-" else 1), text[1:]
    return 1, text


def _atom(text: str) -> tuple[Fraction, bool] | None:
    """Unsigned-or-signed number without division: 12, 0.5, 1.5\\times10^{3}, 2^{98}."""
    sign, text = _split_sign(text)
    if _PLAIN.match(text):
        return sign * Fraction(text), "." in text
    m = _TIMES10.match(text)
    if m:
        exp = int(m.group(2) or m.group(3))
        if abs(exp) > _MAX_EXP:
            return None
        return sign * Fraction(m.group(1)) * Fraction(10) ** exp, True
    m = _POWER.match(text)
    if m:
        base, exp = int(m.group(1)), int(m.group(2) or m.group(3))
        if base > 1 and abs(exp) * math.log10(base) > _MAX_POWER_DIGITS:
            return None
        if base == 0 and exp < 0:
            return None
        return sign * Fraction(base) ** exp, False
    return None


def _brace_group(text: str, start: int) -> tuple[str, int] | None:
    """Content of the ``{...}`` at ``start`` and the index after it."""
    if start >= len(text) or text[start] != "{":
        return None
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i], i + 1
    return None


def _ratio(num: tuple[Fraction, bool] | None, den: tuple[Fraction, bool] | None, sign: int) -> Num | None:
    if num is None or den is None or den[0] == 0:
        return None
    return Num(sign * num[0] / den[0], num[1] or den[1])


def parse_number(key: str) -> Num | None:
    """Parse a canonical key that is a plain number (integer, decimal, fraction, a/b, scientific notation,
    integer power, infinity); None for anything else. Never evaluates a huge power."""
    if not key or len(key) > _MAX_DIGITS:
        return None
    m = _INFTY.match(key)
    if m:
        return Num(INF, False, negative=m.group(1) == "-")
    sign, body = _split_sign(key)
    if body.startswith("\\frac{"):
        first = _brace_group(body, 5)
        second = _brace_group(body, first[1]) if first else None
        if not first or not second or second[1] != len(body):
            return None
        return _ratio(_atom(first[0]), _atom(second[0]), sign)
    if body.count("/") == 1:
        num, den = body.split("/")
        return _ratio(_atom(num), _atom(den), sign)
    atom = _atom(body)
    if atom is None:
        return None
    return Num(sign * atom[0], atom[1])


FLOAT_ROUNDING = 6


def numbers_equal(a: Num, b: Num) -> bool:
    """Exact equality, or equality after rounding to 6 decimals when either side has a decimal point."""
    if a.value == INF or b.value == INF:
        return a.value == b.value and a.negative == b.negative
    if a.value == b.value:
        return True
    if a.is_float or b.is_float:
        return round(a.value, FLOAT_ROUNDING) == round(b.value, FLOAT_ROUNDING)
    return False


def percent_variants(num: Num, percent: bool) -> list[Num]:
    """A number written with ``%`` may mean the number itself or its hundredth."""
    if not percent or num.value == INF:
        return [num]
    return [num, Num(num.value / 100, num.is_float)]


# ----------------------------------------------------------------------------------------------------
# Structures: tuples, intervals, sets, bare comma lists


@dataclass(frozen=True)
class Structure:
    kind: str  # "set" (\{...\} or a bare comma list: order does not matter) or "seq" (tuple/interval)
    left: str
    right: str
    items: tuple[str, ...]


_OPENERS = "([{"
_CLOSERS = ")]}"


def _split_top_level(body: str) -> list[str] | None:
    parts: list[str] = []
    depth = 0
    start = 0
    i = 0
    n = len(body)
    while i < n:
        ch = body[i]
        if ch == "\\" and i + 1 < n and body[i + 1] in "{}":
            depth += 1 if body[i + 1] == "{" else -1
            i += 2
            continue
        if ch in _OPENERS:
            depth += 1
        elif ch in _CLOSERS:
            depth -= 1
            if depth < 0:
                return None
        elif ch == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
        i += 1
    if depth != 0:
        return None
    parts.append(body[start:])
    return parts


def split_structure(key: str) -> Structure | None:
    """Recognise ``(a,b)``, ``[a,b)``, ``\\{a,b\\}`` and ``a,b`` in a canonical key."""
    if "," not in key:
        return None
    if key.startswith("\\{") and key.endswith("\\}"):
        parts = _split_top_level(key[2:-2])
        if parts is None:
            return None
        return Structure("set", "\\{", "\\}", tuple(parts))
    if len(key) >= 2 and key[0] in "([" and key[-1] in ")]":
        inner = _split_top_level(key[1:-1])
        if inner is not None and len(inner) >= 2:
            return Structure("seq", key[0], key[-1], tuple(inner))
    parts = _split_top_level(key)
    if parts is not None and len(parts) >= 2:
        return Structure("set", "", "", tuple(parts))
    return None


# ----------------------------------------------------------------------------------------------------
# Text answers ("\text{(C)}", "Devon", "east")

_TEXTY = re.compile(r"^[A-Za-z][A-Za-z '\-]*$")


def text_key(answer: Answer) -> str | None:
    """Lower-case plain-text form of a word answer, or None when the answer is not plain text."""
    s = answer.latex
    m = _WHOLE_TEXT.match(s)
    if m:
        s = m.group("inner")
    s = s.strip()
    if len(s) >= 3 and s[0] == "(" and s[-1] == ")":
        s = s[1:-1].strip()
    if not _TEXTY.match(s):
        return None
    return " ".join(s.lower().split())


_ASSIGNMENT = re.compile(r"^(?:[A-Za-z]|\\[A-Za-z]+)(?:_\{?\w+\}?)?=(?P<rhs>[^=<>]+)$")


def assignment_rhs(key: str) -> str | None:
    """``x=5`` -> ``5`` for a single-variable assignment; None otherwise."""
    m = _ASSIGNMENT.match(key)
    return m.group("rhs") if m else None
