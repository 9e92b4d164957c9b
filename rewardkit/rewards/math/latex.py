"""The expression half of the fast LaTeX reader: exact values (see `algebra`), no sympy, no ANTLR.

It reads integers, decimals, ``\\frac`` (also ``\\frac12``), ``\\sqrt`` and ``\\sqrt[n]`` of rationals,
``\\pi``, single-letter symbols with subscripts, ``+ - * / \\cdot \\times``, implicit products, integer
and half-integer powers and factorials. Anything it is not sure to read the way math-verify's parser
would (functions such as ``f(x)``, words, ``1/2x``, ``2 3``, unknown commands) raises `Decline`, and the
symbolic path decides. `answers` builds the shapes (lists, tuples, sets, relations) on top.
"""

from __future__ import annotations

import re
from fractions import Fraction
from math import comb, factorial

from .algebra import Decline, Ratio, constant, root_rational, sqrt_rational, symbol
from .values import Group, Inf, Value

_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_COMMAND = re.compile(r"\\([a-zA-Z]+|.)")
_SUBSCRIPT = re.compile(r"_(?:\{([a-zA-Z0-9]+)\}|([a-zA-Z0-9]))")
_ROOT_INDEX = re.compile(r"\s*(\d)\s*\]")
#: Tokens that end an expression: separators, closers, relations.
_ENDS = (",", ";", ")", "]", "}", "\\}", "\\cup", "&", "\\\\", "\\end", "=", "<", ">", "!=", "\\le", "\\leq",
         "\\ge", "\\geq", "\\lt", "\\gt", "\\ne", "\\neq", "\\leqslant", "\\geqslant", "\\pm", "\\approx", "\\in")
_FUNCTIONS = frozenset({"sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "sinh", "cosh",
                        "tanh", "ln", "log", "exp"})
_IMPLICIT_COMMANDS = ("\\frac", "\\sqrt", "\\pi", "\\sum", "\\prod", *("\\" + f for f in sorted(_FUNCTIONS)))
_BOUND_VARIABLE = re.compile(r"_\{\s*([a-zA-Z])\s*=")
#: Symbols named with this prefix stand for values the reader does not evaluate (sin x, sums, 10^{sqrt 2}):
#: two equal names are equal values, but different names may still be equal, so `structure` draws
#: only "equal" from them, never "not equal".
OPAQUE = "@"

Part = Ratio | Group | Inf


