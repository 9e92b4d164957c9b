"""Exact arithmetic for the fast LaTeX path: rational functions over Q with square roots, no sympy.

A value is a quotient of polynomials whose coefficients are rationals times a square root of a
square-free integer (``3/4 * sqrt(2) * x^2 * pi``). Products of roots are reduced
(``sqrt(6) * sqrt(3) = 3 sqrt(2)``), so every polynomial has one canonical form: the roots of distinct
square-free integers are linearly independent over Q, and symbols (letters, ``pi``, ``e``) are treated as
independent indeterminates, as sympy does. Two quotients ``a/b`` and ``c/d`` are equal exactly when
``a*d == c*b``; no floating point is involved, so both "equal" and "not equal" are exact verdicts.

Every operation is bounded (terms, exponents, digits): past a bound `Decline` is raised and the answer
goes to the symbolic path and its time budget instead.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from math import gcd, isqrt

#: Bounds that keep one answer's arithmetic in the microseconds to milliseconds.
MAX_TERMS = 256
MAX_BITS = 40_000
MAX_RADICAND = 10**12

Key = tuple[tuple[tuple[str, int], ...], int]  # (sorted (symbol, exponent) pairs, square-free radicand)
Poly = dict[Key, Fraction]

ONE_KEY: Key = ((), 1)


class Decline(Exception):
    """The fast path does not handle this input; the caller falls back to the symbolic path."""


def _check_size(x: Fraction) -> Fraction:
    if max(x.numerator.bit_length(), x.denominator.bit_length()) > MAX_BITS:
        raise Decline("number too large for the fast path")
    return x


def _mul_keys(a: Key, b: Key) -> tuple[int, Key]:
    if not a[0]:
        symbols = b[0]
    elif not b[0]:
        symbols = a[0]
    else:
        merged = dict(a[0])
        for name, exp in b[0]:
            merged[name] = merged.get(name, 0) + exp
        symbols = tuple(sorted(merged.items()))
    g = gcd(a[1], b[1])
    return g, (symbols, (a[1] // g) * (b[1] // g))


def constant(value: Fraction | int, radicand: int = 1) -> Poly:
    return {((), radicand): Fraction(value)} if value else {}


def symbol(name: str) -> Poly:
    return {(((name, 1),), 1): Fraction(1)}


def add(a: Poly, b: Poly, sign: int = 1) -> Poly:
    out = dict(a)
    for k, v in b.items():
        s = out.get(k, Fraction(0)) + sign * v
        if s:
            out[k] = s
        else:
            out.pop(k, None)
    if len(out) > MAX_TERMS:
        raise Decline("too many terms")
    return out


def mul(a: Poly, b: Poly) -> Poly:
    if len(a) * len(b) > MAX_TERMS * 4:
        raise Decline("too many terms")
    out: Poly = {}
    for ka, va in a.items():
        for kb, vb in b.items():
            factor, key = _mul_keys(ka, kb)
            s = out.get(key, Fraction(0)) + _check_size(va * vb * factor)
            if s:
                out[key] = s
            else:
                out.pop(key, None)
    if len(out) > MAX_TERMS:
        raise Decline("too many terms")
    return out


def power(a: Poly, n: int) -> Poly:
    """``a ** n`` for 0 <= n, by squaring; sizes are checked at every step."""
    if n > 64 and not (len(a) == 1 and next(iter(a))[1] == 1):
        raise Decline("power too large")
    if n > 10_000:
        raise Decline("power too large")
    result, base = constant(1), a
    while n:
        if n & 1:
            result = mul(result, base)
        n >>= 1
        if n:
            base = mul(base, base)
    return result


def as_rational(a: Poly) -> Fraction | None:
    """The polynomial's value when it is a plain rational number (no roots, no symbols)."""
    if not a:
        return Fraction(0)
    if len(a) == 1 and ONE_KEY in a:
        return a[ONE_KEY]
    return None


