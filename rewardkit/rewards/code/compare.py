"""Compare a program's output with the expected output, the way stdin/stdout judges do."""

from __future__ import annotations

import math
from typing import Any


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _tokens_close(got: str, want: str, tol: float) -> bool:
    a, b = got.split(), want.split()
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x == y:
            continue
        try:
            fx, fy = float(x), float(y)
        except ValueError:
            return False
        if not (math.isfinite(fx) and math.isfinite(fy)):
            return False
        if abs(fx - fy) > tol * max(1.0, abs(fy)):
            return False
    return True


def outputs_match(got: str, want: str, float_tol: float = 0.0) -> bool:
    """True when ``got`` equals ``want`` line by line, trailing whitespace and trailing blank lines ignored.

    The line counts must agree: comparing with ``zip`` would let a program that prints only the first
    line pass. With ``float_tol`` > 0, numeric tokens may differ by that relative (or, below 1, absolute)
    amount.
    """
    a, b = _lines(got), _lines(want)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x == y:
            continue
        if float_tol <= 0 or not _tokens_close(x, y, float_tol):
            return False
    return True


def values_match(got: Any, want: Any, float_tol: float = 0.0) -> bool:
    """Compare plain JSON data returned by a call-based test (APPS ``fn_name``) with the expected value.

    APPS stores many expected return values wrapped in a one-element list; both spellings are accepted.
    Tuples arrive as lists (JSON), so lists and tuples compare alike.
    """
    if _equal(got, want, float_tol):
        return True
    return isinstance(want, list) and len(want) == 1 and _equal(got, want[0], float_tol)


def _equal(a: Any, b: Any, tol: float) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if tol > 0 and math.isfinite(a) and math.isfinite(b):
            return abs(a - b) <= tol * max(1.0, abs(b))
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y, tol) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k], tol) for k in a)
    return type(a) is type(b) and bool(a == b)
