"""Comparing two answers read by `answers`: True, False, or None when only the symbolic path can tell.

Every True and every False here is exact (see `algebra`); None sends the pair to the symbolic path.
The rules follow the reward's documented semantics: tuples and intervals are ordered and their
brackets matter, sets and comma lists are order-free, matrices compare cell by cell, ``x = 3`` is read
as ``3`` when only one side is labeled, a decimal is matched by the rules of `numeric` (a rounded
non-terminating fraction is accepted, an approximation of an irrational value goes to sympy).
Equations are equal when one is a non-zero multiple of the other (the symbolic path's rule), and
inequalities when one is a positive multiple of the other; a chain ``a < x \\le b`` is an interval.
"""

from __future__ import annotations

from fractions import Fraction

from .algebra import Decline, Poly, Ratio, constant, symbol
from .answers import parse_answer
from .latex import OPAQUE, plain_symbol
from .numeric import numbers_equal, parse_number
from .values import Cup, Group, Labeled, Relation, Scalar, Value

_CONSTANTS = frozenset({"pi", "e"})  # symbols that sympy reads as numbers, not unknowns


def compare_answers(gold: str, pred: str) -> bool | None:
    """Exact verdict on two cleaned answers, or None when the fast reader declines either of them."""
    g, p = parse_answer(gold), parse_answer(pred)
    if g is None or p is None or _lone_letter(g) or _lone_letter(p):
        return None
    if {type(g), type(p)} == {Scalar, Group} and "ordered" in (getattr(g, "kind", ""), getattr(p, "kind", "")):
        return False  # a whole answer that is a tuple or interval never equals a number (inside a
        # list, "p=5, q=2; p=7, q=2" against "(5,2), (7,2)", items are not compared one to one)
    try:
        verdict = _same(g, p)
    except (Decline, OverflowError, RecursionError):
        return None
    return None if verdict is False and (_opaque(g) or _opaque(p)) else verdict


def _opaque(v: Value) -> bool:
    """Holds a value the reader names but does not evaluate (see `latex.OPAQUE`)."""
    if isinstance(v, Scalar):
        return v.value is not None and any(_named(r) for r in (v.value.num, v.value.den))
    if isinstance(v, Relation):
        return any(_named(r.num) or _named(r.den) for r in v.sides)
    if isinstance(v, Labeled):
        return _opaque(v.value)
    return any(_opaque(x) for x in (v.items if isinstance(v, Group) else v.parts))


def _named(poly: Poly) -> bool:
    return any(name.startswith(OPAQUE) for (symbols, _r) in poly for name, _e in symbols)


def _lone_letter(v: Value) -> bool:
    """A bare ``d`` or ``C`` may be a choice letter or a constant: not decided here (``\\pi`` is)."""
    name = plain_symbol(v.value) if isinstance(v, Scalar) and v.value is not None else None
    return name is not None and len(name) == 1


def _same(g: Value, p: Value) -> bool | None:
    if isinstance(g, Labeled) or isinstance(p, Labeled):
        return _labeled(g, p)
    if isinstance(g, Relation) or isinstance(p, Relation):
        return _relation(g, p)
    if isinstance(g, Scalar) and isinstance(p, Scalar):
        return _scalars(g, p)
    if isinstance(g, Group) and isinstance(p, Group):
        return _groups(g, p)
    if isinstance(g, Cup) or isinstance(p, Cup):
        return _unions(g, p)
    if isinstance(g, Scalar) and isinstance(p, Group) and p.kind in ("set", "pm") and _distinct(p.items):
        return False  # several different values for a single-valued gold: a hedge
    if isinstance(g, Group) and g.kind == "set" and isinstance(p, Scalar) and _distinct(g.items):
        return False  # one value where several are asked for
    if isinstance(g, Group) and g.kind == "pm" and isinstance(p, Scalar) and _distinct(g.items):
        return False  # "\\pm 2" asks for both values
    return None


def _unions(g: Value, p: Value) -> bool | None:
    gi, pi = _intervals(g), _intervals(p)
    if gi is not None and pi is not None:
        return gi == pi
    if isinstance(g, Cup) and isinstance(p, Cup) and len(g.parts) == len(p.parts):
        # Without rational ends only "equal part by part" is sure: [0,1] u [1,2] is also [0,2].
        return True if all(_same(a, b) for a, b in zip(g.parts, p.parts, strict=True)) else None
    return None


Bound = tuple[Fraction | float, bool, Fraction | float, bool]  # (low, closed, high, closed)