class ExprParser:
    """Recursive descent over the string; `bracket` and `braces` are left to `answers.AnswerParser`."""

    def __init__(self, text: str) -> None:
        self.s, self.i, self.decimals = text, 0, 0
        self.depth = 0  # brackets, braces and sets around the current position

    def peek(self) -> str:
        while self.i < len(self.s) and self.s[self.i] in " \t\n":
            self.i += 1
        return self.s[self.i] if self.i < len(self.s) else ""

    def at(self, token: str) -> bool:
        self.peek()
        if not self.s.startswith(token, self.i):
            return False
        end = self.i + len(token)
        # "\\le" must not match "\\left": a command ends where its letters end
        return not (token[-1:].isalpha() and token[:1] == "\\" and self.s[end : end + 1].isalpha())

    def eat(self, token: str) -> bool:
        if self.at(token):
            self.i += len(token)
            return True
        return False

    def at_end(self) -> bool:
        return not self.peek() or any(self.at(t) for t in _ENDS)

    def bracket(self) -> Part:
        raise Decline("brackets")

    def braces(self) -> Part:
        raise Decline("braces")

    def expr(self) -> Part:
        sign, signed = 1, False
        while self.peek() in ("+", "-") and self.peek():
            sign, signed = (-sign if self.s[self.i] == "-" else sign), True
            self.i += 1
        first = self.term()
        if not isinstance(first, Ratio):
            if not self.at_end() or (signed and isinstance(first, Group)):
                raise Decline("a tuple, set or infinity inside arithmetic")
            return Inf(sign * first.sign) if isinstance(first, Inf) else first
        acc = first if sign > 0 else -first
        while True:
            if self.eat("+"):
                acc = acc + as_ratio(self.term())
            elif self.at("-"):
                self.i += 1
                acc = acc - as_ratio(self.term())
            else:
                return acc

    def term(self) -> Part:
        left = self.factor()
        while True:
            if self.eat("*") or self.eat("\\cdot") or self.eat("\\times"):
                left = as_ratio(left) * as_ratio(self.factor())
            elif self.depth == 0 and self.at(":") and not self.at(":="):
                self.i += 1  # "a:b", a ratio, is a/b to math-verify; inside "\\{x : x>0\\}" it is not
                left = as_ratio(left) / as_ratio(self.factor())
            elif self.eat("/"):
                right = as_ratio(self.factor())
                if self.implicit_next():
                    raise Decline("ambiguous a/bc")
                left = as_ratio(left) / right
            elif self.implicit_next():
                left = as_ratio(left) * as_ratio(self.factor())
            else:
                return left

    def implicit_next(self) -> bool:
        c = self.peek()
        if c.isdigit() or c == ".":
            raise Decline("a number right after a factor")
        return is_letter(c) or c == "(" or any(self.at(cmd) for cmd in _IMPLICIT_COMMANDS)

    def factor(self) -> Part:
        if self.eat("-"):
            return -as_ratio(self.factor())
        if self.eat("+"):
            return self.factor()
        base = self.primary()
        while self.at("!") and not self.at("!="):
            self.i += 1
            base = _factorial(as_ratio(base))
        if self.eat("^"):
            base = _power(as_ratio(base), as_ratio(self.argument()))
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
        if is_letter(c) or c == "\\":
            return self.primary()
        raise Decline("argument")

    def primary(self) -> Part:
        c = self.peek()
        if not c:
            raise Decline("unexpected end")
        if c.isdigit() or c == ".":
            return self.number()
        if is_letter(c):
            return self.letter()
        if c in "([":
            return self.bracket()
        if c == "{":
            return self.braces()
        if c == "|":
            return self.absolute()
        return self.command()

    def absolute(self) -> Ratio:
        """``|x|`` is named ``@|x|`` (a chain ``1 \\le |x| \\le 2`` is two intervals); ``|x-1|`` is opaque."""
        self.i += 1
        if self.peek() == "|":
            raise Decline("nested bars")
        inner = as_ratio(self.expr())
        if not self.eat("|"):
            raise Decline("unclosed bar")
        name = plain_symbol(inner)
        if name is not None and not name.startswith(OPAQUE):
            return Ratio(symbol(f"{OPAQUE}|{name}|"))
        return atom("abs", inner)

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
        value = None
        if sub:
            name, self.i = f"{name}_{sub.group(1) or sub.group(2)}", sub.end()
        elif self.s.startswith("_{", self.i):  # F_{n-k-1}: an indexed name, opaque
            self.i += 1
            value = atom(name + "_", as_ratio(self.argument()))
        if self.peek() in ("(", "'"):
            raise Decline("a function or a derivative")
        return value if value is not None else Ratio(symbol(name))

    def command(self) -> Part:
        m = _COMMAND.match(self.s, self.i)
        if not m:
            raise Decline(f"unexpected {self.s[self.i:self.i + 10]!r}")
        self.i, name = m.end(), m.group(1)
        if name == "frac":
            top = as_ratio(self.argument())
            return top / as_ratio(self.argument())
        if name == "sqrt":
            return self.sqrt()
        if name in ("binom", "dbinom", "tbinom"):
            n, k = as_ratio(self.argument()).rational(), as_ratio(self.argument()).rational()
            if n is None or k is None or n.denominator != 1 or k.denominator != 1 or not 0 <= n <= 3000:
                raise Decline("binomial")
            return Ratio(constant(comb(int(n), int(k)) if k >= 0 else 0))
        if name == "pi":
            return Ratio(symbol("pi"))
        if name == "infty":
            return Inf(1)
        if name in _FUNCTIONS:
            return self.function(name)
        if name in ("sum", "prod"):
            return self.big_operator(name)
        raise Decline(f"command \\{name}")

    def function(self, name: str) -> Ratio:
        """``\\sin(x)``, ``\\sin^2 x``, ``\\ln 2``: an opaque value of its argument (see `atom`)."""
        n = 1
        if self.eat("^"):
            p = as_ratio(self.argument()).rational()
            if p is None or p.denominator != 1 or not 1 <= p <= 10:
                raise Decline("function power")  # sin^{-1} is arcsin
            n = int(p)
        c = self.peek()
        if c in ("(", "{") and c:
            arg = as_ratio(self.primary())
        elif c and (is_letter(c) or c.isdigit()):
            arg = as_ratio(self.primary())
            if self.at("^") or self.at("_") or self.at("!") or self.implicit_next():
                raise Decline("an argument without brackets")  # \\sin 2x, \\sin x^2: read either way
        else:
            raise Decline("function argument")
        return atom(name, arg) ** n

    def big_operator(self, name: str) -> Ratio:
        """``\\sum_{k=a}^{b} body`` with the body running to the end of the expression."""
        m = _BOUND_VARIABLE.match(self.s, self.i)
        if not m:
            raise Decline("sum without an index")
        self.i = m.end()
        low = as_ratio(self.expr())
        if not self.eat("}") or not self.eat("^"):
            raise Decline("sum bounds")
        high = as_ratio(self.argument())
        body = as_ratio(self.term())
        if not self.at_end():
            raise Decline("a sum followed by more terms")  # is "+ 1" inside the sum or not?
        return atom(f"{name}_{m.group(1)}", low, high, body)

    def sqrt(self) -> Ratio:
        index = 2
        if self.eat("["):
            m = _ROOT_INDEX.match(self.s, self.i)
            if not m:
                raise Decline("root index")
            index, self.i = int(m.group(1)), m.end()
        q = as_ratio(self.argument()).rational()
        if q is None or index < 2:
            raise Decline("root of a non-rational")
        if index == 2:
            return Ratio(sqrt_rational(q))
        return Ratio(constant(root_rational(q, index)))



