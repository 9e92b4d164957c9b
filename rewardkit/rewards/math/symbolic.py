"""The symbolic path, run inside the helper process (see `budget`): math-verify's parser and sympy.

math-verify is used for what it does well (LaTeX to sympy, sets, intervals, matrices, relations) with its
``signal.alarm`` timeouts turned off; the helper process is the bound instead. Its known false positives
are closed here: numbers are compared exactly (math-verify rounds to 6 digits, so ``1/2004! = 1/2006!``),
equations must be proportional, and an explicit set never equals a tuple or interval.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import Any

from .numeric import Num, numbers_equal, parse_number

_PRECISION = 60
#: A decimal gold (``4.123105625617661``) is matched by an exact answer to this many significant digits.
_GOLD_DIGITS = 6
#: Past this many digits of working precision, a tiny difference is not worth proving to be zero.
_MAX_DIGITS = 3000


@lru_cache(maxsize=4096)
def parse_latex(answer: str, bare: bool) -> tuple[Any, ...]:
    """math-verify's parse of one extracted answer; bare answers are boxed first (its best setting)."""
    from math_verify import parse

    attempts = [f"\\boxed{{{answer}}}", f"${answer}$", answer] if bare else [answer, f"\\boxed{{{answer}}}"]
    for text in attempts:
        parsed = parse(text, parsing_timeout=None)
        if parsed:
            return tuple(parsed)
    return ()


def describe(parsed: tuple[Any, ...]) -> str:
    return str(parsed[0]) if parsed else "(unparsed)"


def compare(gold: str, pred: str, gold_bare: bool, pred_bare: bool) -> tuple[bool | None, str, str, str]:
    """(equivalent or None when the gold does not parse, gold parse, answer parse, reason)."""
    from math_verify import verify

    g, p = parse_latex(gold, gold_bare), parse_latex(pred, pred_bare)
    if not g:
        return None, "(unparsed)", describe(p), "the gold answer could not be parsed"
    if not p:
        return False, describe(g), "(unparsed)", "the answer could not be parsed"
    exact = _numeric_verdict(g[0], p[0], pred)
    if exact is not None:
        return exact, describe(g), describe(p), "numbers compared exactly"
    if _not_proportional(g[0], p[0]):
        # decided before math-verify's relational comparison, which may take a second on sums
        return False, describe(g), describe(p), "the equations are not multiples of each other"
    ok = bool(verify(list(g), list(p), timeout_seconds=None))
    if ok:
        veto = _veto(g[0], p[0], gold, pred)
        if veto:
            return False, describe(g), describe(p), veto
    return ok, describe(g), describe(p), "symbolic comparison (sympy)"


def _is_number(x: Any) -> bool:
    return bool(getattr(x, "is_number", False)) and not getattr(x, "free_symbols", True)


def _numeric_verdict(g: Any, p: Any, pred_text: str) -> bool | None:
    """Exact verdict for two plain numbers; None when either side is not one."""
    import sympy

    if not (_is_number(g) and _is_number(p)):
        return None
    if _not_finite(g) or _not_finite(p):
        # oo passes any relative tolerance (oo <= oo * eps) and oo - oo is nan: an infinity equals only
        # itself, with its sign; nan and zoo (a division by zero: "12:00" reads as 12/0) equal nothing
        return bool(g == p) and g in (sympy.oo, -sympy.oo)
    gold_float, pred_float = g.has(sympy.Float), p.has(sympy.Float)
    g, p = _rationalize(g), _rationalize(p)
    if g.is_Rational and p.is_Rational:
        literal = parse_number(pred_text) if pred_float else None
        pv = literal if literal is not None and literal.value == Fraction(int(p.p), int(p.q)) else None
        gv = Num(Fraction(int(g.p), int(g.q)), _decimals(gold_float))
        return numbers_equal(gv, pv or Num(Fraction(int(p.p), int(p.q)), _decimals(pred_float)))
    diff = g - p
    if gold_float and not pred_float:  # a rounded decimal gold: an exact answer to its digits counts
        scale = max(abs(sympy.N(g, _PRECISION)), abs(sympy.N(p, _PRECISION)))
        return bool(abs(sympy.N(diff, _PRECISION)) <= scale * sympy.Float(10) ** -_GOLD_DIGITS)
    if (not diff.is_comparable and not (diff.is_number and diff.has(sympy.I))) or diff.has(sympy.nan):
        return None
    return _is_zero(diff, g, p)


def _not_finite(x: Any) -> bool:
    import sympy

    return bool(x.has(sympy.oo, sympy.zoo, sympy.nan) or x.is_finite is False)


def _is_zero(diff: Any, g: Any, p: Any) -> bool | None:
    """Is an exact difference zero? No relative tolerance: ``e^{1000}\\pi + e^{900}`` is not
    ``e^{1000}\\pi`` although they agree to 43 digits. sympy's strict evalf raises its working precision
    until it sees a non-zero digit of ``diff``; it gives up (zero) only past ``_PRECISION`` digits more
    than the magnitude of the numbers, so an approximation (``1.414`` for ``\\sqrt2``) never passes.
    """
    import sympy
    from sympy.core.evalf import PrecisionExhausted

    if diff == 0:
        return True
    try:
        size = max(abs(sympy.N(g, 15)), abs(sympy.N(p, 15)), 1)
        digits = _PRECISION + int(sympy.log(size, 10).evalf(15)) + 1
        if digits > _MAX_DIGITS:
            return False  # too large to tell a tiny difference from none: not proven equal
        return bool(sympy.N(diff, 15, strict=True, maxn=digits) == 0)
    except PrecisionExhausted:
        return True  # no non-zero digit within `digits`: equal (the two sides differ by < 10^-60 of them)
    except (TypeError, ValueError):  # an unordered or complex result: leave it to math-verify
        return None


def _decimals(had_float: bool) -> int | None:
    return 6 if had_float else None


def _rationalize(x: Any) -> Any:
    """Decimal literals as the exact fractions they denote (``10.5`` -> 21/2), so that only true
    approximations (``1.414`` for ``\\sqrt2``) differ from exact answers."""
    import sympy

    floats = x.atoms(sympy.Float)
    return x.xreplace({f: sympy.Rational(str(f)) for f in floats}) if floats else x


def _veto(g: Any, p: Any, gold: str, pred: str) -> str | None:
    """Reasons to overrule a math-verify 'equal': cases where its looser rules are known to be wrong."""
    import sympy

    set_like = (sympy.FiniteSet,)
    ordered = (sympy.Interval, sympy.Tuple)
    if ("\\{" in gold) != ("\\{" in pred) and (
        _kinds_differ(g, p, set_like, ordered)
    ):
        return "a set is not a tuple or an interval"
    return None


def _not_proportional(g: Any, p: Any) -> bool:
    """Two equations in unknowns are equal only when one is a non-zero multiple of the other."""
    import sympy

    sides = (g.lhs, g.rhs, p.lhs, p.rhs) if isinstance(g, sympy.Eq) and isinstance(p, sympy.Eq) else ()
    if sides and all(isinstance(x, sympy.Expr) for x in sides):
        eg, ep = g.lhs - g.rhs, p.lhs - p.rhs
        if eg.free_symbols and ep.free_symbols:
            ratio = sympy.simplify(eg / ep)
            return bool(ratio.free_symbols or ratio == 0)
    return False


def _kinds_differ(g: Any, p: Any, one: tuple[type, ...], other: tuple[type, ...]) -> bool:
    return (isinstance(g, one) and isinstance(p, other)) or (isinstance(p, one) and isinstance(g, other))
