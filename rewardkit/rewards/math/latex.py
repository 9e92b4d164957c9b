"""A small hand-written parser for the LaTeX answers most datasets use, to exact values (see `algebra`).

It reads integers, decimals, ``\\frac`` (also ``\\frac12``), ``\\sqrt`` and ``\\sqrt[n]`` of rationals,
``\\pi``, single-letter symbols with subscripts, ``+ - * / \\cdot \\times``, implicit products, integer
and half-integer powers, factorials, and the shapes built from them: comma lists, tuples and intervals
(``(a,b]``), ``\\{..\\}`` sets, unions, ``pmatrix``/``bmatrix`` matrices, ``x = value`` labels.

Anything it is not sure to read the way math-verify's parser would (``\\pm``, functions such as
``f(x)``, several-letter words, ``1/2x``, ``2 3``, relations other than ``symbol = value``, unknown
commands) raises `Decline`: the symbolic path then decides. It is linear in the input, whose length and
nesting are capped before it runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from math import factorial

from .algebra import Decline, Ratio, constant, root_rational, sqrt_rational, symbol


@dataclass(frozen=True, slots=True, eq=False)
class Scalar:
    """One number or expression; ``text`` keeps its source for the decimal rules of `numeric`."""

    value: Ratio | None  # None for an infinity
    text: str
    decimal: bool = False
    infinity: int = 0


@dataclass(frozen=True, slots=True, eq=False)
class Group:
    """``ordered``: tuple or interval (``left``/``right`` brackets); ``set``: ``\\{..\\}`` or a bare list;
    ``matrix``: ``items`` row by row with ``shape``."""

    kind: str
    items: tuple[Value, ...]
    left: str = ""
    right: str = ""
    shape: tuple[int, int] = (0, 0)


@dataclass(frozen=True, slots=True, eq=False)
class Cup:
    """``A \\cup B``: a union of intervals or sets, compared part by part."""

    parts: tuple[Value, ...]


@dataclass(frozen=True, slots=True, eq=False)
class Labeled:
    """``x = value`` / ``a_{3} = value``: math-verify compares the value when only one side is labeled."""

    name: str
    value: Value


Value = Scalar | Group | Cup | Labeled


@dataclass(frozen=True, slots=True)
class _Inf:
    sign: int


_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_COMMAND = re.compile(r"\\([a-zA-Z]+|.)")
_SUBSCRIPT = re.compile(r"_(?:\{([a-zA-Z0-9]+)\}|([a-zA-Z0-9]))")
_LABEL = re.compile(r"\s*([a-zA-Z](?:_(?:\{[a-zA-Z0-9]+\}|[a-zA-Z0-9]))?)\s*=(?!=)")
_MATRIX = re.compile(r"\\begin\{(pmatrix|bmatrix|matrix)\}")
_ROOT_INDEX = re.compile(r"\s*(\d)\s*\]")
_ENDS = (",", ")", "]", "}", "\\}", "\\cup", "&", "\\\\", "\\end", "=", "")
_IMPLICIT_COMMANDS = ("\\frac", "\\sqrt", "\\pi")
MAX_ITEMS = 64


@lru_cache(maxsize=16384)
def parse_answer(text: str) -> Value | None:
    """The answer as a `Value`, or None when the fast parser declines it."""
    try:
        return _Parser(text).answer()
    except (Decline, RecursionError, ValueError, ZeroDivisionError, OverflowError, IndexError):
        return None


Part = Ratio | Group | _Inf


class _Parser:
    def __init__(self, text: str) -> None:
        self.s, self.i, self.decimals = text, 0, 0

    # -- characters ---------------------------------------------------------------------------
    def peek(self) -> str:
        while self.i < len(self.s) and self.s[self.i] in " \t\n":
            self.i += 1
        return self.s[self.i] if self.i < len(self.s) else ""

    def at(self, token: str) -> bool:
        self.peek()
        if not self.s.startswith(token, self.i):
            return False
        end = self.i + len(token)
        # "\cup" must not match "\cupcake": a command ends where its letters end
        return not (token[-1:].isalpha() and token[:1] == "\\" and self.s[end : end + 1].isalpha())

    def eat(self, token: str) -> bool:
        if self.at(token):
            self.i += len(token)
            return True
        return False

    def at_end(self) -> bool:
        self.peek()
        return self.i >= len(self.s) or any(self.at(t) for t in _ENDS if t)

    # -- shapes -------------------------------------------------------------------------------
    def answer(self) -> Value:
        items = self.items(top=True)
        if self.peek():
            raise Decline(f"unexpected {self.s[self.i:self.i + 10]!r}")
        return items[0] if len(items) == 1 else Group("set", tuple(items))

    def items(self, top: bool = False) -> list[Value]:
        out = [self.item(top)]
        while self.eat(","):
            out.append(self.item(top))
            if len(out) > MAX_ITEMS:
                raise Decline("too many items")
        return out

    def item(self, top: bool) -> Value:
        label = _LABEL.match(self.s, self.i) if top else None
        if label:
            self.i = label.end()
        value = self.union()
        return Labeled(label.group(1).replace("{", "").replace("}", ""), value) if label else value

    def union(self) -> Value:
        parts = [self.operand()]
        while self.eat("\\cup"):
            parts.append(self.operand())
        if len(parts) == 1:
            return parts[0]
        if not all(isinstance(p, Group) for p in parts):
            raise Decline("union of non-sets")
        return Cup(tuple(parts))

    def operand(self) -> Value:
        if self.eat("\\{"):
            inner = self.items()
            if not self.eat("\\}"):
                raise Decline("unclosed set")
            return Group("set", tuple(inner))
        self.peek()
        if _MATRIX.match(self.s, self.i):
            return self.matrix()
        start, decimals = self.i, self.decimals
        part = self.expr()
        text = self.s[start : self.i].strip()
        if isinstance(part, Group):
            return part
        if isinstance(part, _Inf):
            return Scalar(None, text, False, part.sign)
        return Scalar(part, text, self.decimals > decimals)

    def matrix(self) -> Group:
        m = _MATRIX.match(self.s, self.i)
        assert m is not None
        self.i = m.end()
        rows: list[list[Scalar]] = []
        row: list[Scalar] = []
        while True:
            if self.at(f"\\end{{{m.group(1)}}}"):
                self.i += len(m.group(1)) + 6
                break
            cell = self.operand()
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

    # -- expressions --------------------------------------------------------------------------
    def expr(self) -> Part:
        sign, signed = 1, False
        while self.peek() in ("+", "-") and self.peek():
            sign, signed = (-sign if self.s[self.i] == "-" else sign), True
            self.i += 1
        first = self.term()
        if not isinstance(first, Ratio):
            if not self.at_end() or (signed and isinstance(first, Group)):
                raise Decline("a tuple, set or infinity inside arithmetic")
            return _Inf(sign * first.sign) if isinstance(first, _Inf) else first
        acc = first if sign > 0 else -first
        while True:
            if self.eat("+"):
                acc = acc + _ratio(self.term())
            elif self.at("-"):
                self.i += 1
                acc = acc - _ratio(self.term())
            else:
                return acc

    def term(self) -> Part:
        left = self.factor()
        while True:
            if self.eat("*") or self.eat("\\cdot") or self.eat("\\times"):
                left = _ratio(left) * _ratio(self.factor())
            elif self.eat("/"):
                right = _ratio(self.factor())
                if self.implicit_next():
                    raise Decline("ambiguous a/bc")
                left = _ratio(left) / right
            elif self.implicit_next():
                left = _ratio(left) * _ratio(self.factor())
            else:
                return left

    def implicit_next(self) -> bool:
        c = self.peek()
        if c.isdigit() or c == ".":
            raise Decline("a number right after a factor")
        return _is_letter(c) or c == "(" or any(self.at(cmd) for cmd in _IMPLICIT_COMMANDS)

    def factor(self) -> Part:
        if self.eat("-"):
            return -_ratio(self.factor())
        if self.eat("+"):
            return self.factor()
        base = self.primary()
        while self.eat("!"):
            base = _factorial(_ratio(base))
        if self.eat("^"):
            base = _power(_ratio(base), _ratio(self.argument()))
            if self.at("^") or self.at("!"):
                raise Decline("stacked powers")
        return base

    def argument(self) -> Part:
        """A command or power argument: ``{...}``, one digit, one letter, or one command."""
        c = self.peek()
        if c == "{":
            self.i += 1
            value = self.expr()
            if not self.eat("}"):
                raise Decline("unclosed brace")
            return value
        if c.isdigit():
            self.i += 1
            return Ratio(constant(int(c)))
        if _is_letter(c) or c == "\\":
            return self.primary()
        raise Decline("argument")

    def primary(self) -> Part:
        c = self.peek()
        if not c:
            raise Decline("unexpected end")
        if c.isdigit() or c == ".":
            return self.number()
        if _is_letter(c):
            return self.letter()
        if c in "([":
            return self.bracket()
        if c == "{":
            self.i += 1
            inner = self.items()
            if not self.eat("}"):
                raise Decline("unclosed brace")
            return _ratio_or_group(inner)
        return self.command()

    def number(self) -> Ratio:
        m = _NUMBER.match(self.s, self.i)
        if not m or len(m.group(0)) > 400:
            raise Decline("number")
        self.i = m.end()
        if "." in m.group(0):
            self.decimals += 1
        return Ratio(constant(Fraction(m.group(0))))

    def letter(self) -> Ratio:
        name = self.s[self.i]
        self.i += 1
        if self.s[self.i : self.i + 1].isalpha():  # also non-ASCII letters: "xy", "cm", "x题" decline
            raise Decline("a word, not a symbol")
        sub = _SUBSCRIPT.match(self.s, self.i)
        if sub:
            name, self.i = f"{name}_{sub.group(1) or sub.group(2)}", sub.end()
        if self.peek() in ("(", "'"):
            raise Decline("a function or a derivative")
        return Ratio(symbol(name))

    def bracket(self) -> Part:
        left = self.s[self.i]
        self.i += 1
        inner = self.items()
        right = self.peek()
        if right not in (")", "]"):
            raise Decline("unclosed bracket")
        self.i += 1
        if len(inner) == 1:
            if left + right != "()":
                raise Decline("bracketed single value")
            return _ratio_or_group(inner)
        return Group("ordered", tuple(inner), left, right)

    def command(self) -> Part:
        m = _COMMAND.match(self.s, self.i)
        if not m:
            raise Decline(f"unexpected {self.s[self.i:self.i + 10]!r}")
        self.i, name = m.end(), m.group(1)
        if name == "frac":
            top = _ratio(self.argument())
            return top / _ratio(self.argument())
        if name == "sqrt":
            return self.sqrt()
        if name == "pi":
            return Ratio(symbol("pi"))
        if name == "infty":
            return _Inf(1)
        raise Decline(f"command \\{name}")

    def sqrt(self) -> Ratio:
        index = 2
        if self.eat("["):
            m = _ROOT_INDEX.match(self.s, self.i)
            if not m:
                raise Decline("root index")
            index, self.i = int(m.group(1)), m.end()
        q = _ratio(self.argument()).rational()
        if q is None or index < 2:
            raise Decline("root of a non-rational")
        if index == 2:
            return Ratio(sqrt_rational(q))
        return Ratio(constant(root_rational(q, index)))


def _is_letter(c: str) -> bool:
    return c.isascii() and c.isalpha()


def _ratio(part: Part | Value) -> Ratio:
    if not isinstance(part, Ratio):
        raise Decline("not a number or expression")
    return part


def _ratio_or_group(inner: list[Value]) -> Part:
    if len(inner) > 1:
        return Group("set", tuple(inner))
    only = inner[0]
    if isinstance(only, Scalar) and only.value is not None:
        return only.value
    raise Decline("grouped shape")


def _factorial(x: Ratio) -> Ratio:
    q = x.rational()
    if q is None or q.denominator != 1 or not 0 <= q <= 3000:
        raise Decline("factorial")
    return Ratio(constant(factorial(int(q))))


def _power(base: Ratio, exponent: Ratio) -> Ratio:
    q = exponent.rational()
    if q is None or abs(q.numerator) > 10_000 or q.denominator > 10:
        raise Decline("exponent")
    if q.denominator == 1:
        return base ** int(q)
    b = base.rational()
    if b is None or b < 0:
        raise Decline("fractional power of a non-rational")
    value = b ** abs(q.numerator)
    root = Ratio(sqrt_rational(value)) if q.denominator == 2 else Ratio(constant(root_rational(value, q.denominator)))
    return root if q > 0 else Ratio(constant(1)) / root