def plain_symbol(r: Ratio) -> str | None:
    """The name when the value is one symbol, nothing more (``x``, ``a_1``), else None."""
    if r.den != constant(1) or len(r.num) != 1:
        return None
    ((symbols, radicand), coef), = r.num.items()
    ok = len(symbols) == 1 and symbols[0][1] == 1 and coef == 1 and radicand == 1
    return symbols[0][0] if ok else None


def is_letter(c: str) -> bool:
    return c.isascii() and c.isalpha()


def as_ratio(part: Part | Value) -> Ratio:
    if not isinstance(part, Ratio):
        raise Decline("not a number or expression")
    return part


def _factorial(x: Ratio) -> Ratio:
    q = x.rational()
    if q is None or q.denominator != 1 or not 0 <= q <= 3000:
        raise Decline("factorial")
    return Ratio(constant(factorial(int(q))))


def atom(kind: str, *args: Ratio) -> Ratio:
    """An opaque value named by its kind and the canonical form of its arguments."""
    key = ";".join(repr((sorted(a.num.items()), sorted(a.den.items()))) for a in args)
    if len(key) > 2000:
        raise Decline("opaque value too large")
    return Ratio(symbol(f"{OPAQUE}{kind}({key})"))


def _power(base: Ratio, exponent: Ratio) -> Ratio:
    q = exponent.rational()
    if q is None:
        return atom("pow", base, exponent)  # 10^{\\sqrt 2}, e^{x}
    if abs(q.numerator) > 10_000 or q.denominator > 10:
        raise Decline("exponent")
    if q.denominator == 1:
        return base ** int(q)
    b = base.rational()
    if b is None or b < 0:
        raise Decline("fractional power of a non-rational")
    value = b ** abs(q.numerator)
    root = Ratio(sqrt_rational(value)) if q.denominator == 2 else Ratio(constant(root_rational(value, q.denominator)))
    return root if q > 0 else Ratio(constant(1)) / root
