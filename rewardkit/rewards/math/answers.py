"""The shape half of the fast LaTeX reader: lists, tuples, intervals, sets, matrices, labels, relations.

Built on `latex.ExprParser`. Reads comma (or semicolon) lists, ``(a,b]`` tuples and intervals,
``\\{..\\}`` sets, unions, ``pmatrix``/``bmatrix``/``matrix`` environments, ``x = v``, ``(p,q) = (3,2)``
and ``x \\in [a,b]`` labels, ``a \\pm b``, relations (``2x+4y=3``, ``x \\ge 5``, ``-2 \\le x < 7``) and
``v \\approx 0.33`` (the exact value counts, as math-verify reads it). Anything else declines.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .algebra import Decline, Ratio
from .latex import ExprParser, Part, plain_symbol
from .values import Cup, Group, Inf, Labeled, Relation, Scalar, Value

MAX_ITEMS = 64
_LABEL = re.compile(
    r"\s*([a-zA-Z](?:_(?:\{[a-zA-Z0-9]+\}|[a-zA-Z0-9]))?|\(\s*[a-zA-Z](?:\s*,\s*[a-zA-Z])+\s*\))"
    r"\s*(=(?!=)|\\in(?![a-zA-Z]))"
)
_MATRIX = re.compile(r"\\begin\{(pmatrix|bmatrix|matrix|array)\}(?:\{[lcr|\s]*\})?")
_DOUBLED = re.compile(r"\\\\(?=[a-zA-Z])")
#: Longest first: "<=" before "<", "\leqslant" before "\leq" before "\le".
_RELATIONS = (("<=", "<="), (">=", ">="), ("!=", "!="), ("=", "="), ("<", "<"), (">", ">"),
              ("\\leqslant", "<="), ("\\geqslant", ">="), ("\\leq", "<="), ("\\le", "<="), ("\\geq", ">="),
              ("\\ge", ">="), ("\\neq", "!="), ("\\ne", "!="), ("\\lt", "<"), ("\\gt", ">"))


@lru_cache(maxsize=16384)
def parse_answer(text: str) -> Value | None:
    """The answer as a `Value`, or None when the fast reader declines it."""
    if "\\begin" not in text:  # over-escaped "\\frac" (JSON twice); in matrices "\\" separates rows
        text = _DOUBLED.sub(r"\\", text)
    text = text.replace("\\(", "(").replace("\\)", ")")
    try:
        return AnswerParser(text).answer()
    except (Decline, RecursionError, ValueError, ZeroDivisionError, OverflowError, IndexError):
        return None


class AnswerParser(ExprParser):
    def answer(self) -> Value:
        items = self.items(top=True, sets=True)
        if self.peek():
            raise Decline(f"unexpected {self.s[self.i:self.i + 10]!r}")
        return items[0] if len(items) == 1 else Group("set", tuple(items))

    def items(self, top: bool = False, sets: bool = False) -> list[Value]:
        """Items separated by commas or semicolons; ``a \\pm b`` is two items where order is free."""
        raw = [self.item(top)]
        while self.eat(",") or self.eat(";"):
            raw.append(self.item(top))
            if len(raw) > MAX_ITEMS:
                raise Decline("too many items")
        if top and len(raw) == 1:
            return raw  # a lone "\\pm 2" stays one answer: both values are asked for
        out: list[Value] = []
        for item in raw:
            if isinstance(item, Group) and item.kind == "pm":
                if not sets:
                    raise Decline("\\pm inside a tuple")
                out.extend(item.items)
            else:
                out.append(item)
        return out

    def item(self, top: bool) -> Value:
        label = _LABEL.match(self.s, self.i) if top else None
        if label:
            self.i = label.end()
        value = self.relation()
        if self.eat("\\approx"):
            other = self.relation()
            value = other if lone_symbol(value) else value
        if not label:
            return value
        if isinstance(value, Relation):
            if set(value.ops) != {"="}:
                raise Decline("a label on an inequality")
            # "x = 5+5+1 = 11": math-verify keeps the first left side and the last right side
            value = Scalar(value.sides[-1], "", value.decimal)
        name = re.sub(r"[{}\s]", "", label.group(1))
        return Labeled(name, value, "=" if label.group(2) == "=" else "in")

    def relation(self) -> Value:
        decimals = self.decimals
        first = self.union()
        sides, ops = [first], []
        while op := self.relation_op():
            ops.append(op)
            sides.append(self.union())
        if not ops:
            return first
        values = [s.value for s in sides if isinstance(s, Scalar) and s.value is not None]
        if len(ops) > 2 or len(values) != len(sides):
            raise Decline("relation")
        return Relation(tuple(values), tuple(ops), self.decimals > decimals)

    def relation_op(self) -> str | None:
        for token, op in _RELATIONS:
            if self.at(token) and not self.at("=="):
                self.i += len(token)
                return op
        return None

    def union(self) -> Value:
        parts = [self.operand()]
        while self.eat("\\cup"):
            parts.append(self.operand())
        if len(parts) == 1:
            return parts[0]
        if not all(isinstance(p, Group) and p.kind != "pm" for p in parts):
            raise Decline("union of non-sets")
        return Cup(tuple(parts))

    def operand(self) -> Value:
        if self.eat("\\{"):
            self.depth += 1
            inner = self.items(sets=True)
            self.depth -= 1
            if not self.eat("\\}"):
                raise Decline("unclosed set")
            return Group("set", tuple(inner))
        self.peek()
        if _MATRIX.match(self.s, self.i):
            return self.matrix()
        if self.eat("\\pm"):
            b = self.scalar()
            return _plus_minus(Scalar(Ratio({}), "0"), b)
        first = self.scalar()
        if self.eat("\\pm"):
            return _plus_minus(first, self.scalar())
        return first

    def scalar(self) -> Value:
        start, decimals = self.i, self.decimals
        part = self.expr()
        text = self.s[start : self.i].strip()
        if isinstance(part, Group):
            return part
        if isinstance(part, Inf):
            return Scalar(None, text, False, part.sign)
        return Scalar(part, text, self.decimals > decimals)

    def matrix(self) -> Group:
        m = _MATRIX.match(self.s, self.i)
        assert m is not None
        self.i = m.end()
        rows: list[list[Scalar]] = []
        row: list[Scalar] = []
        while not self.eat(f"\\end{{{m.group(1)}}}"):
            cell = self.scalar()
            if not isinstance(cell, Scalar) or cell.value is None:
                raise Decline("matrix cell")
            row.append(cell)
            if self.eat("\\\\"):
                rows.append(row)
                row = []
            elif not self.eat("&") and not self.at("\\end"):
                raise Decline("matrix syntax")
        if row:
            rows.append(row)
        if not rows or len({len(r) for r in rows}) != 1:
            raise Decline("ragged matrix")
        return Group("matrix", tuple(c for r in rows for c in r), shape=(len(rows), len(rows[0])))

    def bracket(self) -> Part:
        left = self.s[self.i]
        self.i += 1
        self.depth += 1
        inner = self.items()
        self.depth -= 1
        right = self.peek()
        if right not in (")", "]") or not right:
            raise Decline("unclosed bracket")
        self.i += 1
        if len(inner) > 1:
            return Group("ordered", tuple(inner), left, right)
        only = inner[0]
        if left + right == "()" and isinstance(only, Scalar) and only.value is not None:
            return only.value
        if left + right in ("()", "[]") and isinstance(only, Group) and only.kind == "matrix":
            return only  # (pmatrix) or [array]: the brackets only draw the matrix
        raise Decline("bracketed single value")

    def braces(self) -> Part:
        self.i += 1
        self.depth += 1
        inner = self.items(sets=True)
        self.depth -= 1
        if not self.eat("}"):
            raise Decline("unclosed brace")
        if len(inner) > 1:
            return Group("set", tuple(inner))
        only = inner[0]
        if isinstance(only, Scalar) and only.value is not None:
            return only.value
        raise Decline("braced shape")


def lone_symbol(v: Value) -> bool:
    """A bare ``x`` (a symbol with coefficient 1)."""
    return isinstance(v, Scalar) and v.value is not None and plain_symbol(v.value) is not None


def _plus_minus(a: Value, b: Value) -> Group:
    if not (isinstance(a, Scalar) and isinstance(b, Scalar) and a.value is not None and b.value is not None):
        raise Decline("\\pm of a non-number")
    decimal = a.decimal or b.decimal
    return Group("pm", (Scalar(a.value + b.value, "", decimal), Scalar(a.value - b.value, "", decimal)))
