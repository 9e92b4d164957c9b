"""Comparing two answers read by `latex`: True, False, or None when only the symbolic path can tell.

Every True and every False here is exact (see `algebra`); None sends the pair to the symbolic path.
The rules follow the reward's documented semantics: tuples and intervals are ordered and their
brackets matter, sets and comma lists are order-free, matrices compare cell by cell, ``x = 3`` is read
as ``3`` when only one side is labeled, and a decimal is matched by the rules of `numeric` (a rounded
non-terminating fraction is accepted, an approximation of an irrational value goes to sympy).
"""

from __future__ import annotations

from .algebra import Decline, Ratio
from .latex import Cup, Group, Labeled, Scalar, Value, parse_answer
from .numeric import numbers_equal, parse_number


def compare_answers(gold: str, pred: str) -> bool | None:
    """Exact verdict on two cleaned answers, or None when the fast parser declines either of them."""
    g, p = parse_answer(gold), parse_answer(pred)
    if g is None or p is None or _lone_letter(g) or _lone_letter(p):
        return None
    try:
        return _same(g, p)
    except Decline:
        return None


def _lone_letter(v: Value) -> bool:
    """A bare ``d`` or ``C`` may be a choice letter or a constant: not decided here."""
    if not isinstance(v, Scalar) or v.value is None or len(v.value.num) != 1:
        return False
    ((symbols, radicand), coef), = v.value.num.items()
    return len(symbols) == 1 and symbols[0][0] != "pi" and coef == 1 and radicand == 1


def _same(g: Value, p: Value) -> bool | None:
    if isinstance(g, Labeled) or isinstance(p, Labeled):
        if isinstance(g, Labeled) and isinstance(p, Labeled) and g.name != p.name:
            return None
        return _same(g.value if isinstance(g, Labeled) else g, p.value if isinstance(p, Labeled) else p)
    if isinstance(g, Scalar) and isinstance(p, Scalar):
        return _scalars(g, p)
    if isinstance(g, Group) and isinstance(p, Group):
        return _groups(g, p)
    if isinstance(g, Cup) and isinstance(p, Cup) and len(g.parts) == len(p.parts):
        # Only "equal part by part" is sure: [0,1] u [1,2] is also [0,2].
        return True if all(_same(a, b) for a, b in zip(g.parts, p.parts, strict=True)) else None
    if isinstance(g, Scalar) and isinstance(p, Group) and p.kind == "set" and _distinct(p.items):
        return False  # several different values for a single-valued gold: a hedge
    return None


def _scalars(g: Scalar, p: Scalar) -> bool | None:
    if g.value is None or p.value is None:
        return g.infinity == p.infinity
    if g.decimal or p.decimal:
        gn, pn = parse_number(g.text), parse_number(p.text)
        return numbers_equal(gn, pn) if gn is not None and pn is not None else None
    return _exact(g.value, p.value)


def _exact(a: Ratio, b: Ratio) -> bool:
    return a.equals(b)


def _groups(g: Group, p: Group) -> bool | None:
    if g.kind == "set" and p.kind == "set":
        return _sets(g.items, p.items)
    if g.kind != p.kind or g.kind == "set":
        return None  # a set against a tuple or interval: the symbolic path's rules decide
    if g.kind == "matrix" and g.shape != p.shape:
        return False
    if len(g.items) != len(p.items):
        return False
    if (g.left, g.right) != (p.left, p.right):
        return False if len(g.items) == 2 else None  # open and closed ends differ
    return _all(_same(a, b) for a, b in zip(g.items, p.items, strict=True))


def _all(results: object) -> bool | None:
    seen_unknown = False
    for r in results:  # type: ignore[attr-defined]
        if r is False:
            return False
        seen_unknown = seen_unknown or r is None
    return None if seen_unknown else True


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
