"""One hedge and negation policy, applied to the final answer whatever path found it.

An answer is read together with the text of its own sentence just before it and just after it
(`window`); the same two rules then apply to a box, an answer phrase, a math span or a bare number:

- **Negation**: a negation word right before the answer (at most two plain words between: "definitely
  not 42", "is not equal to 42", "ce n'est pas 42", "nicht 42", "не 42", "不是42") means the completion
  rejects that value: it scores 0; so does a denial right after it ("42 is not the answer").
  Trade-off: "not 5 but 42" and "5, not 6" are fine (a number stands between), and so is
  "there is no doubt the answer is 42" (more than two words between).
- **Alternatives**: a value joined to the answer by an alternative word ("or", "either", "oder", "ou",
  "o", "или", "либо", "或", ``\\vee``, ``\\lor``), before it or after it, is an alternative. For a
  single-valued gold the completion scores 1 only when *every* alternative equals the gold, whatever its
  position: "either 2 or 3" scores 0 for gold 3 and for gold 2, while "$\\frac12$, or equivalently $0.5$"
  still scores 1. For a multi-valued gold ("2, 3", "\\pm 2") the alternatives are read as the list of
  values the completion gives ("x = 2 or x = 3").

`split_alternatives` applies the same rule inside one extracted answer (``\\boxed{2 \\vee 3}``,
``\\boxed{2 | 3}``, "2 oder 3").
"""

from __future__ import annotations

import re

#: How far before and after an answer its sentence is read, in characters.
WINDOW = 120
_OR = r"(?:and\s*/\s*or|or|either|oder|ou|o|или|либо|或者|或|\\vee|\\lor|\\text\s*\{\s*or\s*\})"
_SOFT = r"(?:\s+(?:maybe|perhaps|possibly|even|equivalently|rather|else|otherwise))?"
_VALUE = (r"\$[^$\n]{1,80}\$|\\boxed\s*\{[^{}\n]{0,80}\}|\\\([^\n]{1,80}?\\\)"
          r"|[-+]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:\s*/\s*\d+)?%?|\(?(?-i:[A-J])\)?(?![A-Za-z])")
#: "or" may open the next sentence ("It could be 41. Or 42."); a bare comma list is a hedge too ("42, 43").
_AFTER = re.compile(r"^[\s,;(.]*" + _OR + r"(?![a-zA-Z])" + _SOFT + r"[\s,:]*(" + _VALUE + ")"
                    r"|^\s*,\s*(-?\d[\d.]*(?:\s*/\s*\d+)?%?)(?![\d,])", re.I)
_BEFORE = re.compile(r"(" + _VALUE + r")(?:[\s,;.]*(?:" + _OR + r"(?![a-zA-Z])" + _SOFT + r")[\s,:]*"
                     r"|\s*,\s*)$", re.I)
_NEGATION = re.compile(
    r"(?:(?<![a-zA-Z])(?:not|never|cannot|[a-z]*n['’]t|nicht|kein\w*|pas|non)"
    r"|(?<![а-яА-Я])(?:не|нет)|不是|不)(?:\s+[^\W\d_]+){0,2}[\s:,]*$",
    re.I,
)
_DENIED = re.compile(
    r"^[\s,]*(?:is|was|would be|are)\s+(?:not|never|incorrect|wrong)(?![a-zA-Z])|^[\s,]*(?:isn't|wasn't)", re.I
)
_SENTENCE_BREAK = re.compile(r"(?:[.!?](?=\s)|\n|。)")
_SPLIT = re.compile(
    r"\s*(?:(?<![a-zA-Z])(?:and\s*/\s*or|or|oder|ou|o|или|либо)(?![a-zA-Z])|或者|或|\\vee(?![a-zA-Z])|\\lor(?![a-zA-Z])"
    r"|\\text\s*\{\s*or\s*\}|(?<=\S)\s+\|\s+(?=\S))\s*",
    re.I,
)
_EITHER = re.compile(r"^\s*(?:either|entweder|либо)\s+", re.I)


def window(text: str, start: int, end: int) -> tuple[str, str]:
    """The answer's sentence: up to `WINDOW` characters before ``start`` and after ``end``."""
    before = text[max(0, start - WINDOW) : start]
    breaks = list(_SENTENCE_BREAK.finditer(before))
    if breaks:
        before = before[breaks[-1].end() :]
    after = text[end : end + WINDOW]
    stop = _SENTENCE_BREAK.search(after)
    return before, after[: stop.start()] if stop else after


def negated(before: str, after: str = "") -> bool:
    """A negation word ends the text before the answer, or the answer is denied right after it
    ("42 is not the answer", "42 is wrong"; "5, not 6" keeps 5)."""
    return bool(_NEGATION.search(before) or _DENIED.match(after))


def alternatives(before: str, after: str) -> list[str]:
    """Values joined to the answer by an alternative word (or a bare comma), in text order. ``before`` and
    ``after`` are the raw text around the answer: an "or" may cross a sentence end."""
    found = []
    m = _BEFORE.search(before)
    if m:
        found.append(_unwrap(m.group(1)))
    m = _AFTER.match(after)
    if m:
        found.append(_unwrap(m.group(1)))
    return found


def split_alternatives(answer: str) -> list[str]:
    """``2 \\vee 3``, ``2 | 3``, ``either 2 or 3`` -> ["2", "3"]; an answer without alternatives -> [it]."""
    parts = [p for p in _SPLIT.split(_EITHER.sub("", answer)) if p.strip()]
    return parts if len(parts) > 1 else [answer]


def _unwrap(value: str) -> str:
    v = value.strip()
    if v.startswith("\\boxed"):
        return v[v.index("{") + 1 : -1]
    if v.startswith("\\(") and v.endswith("\\)"):
        return v[2:-2]
    return v.strip("$") if v.startswith("$") else v
