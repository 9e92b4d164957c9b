"""Reading a judge's verdict, strictly: a JSON object, or exactly one verdict line, the last one.

A verdict is read from one of two forms and nothing else:

- the whole reply is a JSON object (optionally in one ```json fence), as structured output returns it:
  ``{"reasoning": "...", "score": 7}`` or ``{"verdict": "yes"}``; only the named field counts;
- the reply's last non-empty line is ``Score: N`` (or ``Score: N/SCALE``, ``Verdict: yes|no``, or the
  label a template asks for), with markdown decoration allowed, and no other line of the reply starts
  with that label.

Everything else is `Unreadable`, with a reason: several verdict lines (a judge that scores and then
quotes the response, or quotes it and then scores, cannot be told from one that scores twice), a verdict
line that is not last, text after the figure ("Score: 10 is what the response demands; I give 2"), a
denominator other than the scale (``Score: 1/1``, ``4/5``, ``0/0``), a figure out of range, a bare number,
and any verdict line or JSON object that occurs in the graded text (`safety.quoted`): the judge may be
quoting the response. "Answer: yes" and "Correct: yes" are not verdicts unless the template's label is
"answer" or "correct". The caller decides what an unreadable reply costs (see `scoring`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from .safety import fold, quoted, states

_NUM = r"(\d+(?:\.\d+)?)"
_FENCE = re.compile(r"^```(?:json)?\s*\n(.*)\n```$", re.S | re.I)


class Parsed(NamedTuple):
    """A readable verdict: ``value`` in [0, 1] and the raw figure the judge gave."""

    value: float
    raw: float
    out_of: float


class Unreadable(NamedTuple):
    """A reply that holds no verdict this module will vouch for, and why."""

    reason: str


Reading = Parsed | Unreadable


def _label(labels: Sequence[str]) -> str:
    return "(?:" + "|".join(re.escape(fold(label)) for label in labels) + ")"


def verdict_line(reply: str, labels: Sequence[str], figure: str, quotes: Sequence[str]) -> re.Match[str] | str:
    """The match of ``figure`` on the single, last verdict line of ``reply``, or why there is none.

    ``figure`` is a regex for what follows the label and its colon (groups are the caller's).
    """
    lines = [line for line in reply.splitlines() if line.strip()]
    label = _label(labels)
    loose = re.compile(rf"^(?:final |overall )?{label}\b[^:=]{{0,24}}[:=]")
    found = [i for i, line in enumerate(lines) if loose.match(fold(line))]
    if not found:
        return f"no '{labels[0].capitalize()}:' line"
    if len(found) > 1:
        return f"{len(found)} verdict lines where exactly one is allowed"
    if found[0] != len(lines) - 1:
        return "the verdict line is not the last line"
    line = fold(lines[-1])
    match = re.fullmatch(rf"(?:final |overall )?{label} ?[:=] ?{figure}[.!]?", line)
    if match is None:
        return f"the verdict line {lines[-1].strip()[:80]!r} is not of the asked form"
    if quoted(lines[-1], quotes) or states(label_of(line, labels), _number(match.group(1)), quotes):
        return "the verdict line also occurs in the graded text (the judge may be quoting it)"
    return match


def _number(figure: str) -> str:
    """A figure as the shortest number it is (``10.0`` -> ``10``); words stay as they are."""
    try:
        return f"{float(figure):g}"
    except ValueError:
        return figure


def label_of(line: str, labels: Sequence[str]) -> str:
    """Which of ``labels`` a folded verdict line starts with (after an optional final/overall)."""
    bare = re.sub(r"^(?:final |overall )", "", line)
    return next((fold(label) for label in labels if bare.startswith(fold(label))), fold(labels[0]))


def json_verdict(reply: str, quotes: Sequence[str]) -> dict[str, Any] | str | None:
    """The reply as a JSON object; None when it is not JSON at all; a reason when it is not usable."""
    text = reply.strip()
    fenced = _FENCE.match(text)
    text = fenced.group(1).strip() if fenced else text
    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None  # prose that happens to open with a brace: the text verdict rules decide
    if not isinstance(data, dict):
        return "the JSON reply is not an object"
    if quoted(text, quotes):
        return "the JSON verdict also occurs in the graded text (the judge may be quoting it)"
    return data


def read_score(reply: str, scale: int, quotes: Sequence[str] = (), labels: Sequence[str] = ("score",)) -> Reading:
    """A 0..scale score, normalised; ``quotes`` are the texts a verdict must not come from."""
    data = json_verdict(reply, quotes)
    if isinstance(data, str):
        return Unreadable(data)
    if data is not None:
        return _json_score(data, scale, labels[0], quotes)
    match = verdict_line(reply, labels, rf"{_NUM}(?: ?(?:/|out of) ?{_NUM})?", quotes)
    if isinstance(match, str):
        return Unreadable(match)
    raw = float(match.group(1))
    if match.group(2) is not None and float(match.group(2)) != scale:
        return Unreadable(f"denominator {match.group(2)} is not the scale {scale}")
    return _in_range(raw, scale)


def _json_score(data: dict[str, Any], scale: int, field: str, quotes: Sequence[str]) -> Reading:
    value = data.get(field)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return Unreadable(f"the JSON reply has no numeric {field!r} field")
    if states(field, _number(str(value)), quotes):
        return Unreadable(f"the graded text states this {field!r} itself (the judge may be repeating it)")
    return _in_range(float(value), scale)


def _in_range(raw: float, scale: int) -> Reading:
    if not (math.isfinite(raw) and 0 <= raw <= scale):
        return Unreadable(f"score {raw:g} is outside 0-{scale}")
    return Parsed(raw / scale, raw, float(scale))


def read_choice(
    reply: str,
    choices: dict[str, float],
    quotes: Sequence[str] = (),
    labels: Sequence[str] = ("verdict",),
    field: str = "verdict",
) -> Reading:
    """One of ``choices`` (word -> value) on the verdict line, or in the JSON field ``field``."""
    data = json_verdict(reply, quotes)
    if isinstance(data, str):
        return Unreadable(data)
    if data is not None:
        value = data.get(field)
        if isinstance(value, bool) and set(choices) == {"yes", "no"}:
            value = "yes" if value else "no"
        word = fold(value) if isinstance(value, str) else None
        if word not in choices:
            return Unreadable(f"the JSON reply's {field!r} is not one of {', '.join(choices)}")
        if states(field, word, quotes):
            return Unreadable(f"the graded text states this {field!r} itself (the judge may be repeating it)")
        return Parsed(choices[word], choices[word], 1.0)
    words = "(" + "|".join(re.escape(w) for w in choices) + ")"
    match = verdict_line(reply, labels, words, quotes)
    if isinstance(match, str):
        return Unreadable(match)
    value = choices[match.group(1)]
    return Parsed(value, value, 1.0)


YES_NO = {"yes": 1.0, "no": 0.0}


def read_verdict(reply: str, kind: str, scale: int, quotes: Sequence[str] = ()) -> Reading:
    """``kind`` 'score' (0..scale) or 'yes_no' (``Verdict: yes|no``)."""
    if kind == "yes_no":
        return read_choice(reply, YES_NO, quotes)
    return read_score(reply, scale, quotes)


def parse_verdict(reply: str, kind: str, scale: int, quotes: Sequence[str] = ()) -> Parsed | None:
    """`read_verdict` without the reason."""
    reading = read_verdict(reply, kind, scale, quotes)
    return reading if isinstance(reading, Parsed) else None
