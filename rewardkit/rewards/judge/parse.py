"""Reading a judge's verdict: ``Score: N`` on a 0..scale scale, or ``Verdict: yes|no``.

The parsers return ``None`` for anything they cannot read with confidence, and the caller turns that into
a masked error: a verdict the judge botched says nothing about the completion, so it must never become a
0 or a 1. When a verdict holds several score lines, the last one counts: the prompt asks for the score
on the final line, and an earlier one is usually the judge quoting the response or thinking aloud.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

_NUM = r"(\d+(?:\.\d+)?)"
# "Score: 7", "**Score:** 7", "Final score = 7/10", "score: 7 out of 10 (solid)", "Rating: 7". The label
# must start a line (after markdown decoration) so "a higher score: 9 would..." mid-line is skipped, and a
# range such as "Score: 0-10" is not a score.
_SCORE_LINE = re.compile(
    r"^[\s>*_#`\-]*(?:final\s+|overall\s+)?(?:score|rating|grade)[\s*_`]*[:=][\s*_`]*"
    + _NUM
    + r"(?:\s*(?:/|out\s+of)\s*"
    + _NUM
    + r")?(?!\s*[-–]\s*\d|\d|[.,]\d)(?:[\s*_`.,;:!)(\-–].*)?$",
    re.IGNORECASE | re.MULTILINE,
)
_BARE_NUMBER = re.compile(r"^[\s*_`]*" + _NUM + r"(?:\s*/\s*" + _NUM + r")?[\s*_`.]*$")
_VERDICT_LINE = re.compile(
    r"^[\s>*_#`\-]*(?:final\s+)?(?:verdict|answer|decision|correct)[\s*_`]*[:=][\s*_`]*(yes|no)\b[\s*_`.!]*$",
    re.IGNORECASE | re.MULTILINE,
)
_BARE_YES_NO = re.compile(r"^[\s*_`]*(yes|no)[\s*_`.!]*$", re.IGNORECASE)


class Parsed(NamedTuple):
    """A readable verdict: ``value`` in [0, 1] and the raw figure the judge gave."""

    value: float
    raw: float
    out_of: float


def parse_score(verdict: str, scale: int) -> Parsed | None:
    """The last ``Score: N`` line (or a verdict that is only a number), normalised by ``scale``.

    ``N/D`` and ``N out of D`` are read against ``D`` (a judge asked for 0-10 that answers ``4/5`` meant
    0.8). A figure outside its scale is unreadable, not clipped: the judge misunderstood the format.
    """
    matches = list(_SCORE_LINE.finditer(verdict))
    match = matches[-1] if matches else _BARE_NUMBER.match(verdict)
    if match is None:
        return None
    raw = float(match.group(1))
    out_of = float(match.group(2)) if match.group(2) else float(scale)
    if not (math.isfinite(raw) and out_of > 0 and 0 <= raw <= out_of):
        return None
    return Parsed(raw / out_of, raw, out_of)


def parse_yes_no(verdict: str) -> Parsed | None:
    """The last ``Verdict: yes|no`` line (or a verdict that is only yes or no): 1.0 for yes, 0.0 for no."""
    matches = list(_VERDICT_LINE.finditer(verdict))
    match = matches[-1] if matches else _BARE_YES_NO.match(verdict)
    if match is None:
        return None
    yes = match.group(1).lower() == "yes"
    return Parsed(1.0 if yes else 0.0, 1.0 if yes else 0.0, 1.0)


def parse_verdict(verdict: str, kind: str, scale: int) -> Parsed | None:
    return parse_yes_no(verdict) if kind == "yes_no" else parse_score(verdict, scale)