def _intervals(v: Value) -> list[Bound] | None:
    """A union of intervals with rational or infinite ends, merged into its canonical sorted form."""
    parts = v.parts if isinstance(v, Cup) else (v,)
    spans: list[Bound] = []
    for part in parts:
        if not (isinstance(part, Group) and part.kind == "ordered" and len(part.items) == 2):
            return None
        lo, hi = _end(part.items[0]), _end(part.items[1])
        if lo is None or hi is None or not lo < hi:
            return None
        spans.append((lo, part.left == "[", hi, part.right == "]"))
    spans.sort(key=lambda b: (b[0], not b[1]))
    merged = [spans[0]]
    for lo, lo_c, hi, hi_c in spans[1:]:
        mlo, mlo_c, mhi, mhi_c = merged[-1]
        if lo < mhi or (lo == mhi and (mhi_c or lo_c)):
            top = (hi, hi_c) if hi > mhi else (mhi, mhi_c) if mhi > hi else (hi, hi_c or mhi_c)
            merged[-1] = (mlo, mlo_c, *top)
        else:
            merged.append((lo, lo_c, hi, hi_c))
    return merged


def _end(v: Value) -> Fraction | float | None:
    if not isinstance(v, Scalar) or v.decimal:
        return None
    if v.value is None:
        return float("inf") * v.infinity
    return v.value.rational()


def _labeled(g: Value, p: Value) -> bool | None:
    if isinstance(g, Labeled) and isinstance(p, Labeled):
        return _same(g.value, p.value) if (g.name, g.op) == (p.name, p.op) else None
    label, other = (g, p) if isinstance(g, Labeled) else (p, g)
    assert isinstance(label, Labeled)
    if isinstance(other, Relation):
        as_relation = _label_relation(label, other)
        if as_relation is None:
            return None
        return _same(as_relation, other) if label is g else _same(other, as_relation)
    return _same(label.value, p) if label is g else _same(g, label.value)


def _label_relation(label: Labeled, other: Relation) -> Value | None:
    """``x = v`` against an equation is the equation ``x = v``; ``x \\in [a,b]`` against a chain, [a,b]."""
    if label.op == "=" and isinstance(label.value, Scalar) and label.value.value is not None:
        if label.name.startswith("("):
            return None
        return Relation((Ratio(symbol(label.name)), label.value.value), ("=",), label.value.decimal)
    if label.op == "in" and _chain_symbol(other) in (label.name, f"{OPAQUE}|{label.name}|"):
        return label.value
    return None


def _scalars(g: Scalar, p: Scalar) -> bool | None:
    if g.value is None or p.value is None:
        return g.infinity == p.infinity
    if g.decimal or p.decimal:
        gn, pn = parse_number(g.text), parse_number(p.text)
        if gn is not None and pn is not None:
            return numbers_equal(gn, pn)
        # Decimals read exactly (10.5 = 21/2), as the symbolic path does: equal means equal; otherwise
        # an approximation may still be accepted there (a decimal gold against an exact answer).
        return True if g.value.equals(p.value) else None
    return g.value.equals(p.value)


def _groups(g: Group, p: Group) -> bool | None:
    gk, pk = ("set" if g.kind == "pm" else g.kind), ("set" if p.kind == "pm" else p.kind)
    if gk == "set" and pk == "set":
        return _sets(g.items, p.items)
    if gk != pk or gk == "set":
        return None  # a set against a tuple or interval: the symbolic path's rules decide
    if gk == "matrix" and g.shape != p.shape:
        return False
    if len(g.items) != len(p.items):
        return False
    if gk == "ordered" and (_backwards(g) or _backwards(p)):
        return None  # [3, 1) is an empty interval to sympy, and every empty interval is equal
    if (g.left, g.right) != (p.left, p.right):
        return False if len(g.items) == 2 else None  # open and closed ends differ
    return _all([_same(a, b) for a, b in zip(g.items, p.items, strict=True)])


def _backwards(g: Group) -> bool:
    """An interval written high end first; "(3, 1)" is a pair, not an interval, to math-verify."""
    ends = [x.value.approximate() for x in g.items if isinstance(x, Scalar) and x.value is not None]
    if g.left + g.right == "()" or len(ends) != 2 or len(g.items) != 2:
        return False
    lo, hi = ends
    return lo is not None and hi is not None and lo >= hi


def _all(results: list[bool | None]) -> bool | None:
    if False in results:
        return False
    return None if None in results else True


def _sets(gs: tuple[Value, ...], ps: tuple[Value, ...]) -> bool | None:
    """Order-free and duplicates ignored (as sympy's FiniteSet): each side must cover the other."""
    unknown = False
    for side, other, gold_first in ((gs, ps, True), (ps, gs, False)):
        for a in side:
            found = [_same(a, b) if gold_first else _same(b, a) for b in other]
            if True in found:
                continue
            if None in found:
                unknown = True
            else:
                return False
    return None if unknown else True


def _distinct(items: tuple[Value, ...]) -> bool:
    return any(_same(a, b) is False for a in items[:1] for b in items[1:])


# -- relations -----------------------------------------------------------------------------------