@lru_cache(maxsize=4096)
def _square_part(n: int) -> tuple[int, int]:
    """``n = s*s*r`` with r square-free: returns (s, r). Exact for n <= MAX_RADICAND."""
    if n > MAX_RADICAND:
        raise Decline("radicand too large")
    s = r = 1
    for p in _PRIMES:
        if p * p > n:
            break
        e = 0
        while n % p == 0:
            n, e = n // p, e + 1
        s, r = s * p ** (e // 2), r * p ** (e % 2)
    # What is left is 1, a prime, or (past the table) p*q or p*p with p, q > 10^4, as n <= 10^12.
    t = isqrt(n)
    return (s * t, r) if t * t == n else (s, r * n)


def _primes(limit: int) -> tuple[int, ...]:
    sieve = bytearray([1]) * (limit + 1)
    sieve[0:2] = b"\x00\x00"
    for i in range(2, isqrt(limit) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(sieve[i * i :: i]))
    return tuple(i for i, flag in enumerate(sieve) if flag)


_PRIMES = _primes(10_000)


def sqrt_rational(q: Fraction) -> Poly:
    """``sqrt(q)`` for a rational q >= 0 as ``(s/b) * sqrt(r)``; a negative q declines."""
    if q < 0:
        raise Decline("square root of a negative number")
    if q == 0:
        return {}
    num = q.numerator * q.denominator  # sqrt(a/b) = sqrt(a*b) / b
    s, r = _square_part(num)
    return constant(Fraction(s, q.denominator), r)


def root_rational(q: Fraction, n: int) -> Fraction:
    """The n-th root of a rational when it is rational; otherwise decline."""
    if q < 0 and n % 2 == 0:
        raise Decline("even root of a negative number")
    sign = -1 if q < 0 else 1
    a, b = _int_root(abs(q.numerator), n), _int_root(q.denominator, n)
    return sign * Fraction(a, b)


def _int_root(x: int, n: int) -> int:
    if x.bit_length() > 4000:
        raise Decline("number too large for a root")
    r = round(x ** (1.0 / n)) if x.bit_length() < 1000 else isqrt(x) if n == 2 else -1
    for c in (r - 1, r, r + 1):
        if c >= 0 and c**n == x:
            return c
    raise Decline("irrational root")


_VALUES = {"pi": 3.141592653589793, "e": 2.718281828459045}


def approximate(a: Poly) -> float | None:
    """A float for a polynomial in numbers, roots, pi and e (None when it holds other symbols)."""
    total = 0.0
    try:
        for (symbols, radicand), coef in a.items():
            term = float(coef) * radicand**0.5
            for name, exp in symbols:
                if name not in _VALUES:
                    return None
                term *= _VALUES[name] ** exp
            total += term
    except OverflowError:
        return None
    return total


class Ratio:
    """``num / den``: a quotient of polynomials, compared by cross-multiplication."""

    __slots__ = ("den", "num")

    def __init__(self, num: Poly, den: Poly | None = None) -> None:
        den = constant(1) if den is None else den
        if not den:
            raise Decline("division by zero")
        c = as_rational(den)
        if c is not None and c != 1:
            num, den = {k: _check_size(v / c) for k, v in num.items()}, constant(1)
        self.num, self.den = num, den

    def __add__(self, o: Ratio) -> Ratio:
        if self.den == o.den:
            return Ratio(add(self.num, o.num), self.den)
        return Ratio(add(mul(self.num, o.den), mul(o.num, self.den)), mul(self.den, o.den))

    def __neg__(self) -> Ratio:
        return Ratio({k: -v for k, v in self.num.items()}, self.den)

    def __sub__(self, o: Ratio) -> Ratio:
        return self + (-o)

    def __mul__(self, o: Ratio) -> Ratio:
        return Ratio(mul(self.num, o.num), mul(self.den, o.den))

    def __truediv__(self, o: Ratio) -> Ratio:
        return Ratio(mul(self.num, o.den), mul(self.den, o.num))

    def __pow__(self, n: int) -> Ratio:
        if n < 0:
            return Ratio(power(self.den, -n), power(self.num, -n))
        return Ratio(power(self.num, n), power(self.den, n))

    def rational(self) -> Fraction | None:
        """The value when it is a plain rational number."""
        n, d = as_rational(self.num), as_rational(self.den)
        return None if n is None or d is None else n / d

    def approximate(self) -> float | None:
        n, d = approximate(self.num), approximate(self.den)
        return None if n is None or d is None or d == 0 else n / d

    def equals(self, o: Ratio) -> bool:
        return mul(self.num, o.den) == mul(o.num, self.den)

    def key(self) -> object:
        """A hashable canonical form, for polynomials (exact sets of answers)."""
        if self.den != constant(1):
            raise Decline("no canonical key for a quotient")
        return frozenset(self.num.items())
