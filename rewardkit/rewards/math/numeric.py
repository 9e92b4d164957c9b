"""The fast path: plain numbers compared exactly with `fractions.Fraction`, no sympy, no ANTLR.

Covers integers with thousands separators, decimals (also ``.5`` and decimal commas such as ``2,74``),
scientific notation, ``a/b`` and ``\\frac{a}{b}``, mixed numbers (``1\\frac{1}{2}``, ``4 4/9``),
percentages, currency signs, degrees and trailing units. Anything else returns None and goes to the
symbolic path.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from .normalize import clean, strip_degrees

#: Exponents beyond this are left to the symbolic path's budget rather than built as huge integers.
MAX_EXPONENT = 100_000

_INT = r"\d{1,3}(?:,\d{3})+|\d+"
_DEC = rf"(?:{_INT})\.\d*|\.\d+|{_INT}"
_EXP = r"(?:[eE]([+-]?\d+)|\s*(?:\\times|\\cdot|\*|×)\s*10\s*\^\s*\{?\s*([+-]?\d+)\s*\}?)"
_NUMBER = re.compile(rf"^({_DEC}){_EXP}?$")
_DECIMAL_COMMA = re.compile(r"^(0,\d+|\d+,\d{2}|\d{4,},\d+)$")
_FRAC = re.compile(r"^\\frac\s*(?:\{\s*([^{}]+?)\s*\}|(\d))\s*(?:\{\s*([^{}]+?)\s*\}|(\d))$")
_SLASH = re.compile(r"^([^/\s]+)\s*/\s*([^/\s]+)$")
_MIXED = re.compile(r"^(\d+)(?:\s+(\d+\s*/\s*\d+)|\s*(\\frac.*))$")
_PERCENT = re.compile(r"\s*(?:\\?%|\\percent|percentage|percent|pct)$")
_CURRENCY = re.compile(r"^(?:\$|€|£|¥|US\$|USD\s)\s*|\s*(?:\$|€|£|¥|dollars?|euros?|yuan|USD)$")
#: Bare words are units only when known: "5xyz" and "5xy" are products, "5 cm" a length. Text blocks
#: (``\text{ apples}``) are prose by construction, so any of them is stripped.
_UNITS2 = "cm|mm|km|kg|mg|ml|mL|hr|ft|yd|mi|lb|oz|in|am|pm|°C|°F"
_UNIT_WORDS = (
    "(?:square|sq|cubic)?\\s*(?:units?|(?:centi|milli|kilo)?(?:meters?|metres?|grams?|liters?|litres?)"
    "|inch(?:es)?|feet|foot|yards?|miles?|gallons?|pounds?|ounces?|tons?|tonnes?"
    "|seconds?|secs?|minutes?|mins?|hours?|hrs|days?|weeks?|months?|years?"
    "|cents?|degrees?|deg|radians?|rad|mph|kph|km/h|m/s|cm|mm|km|ft|in)"
)
_UNIT_TAIL = re.compile(
    r"^(.*?[\d}])\s*(?:\\(?:text|mbox|textnormal|textbf|mathrm)\s*\{[^{}]*\}|(?i:" + _UNIT_WORDS + r")"
    r"(?![^\W\d_¹²³])|(?:" + _UNITS2 + r")(?![^\W\d_¹²³])|m(?=²|³|\^\{?[23]\}?$))(?:\^\{?\d\}?|²|³)?$"
)
#: A unit word right after an extracted number ("5 feet") travels with it, so units can be compared.
UNIT_AFTER = re.compile(
    r"^ ?(?!in(?![a-z]))(?:(?i:" + _UNIT_WORDS + r")|cm|mm|km|kg|mg|ml|mL|ft|yd|mi|lb|oz)(?![^\W\d_])"
)
_FUNCTION_WORDS = frozenset({"sin", "cos", "tan", "log", "ln", "exp", "pi", "sqrt", "frac", "cot", "sec"})


@dataclass(frozen=True, slots=True)
class Num:
    """An exact number, with how it was written: ``decimals`` is None unless it was a decimal literal."""

    value: Fraction
    decimals: int | None = None
    percent: bool = False

    def show(self) -> str:
        if max(abs(self.value.numerator), self.value.denominator).bit_length() > 3000:
            return f"a number of about 10^{_magnitude(self.value)}"
        text = str(self.value) if self.decimals is None else f"{float(self.value):.{self.decimals}f}"
        return text + ("%" if self.percent else "")


def _magnitude(x: Fraction) -> int:
    return int(abs(x).numerator.bit_length() * 0.30103) - int(x.denominator.bit_length() * 0.30103)


@lru_cache(maxsize=16384)
def parse_number(answer: str) -> Num | None:
    """The answer as an exact number, or None when it is not a plain number."""
    s = strip_degrees(clean(answer))
    percent = bool(_PERCENT.search(s))
    s = _PERCENT.sub("", s).strip()
    for _ in range(2):
        s = _CURRENCY.sub("", s).strip()
        unit = _UNIT_TAIL.match(s)
        if unit and unit.group(0)[len(unit.group(1)) :].strip().lower() not in _FUNCTION_WORDS:
            s = unit.group(1).strip()
    num = _signed(_unbrace(s))
    return None if num is None else Num(num.value, num.decimals, percent)


_CANONICAL = {
    "cm": "centimeter", "mm": "millimeter", "km": "kilometer", "m": "meter", "kg": "kilogram", "mg": "milligram",
    "g": "gram", "ml": "milliliter", "l": "liter", "hr": "hour", "hrs": "hour", "h": "hour", "ft": "foot",
    "feet": "foot", "yd": "yard", "mi": "mile", "lb": "pound", "lbs": "pound", "oz": "ounce", "in": "inch",
    "inches": "inch", "sec": "second", "secs": "second", "s": "second", "min": "minute", "mins": "minute",
    "deg": "degree", "rad": "radian", "metre": "meter", "litre": "liter", "centimetre": "centimeter",
    "millimetre": "millimeter", "kilometre": "kilometer",
}
_UNIT_WORD = re.compile(r"(?:square|sq|cubic)?\s*([a-zA-Z]+)\s*$")


@lru_cache(maxsize=16384)
def unit(answer: str) -> str | None:
    """The canonical unit an answer ends in ("5 feet" -> foot, "5 \\text{ m}" -> meter), when known."""
    s = re.sub(r"\\(?:text|mbox|textnormal|textbf|mathrm)\s*\{([^{}]*)\}", r" \1", clean(answer))
    m = _UNIT_TAIL.match(s)
    if not m:
        return None
    word = _UNIT_WORD.search(re.sub(r"(?:\^\{?\d\}?|²|³)$", "", s[len(m.group(1)) :]).strip())
    if not word:
        return None
    name = word.group(1).lower()
    name = _CANONICAL.get(name, name)
    name = _CANONICAL.get(name.rstrip("s"), name.rstrip("s")) if name.endswith("s") and len(name) > 3 else name
    known = set(_CANONICAL.values()) | {"yard", "mile", "gallon", "ton", "tonne", "hour", "day", "week",
                                        "month", "year", "minute", "second", "cent", "degree", "unit"}
    return name if name in known else None


_TOWER = re.compile(r"^\(?\s*(\d{1,6})\s*((?:\^\s*\{?\s*\(?\s*\d{1,6}\s*)+)[\s})]*(!?)$")
_BIG_FACTORIAL = re.compile(r"^\(?\s*(?:\d{5,}|\d+\s*\^\s*\{?\s*\d+\s*\}?)\s*\)?\s*!$")


def huge(answer: str) -> bool:
    """A power tower or factorial of plain integers worth more than 10^30000 (``10^{10^{10^{10}}}``,
    ``(10^{10})!``): no plain gold number equals it, and sympy would spend its whole budget on it."""
    s = answer.replace(" ", "")
    if _BIG_FACTORIAL.match(s):
        return True
    m = _TOWER.match(s)
    if not m or int(m.group(1)) < 2:
        return False
    levels = [int(x) for x in re.findall(r"\d+", m.group(2))]
    exponent = 1.0
    for level in reversed(levels):  # the exponent of the base, capped: only "past the bound" matters
        exponent = 1e300 if exponent * math.log10(max(level, 1)) > 300 else float(level) ** exponent
    return exponent >= 1e5


def _unbrace(s: str) -> str:
    while s.startswith("{") and s.endswith("}") and "{" not in s[1:-1] and "}" not in s[1:-1]:
        s = s[1:-1].strip()
    return s


def _signed(s: str) -> Num | None:
    sign = 1
    while s[:1] in "+-" and s:
        sign, s = (-sign if s[0] == "-" else sign), s[1:].strip()
    num = _mixed(s) or _fraction(s) or _plain(s)
    return None if num is None else Num(sign * num.value, num.decimals)


def _plain(s: str) -> Num | None:
    if _DECIMAL_COMMA.match(s):
        s = s.replace(",", ".")
    s = re.sub(r"(?<=\d) (?=\d{3}(?!\d))", "", s)  # "1 000"
    m = _NUMBER.match(s)
    if not m:
        return None
    mantissa, exp = m.group(1).replace(",", ""), m.group(2) or m.group(3)
    power = int(exp) if exp else 0
    if abs(power) > MAX_EXPONENT:
        return None
    value = Fraction(mantissa) * Fraction(10) ** power
    decimals = len(mantissa.split(".")[1]) if "." in mantissa and not exp else None
    return Num(value, decimals)


def _fraction(s: str) -> Num | None:
    m = _FRAC.match(s)
    if m:
        top, bottom = m.group(1) or m.group(2), m.group(3) or m.group(4)
    else:
        m = _SLASH.match(s)
        if not m:
            return None
        top, bottom = m.group(1), m.group(2)
    a, b = _signed(_unbrace(top)), _signed(_unbrace(bottom))
    if a is None or b is None or b.value == 0:
        return None
    return Num(a.value / b.value)


def _mixed(s: str) -> Num | None:
    m = _MIXED.match(s)
    if not m:
        return None
    part = _fraction(m.group(2) or m.group(3))
    if part is None or not 0 < part.value < 1:
        return None
    return Num(int(m.group(1)) + part.value)


def _rounds_to(exact: Fraction, literal: Num) -> bool:
    """True when ``literal`` is ``exact`` rounded half-up to the literal's decimal places (>= 2 of them)."""
    if literal.decimals is None or literal.decimals < 2:
        return False
    scale = 10**literal.decimals
    scaled = abs(exact) * scale
    rounded = Fraction(int(scaled + Fraction(1, 2)), scale) * (1 if exact >= 0 else -1)
    return rounded == literal.value


def _terminates(x: Fraction) -> bool:
    d = x.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def numbers_equal(gold: Num, pred: Num) -> bool:
    """Exact equality, with percent read either way and rounded decimals allowed only where honest.

    A decimal may stand for a non-terminating fraction it rounds (``0.33`` for 1/3), and an exact answer
    for a rounded decimal gold (``\\sqrt{17}`` for ``4.1231``); a terminating value must match exactly.
    """
    candidates = [(gold.value, pred.value)]
    if gold.percent != pred.percent:
        pct, other = (gold, pred) if gold.percent else (pred, gold)
        candidates.append((pct.value / 100, other.value) if pct is gold else (other.value, pct.value / 100))
    for g, p in candidates:
        if g == p:
            return True
        rounded = pred.decimals is not None and gold.decimals is None and not _terminates(g)
        if rounded and _rounds_to(g, Num(p, pred.decimals or 0)):
            return True
        if gold.decimals is not None and pred.decimals is None and _rounds_to(p, Num(g, gold.decimals)):
            return True
    return False