def _relation(g: Value, p: Value) -> bool | None:
    if isinstance(g, Relation) and isinstance(p, Relation):
        if g.decimal or p.decimal:
            return None
        if len(g.ops) == 1 and len(p.ops) == 1:
            return _single(g, p)
        gi, pi = _as_interval(g), _as_interval(p)
        return _same(gi, pi) if gi is not None and pi is not None and _chain_symbol(g) == _chain_symbol(p) else None
    relation, other = (g, p) if isinstance(g, Relation) else (p, g)
    assert isinstance(relation, Relation)
    if isinstance(other, Scalar) and set(relation.ops) == {"="}:
        # math-verify's rules: an equation given for a plain gold counts by its last right side;
        # a gold "x + y = 3" (left side only symbols, an assignment) counts as its right side.
        last = Scalar(relation.sides[-1], "", relation.decimal)
        if relation is p:
            if not any(_unknowns(r.num) or _unknowns(r.den) for r in relation.sides) and not all(
                    relation.sides[0].equals(r) for r in relation.sides[1:]):
                return False  # "2 = 3": a false statement (or two answers), never the gold 3
            return _same(g, last)
        if _only_symbols(relation.sides[0]):
            return _same(last, p)
        # A polynomial left side with a number or a coefficient ("2x + z = 1") is no assignment:
        # the equation itself is the gold, and no single value equals an equation.
        return False if relation.sides[0].den == constant(1) else None
    interval = _as_interval(relation) if isinstance(other, Group | Cup) and not relation.decimal else None
    if interval is None:
        return None
    return _same(interval, other) if relation is g else _same(other, interval)


def _only_symbols(side: Ratio) -> bool:
    """Sums and quotients of plain symbols (``x``, ``a+b``, ``S/T``): sympy's "assignment" left sides."""

    def plain(poly: Poly) -> bool:
        return bool(poly) and all(
            coef == 1 and radicand == 1 and symbols and all(e == 1 and n not in _CONSTANTS for n, e in symbols)
            for (symbols, radicand), coef in poly.items()
        )

    return plain(side.num) and (side.den == constant(1) or plain(side.den))


def _normal(r: Relation) -> tuple[str, Poly]:
    """``L op R`` as ``d op 0`` with op in ``= != < <=`` and d a polynomial."""
    left, right = r.sides
    op = r.ops[0]
    d = right - left if op in (">", ">=") else left - right
    op = {">": "<", ">=": "<="}.get(op, op)
    if d.den != constant(1):
        raise Decline("relation with a denominator")
    return op, d.num


def _single(g: Relation, p: Relation) -> bool | None:
    og, dg = _normal(g)
    op, dp = _normal(p)
    if not (_unknowns(dg) and _unknowns(dp)):
        return None
    k = _multiple(dg, dp)
    same = og == op and k is not None and (k > 0 or og in ("=", "!="))
    if same:
        return True
    if og == "=" and op == "=":
        return False if _rational(dg) and _rational(dp) else None  # not a multiple: the symbolic rule
    return False if _linear(dg) and _linear(dp) else None  # half-planes differ unless multiples


def _multiple(a: Poly, b: Poly) -> Fraction | None:
    """k with b == k * a, when there is one."""
    key, coef = next(iter(a.items()))
    if key not in b:
        return None
    k = b[key] / coef
    return k if k and len(a) == len(b) and all(b.get(kk) == k * v for kk, v in a.items()) else None


def _unknowns(d: Poly) -> bool:
    return any(name not in _CONSTANTS for (symbols, _), _v in d.items() for name, _e in symbols)


def _rational(d: Poly) -> bool:
    return all(radicand == 1 for (_s, radicand) in d)


def _linear(d: Poly) -> bool:
    return _rational(d) and all(sum(e for _n, e in symbols) <= 1 for (symbols, _r) in d)


def _chain_symbol(r: Relation) -> str | None:
    """The ``x`` of ``a < x < b``; ``@|x|`` for ``a < |x| < b``."""
    return plain_symbol(r.sides[1]) if len(r.ops) == 2 else None


def _as_interval(r: Relation) -> Value | None:
    """``a < x <= b`` (or ``b >= x > a``) as the interval ``(a, b]``, ``a <= |x| < b`` as
    ``(-b, -a] u [a, b)``; None for other relations."""
    name = _chain_symbol(r)
    if name is None or any(_unknowns(s.num) or _unknowns(s.den) for s in (r.sides[0], r.sides[2])):
        return None
    ops, (a, _x, b) = r.ops, r.sides
    if ops[0] in (">", ">=") and ops[1] in (">", ">="):
        ops, a, b = (ops[1].replace(">", "<"), ops[0].replace(">", "<")), b, a
    if not (ops[0] in ("<", "<=") and ops[1] in ("<", "<=")):
        return None
    low, high = ("(" if ops[0] == "<" else "["), (")" if ops[1] == "<" else "]")
    right = Group("ordered", (Scalar(a, ""), Scalar(b, "")), low, high)
    if not name.startswith(OPAQUE + "|"):
        return right
    q = a.rational()
    if q is None or q < 0:
        return None
    mirror = {"(": ")", "[": "]", ")": "(", "]": "["}
    left = Group("ordered", (Scalar(-b, ""), Scalar(-a, "")), mirror[high], mirror[low])
    return Cup((left, right))
