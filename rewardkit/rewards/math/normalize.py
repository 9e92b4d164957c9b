"""String clean-up shared by the fast path and the symbolic path.

Everything here is linear-time regex work on an already length-capped string: no parser runs before
`caps_exceeded` has passed the input.
"""

from __future__ import annotations

import re

_DELIMS = re.compile(r"^\s*(?:\$\$|\$|\\\[|\\\()\s*(.*?)\s*(?:\$\$|\$|\\\]|\\\))\s*$", re.S)
_SPACING = re.compile(r"\\\\|\\[,;:! ]|\\q?quad(?![A-Z])|~")  # "\\quadx" is "\\quad x" mistyped
_LEFT_RIGHT = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg)(?![a-zA-Z])\s*")
_FRAC_VARIANTS = re.compile(r"\\[dtc]frac(?![a-zA-Z])")
_TEXT_BLOCK = re.compile(
    r"\\(?:text|textbf|textnormal|textit|mbox|mathrm|mathbf|operatorname)\s*\{([^{}]*)\}"
)
_DEGREES = re.compile(r"\^\s*\{?\\circ\}?|°")
_SQRT_PAREN = re.compile(r"\\sqrt\s*\(([^()]*)\)")
#: "!" after a digit or a closing bracket is a factorial (``6!``), not punctuation.
_TRAILING_PUNCT = re.compile(r"(?:[\s.,;:。，]|(?<![\d})\]!])!|\\(?![a-zA-Z{}$%]))+$")
_CHOOSE = re.compile(r"^\{?\s*([^{}\\]+?)\s*\\choose\s*([^{}\\]+?)\s*\}?$")
_THOUSANDS_GROUP = re.compile(r"(?<=\d)(?:\{,\}|,\\!|,\s?\\!\s?)(?=\d{3})")


def strip_delimiters(text: str) -> str:
    """``$x$``, ``$$x$$``, ``\\[x\\]``, ``\\(x\\)`` -> ``x`` (repeatedly, for ``$\\(x\\)$``)."""
    for _ in range(3):
        m = _DELIMS.match(text)
        if not m:
            break
        text = m.group(1)
    return text


def strip_trailing_punct(text: str) -> str:
    """A sentence's closing period is not part of the answer (math-verify reads ``$2^{10}.$`` as 2)."""
    return _TRAILING_PUNCT.sub("", text)


def clean(answer: str) -> str:
    """Formatting noise out, meaning kept: delimiters, ``\\left``/``\\right``, ``\\dfrac``, spacing."""
    s = strip_trailing_punct(strip_delimiters(answer.strip()))
    s = strip_trailing_punct(strip_delimiters(s))
    s = _LEFT_RIGHT.sub("", s)
    s = _FRAC_VARIANTS.sub(r"\\frac", s)
    s = _THOUSANDS_GROUP.sub(",", s)
    s = _SPACING.sub(_space, s)
    s = _SQRT_PAREN.sub(r"\\sqrt{\1}", s)
    if "\\choose" in s:  # "{n \\choose k}", TeX's binomial
        s = _CHOOSE.sub(r"\\binom{\1}{\2}", s)
    s = s.replace("\\displaystyle", "").replace("\\mathrm{e}", "e").replace("\\$", "$")
    return re.sub(r"\s+", " ", s).strip()


def _space(m: re.Match[str]) -> str:
    """Spacing commands become a space; a ``\\\\`` row break (also ``\\\\ ``) stays whole."""
    return m.group(0) if m.group(0) == "\\\\" else " "


def text_content(answer: str) -> str:
    """Unwrap ``\\text{..}``-like blocks and lower-case: the form text answers are compared in."""
    s = clean(answer)
    for _ in range(3):
        s = _TEXT_BLOCK.sub(r"\1", s)
    s = re.sub(r"^\{(.*)\}$", r"\1", s)
    return re.sub(r"\s+", " ", s).strip().lower()


def strip_degrees(s: str) -> str:
    return _DEGREES.sub("", s)


def nesting_depth(s: str) -> int:
    """Deepest nesting of ``{}``, ``()``, ``[]``: parsers' cost grows fast with it, so it is capped first."""
    depth = best = 0
    for ch in s:
        if ch in "{([":
            depth += 1
            best = max(best, depth)
        elif ch in "})]" and depth > 0:
            depth -= 1
    return best
