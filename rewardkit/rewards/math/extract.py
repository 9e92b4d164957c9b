"""Finding the final answer in a completion, in a documented order of precedence.

The completion first goes through `text.prepare` (full-width forms, Unicode minus, zero-width characters,
GSM8K calculator annotations, ``$`` as money); every step below runs in linear time (see `text`).

1. The last complete ``<answer>...</answer>`` block after the reasoning (the text up to the first
   ``</think>``); what follows applies inside it. Nothing outside it counts then. Blocks that answer
   differently are alternatives (see `policy`).
2. Else the answer section: the text after the last ``</think>`` when there is any; an unclosed
   ``<answer>`` in it (a truncated completion) is read as far as it goes.
3. The last ``\\boxed{}`` / ``\\fbox{}`` (unless an answer phrase of step 4 follows it); boxes separated
   only by short connecting text ("and", commas, ``\\quad``) are read together as one answer (a set);
   every other box of the section is an alternative.
4. The last answer phrase: "final answer is ...", "the answer is ...", "answer: ...", "**Answer: 100**",
   a closing line "A: 26", GSM8K ``#### N`` (and French, Spanish, German, Russian, Chinese forms), read
   by `read_phrase`: its math spans, else the value that opens it ("200 GB", "17 oranges are ..."),
   else the last side of an equality chain ("x = 20 + 10 = 30 years"), else the text after its last
   "is", else its first number that is not an ordinal ("the 8th grade should have 10").
5. A concluding sentence ("Therefore ...", "So ...", "Thus ...") after the last math span: its last number.
6. The last display or inline math span, with the spans before it that only "and" or commas separate.
7. The whole text when it is short and reads as a bare answer (no prose word, not "It is 4.").
8. The last number, unless ``number_fallback`` is off.

Then `policy` reads the answer's sentence: a negation before it makes the completion wrong, and values
joined to it by "or" (in any of the languages above) are alternatives that must all equal the gold.

Multiple-choice golds use `extract_choice` instead: a letter after an answer phrase, a leading letter,
else the last letter not negated ("not A", "can't be B").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import policy
from .numeric import UNIT_AFTER
from .text import after_last_think, answer_blocks, boxes, math_spans, prepare

#: Answer phrases are read up to this many characters (a sentence, not a chapter).
MAX_PHRASE = 2000

_JOINER = re.compile(r"^[\s,;]*(?:(?:and|\\text\s*\{\s*and\s*\}|\\quad|\\qquad)[\s,;]*)*$", re.I)
_ANCHOR = re.compile(
    r"(?:final answer(?: is)?|the answer is|answer is|answer\s*:|réponse\s*(?:est|:)|答案\s*[:是为]"
    r"|ответ\s*:|respuesta\s*(?:es|:)|antwort\s*:|(?:^|(?<=\n))[ \t>#*]*(?-i:A)[ \t]*:|####)[ \t*:]*",
    re.I,
)
_ANCHOR_KEYS = ("answer", "réponse", "答案", "ответ", "respuesta", "antwort", "a:", "####")
_SENTENCE_END = re.compile(r"(?:[.!?](?=\s|$)|\n|。|I hope|<\|)")
_CONCLUSION = re.compile(
    r"(?:^|(?<=[.!?\n$\]]))\s*(?:therefore|thus|hence|so|in total|altogether|overall|in conclusion|finally)\b",
    re.I,
)
_NUMBER = re.compile(r"(?<![A-Za-z\d.])-?(?:\d+(?:[.,]\d+)*|\.\d+)(?:\s*/\s*\d+(?:\.\d+)?)?\s?%?")
_ORDINAL = re.compile(r"(?:st|nd|rd|th)\b")
_HEAD = re.compile(
    r"[-+]?(?:\\frac\s*\{[^{}]{1,40}\}\s*\{[^{}]{1,40}\}|(?:\d+(?:[.,]\d+)*|\.\d+)(?:\s*/\s*\d+)?)"
    r"(?:\s?(?:\\?%|°|\^\s*\{?\\circ\}?))?"
)
_VALUE_ANYWHERE = re.compile(r"(?<![A-Za-z\d.])" + _HEAD.pattern)
#: What may follow a value read from prose: nothing, punctuation, words, a parenthetical ("42 (since
#: ...)"), a short unit ("48g"); not an operator, a digit, a comma list or "(x+1)".
_PROSE_REST = re.compile(
    r"(?:\s*$|\s*,(?!\s*-?\d)|\s*[.;:!?)]|\s+\((?!\s*[-+]?\d*\s*[a-zA-Z]\s*[-+*/^)])"
    r"|\s+[^\W\d_]{2,}|\s?[a-zA-Z]{1,3}\b(?!\s*[=+\-*/^\d(]))"
)
_REASON = re.compile(r"(?<![a-zA-Z])(?:since|because|as|when|where|if|given)(?![a-zA-Z])", re.I)
_COPULA = re.compile(r"\s(?:is|are|was|were|equals|be|makes|gives|=)\s+|(?:是|为|等于)\s*", re.I)
_PROSE_WORD = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{4,}(?![a-zA-Z{])|[^\x00-\x7f]{2,}")
_STOPWORD = re.compile(
    r"(?<![\\a-zA-Z])(?:is|it|so|the|we|be|of|to|an|are|was|not|no|never|nicht|pas)(?![a-zA-Z])", re.I
)


@dataclass(frozen=True, slots=True)
class Extracted:
    """The answer (None when nothing), where it came from, and what `policy` found around it."""

    answer: str | None
    source: str
    parts: tuple[str, ...] = ()
    hedged: bool = False
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Found:
    answer: str
    start: int
    end: int
    source: str
    parts: tuple[str, ...] = ()
    others: tuple[str, ...] = ()


def extract_answer(text: str, number_fallback: bool = True) -> Extracted:
    """The final answer of a completion following the module's precedence list."""
    text = prepare(text)
    blocks, unclosed = answer_blocks(text)
    if blocks:
        found = [_judge(b[2], _find(b[2], number_fallback)) for b in blocks]
        last = found[-1]
        others = tuple(f.answer for f in found[:-1] if f.answer is not None)
        return Extracted(last.answer, "answer tag/" + last.source, last.parts, last.hedged or
                         any(f.hedged for f in found), others + last.alternatives)
    section = after_last_think(text)
    if unclosed is not None and text[unclosed:].strip():
        inner = text[unclosed:].replace("<answer>", " ")
        found_inner = _judge(inner, _find(inner, number_fallback))
        return Extracted(found_inner.answer, "answer tag/" + found_inner.source, found_inner.parts,
                         found_inner.hedged, found_inner.alternatives)
    return _judge(section, _find(section, number_fallback))


def _judge(section: str, found: _Found | None) -> Extracted:
    if found is None:
        return Extracted(None, "no answer found")
    before, after = policy.window(section, found.start, found.end)
    if policy.negated(before, after):
        return Extracted(found.answer, found.source + " (negated)", found.parts, hedged=True)
    raw = policy.alternatives(section[max(0, found.start - policy.WINDOW) : found.start],
                              section[found.end : found.end + policy.WINDOW])
    alts = tuple(a for a in (*found.others, *raw) if a.strip())
    unit = UNIT_AFTER.match(after) if found.source != "boxed" else None
    answer = f"{found.answer.rstrip()} {unit.group(0).strip()}" if unit else found.answer
    return Extracted(answer, found.source, found.parts, False, alts)


def _find(section: str, number_fallback: bool) -> _Found | None:
    section = section.replace("**", "  ")  # markdown bold: "**Answer: 100**" (same length: offsets hold)
    spans = math_spans(section)
    box = _boxed(section)
    anchor = _last_anchor(section, after=box.start + 1 if box else 0)
    if box and anchor is None:
        return box
    if anchor is not None:
        found = read_phrase(section, anchor, spans)
        if found is not None:
            return found
    if spans:
        conclusion = _conclusion(section, spans[-1][1])
        if conclusion is not None:
            return conclusion
        return _span_group(section, spans, 0, "math span")
    stripped = section.strip()
    if stripped and is_bare(stripped):
        start = section.index(stripped[0])
        if stripped.endswith("."):  # a sentence ("48g."): its leading value, as in an answer phrase
            return _prose_value(section, start, start + len(stripped), "whole text")
        return _Found(stripped, start, start + len(stripped), "whole text")
    return _last_number(section, 0, len(section), "last number") if number_fallback else None


def _boxed(section: str) -> _Found | None:
    found = boxes(section)
    if not found:
        return None
    group = [found[-1]]
    for box in reversed(found[:-1]):
        if box[1] > group[0][0]:
            continue  # a box nested in the last one
        gap = section[box[1] : group[0][0]]
        if len(gap) > 60 or len(re.findall(r"[^\W\d_]+", re.sub(r"\\[a-zA-Z]+", " ", gap))) > 4:
            break
        group.insert(0, box)
    parts = tuple(g[2].strip() for g in group)
    first = group[0][0]
    others = tuple(dict.fromkeys(b[2].strip() for b in found if b[1] <= first and b[2].strip() not in parts))
    answer = parts[0] if len(parts) == 1 else ", ".join(parts)
    return _Found(answer, group[0][0], group[-1][1], "boxed", parts, others)


def _last_anchor(section: str, after: int = 0) -> int | None:
    """Where the text of the last answer phrase starts (after ``after``), or None.

    The case-insensitive alternation costs ~0.1 us per character scanned; ``str.find`` on the
    lower-cased text skips to the first keyword (the longest prefix before one is "final ", 6 chars).
    """
    low = section.lower()
    if len(low) != len(section):  # a few letters ("İ") lower-case to two: positions would shift
        low = section
    found = [i for i in (low.find(k, after) for k in _ANCHOR_KEYS) if i >= 0]
    if not found:
        return None
    last = None
    for m in _ANCHOR.finditer(section, max(after, min(found) - 8)):
        last = m
    return last.end() if last is not None else None


def read_phrase(section: str, start: int, spans: list[tuple[int, int, str]]) -> _Found | None:
    """The answer in the phrase that starts at ``start`` (see step 4 of the module docstring)."""
    while start < len(section) and section[start] in " \t\n:#*>":
        start += 1
    stop = _SENTENCE_END.search(section, start, start + MAX_PHRASE)
    end = stop.start() if stop else min(len(section), start + MAX_PHRASE)
    inside = [i for i, s in enumerate(spans) if start <= s[0] < end]
    head = _HEAD.match(section, start, end)
    if head and _PROSE_REST.match(section, head.end(), end) and not (inside and spans[inside[0]][0] == start):
        return _Found(head.group(0).strip(), head.start(), head.end(), "answer phrase")  # "17 oranges are ..."
    copulas = [c for c in _COPULA.finditer(section, start, end)
               if not any(spans[i][0] <= c.start() < spans[i][1] for i in inside)]
    if copulas and (not inside or spans[inside[-1]][0] < copulas[-1].start()):
        found = _prose_value(section, copulas[-1].end(), end, "answer phrase")  # "the volume of $V$ is 120"
        if found is not None:
            return found
    if inside:
        return _span_group(section, spans[: inside[-1] + 1], inside[0], "answer phrase")
    return _prose_value(section, start, end, "answer phrase")


def _prose_value(section: str, start: int, end: int, source: str) -> _Found | None:
    text = section[start:end]
    if "=" in text and not _REASON.search(text):  # an equality chain: its last side
        cut = text.rindex("=") + 1
        lead = len(text[cut:]) - len(text[cut:].lstrip())
        head = _HEAD.match(text, cut + lead)
        if head and _PROSE_REST.match(text, head.end()):
            return _Found(head.group(0).strip(), start + head.start(), start + head.end(), source)
    head = _HEAD.match(text)
    if head and _PROSE_REST.match(text, head.end()):
        return _Found(head.group(0).strip(), start + head.start(), start + head.end(), source)
    copulas = list(_COPULA.finditer(text))
    tail_at = copulas[-1].end() if copulas else 0
    tail = text[tail_at:].strip()
    if tail and is_bare(tail):
        head = _HEAD.match(text, tail_at)
        if head and _PROSE_REST.match(text, head.end()):
            return _Found(head.group(0).strip(), start + head.start(), start + head.end(), source)
        return _Found(tail, start + tail_at, end, source)
    for m in _VALUE_ANYWHERE.finditer(text, tail_at):
        if not _ORDINAL.match(text, m.end()):
            return _Found(m.group(0).strip(), start + m.start(), start + m.end(), source)
    return None


def _conclusion(section: str, after: int) -> _Found | None:
    """The last number of a concluding sentence that starts after the last math span."""
    last = None
    for m in _CONCLUSION.finditer(section, after):
        last = m
    if last is None:
        return None
    stop = _SENTENCE_END.search(section, last.end(), last.end() + MAX_PHRASE)
    return _last_number(section, last.end(), stop.start() if stop else len(section), "concluding sentence")


def _last_number(section: str, start: int, end: int, source: str) -> _Found | None:
    last = None
    for m in _NUMBER.finditer(section, start, end):
        if not _ORDINAL.match(section, m.end()):
            last = m
    if last is None:
        return None
    return _Found(last.group(0).strip(), last.start(), last.end(), source)


def _span_group(section: str, spans: list[tuple[int, int, str]], first: int, source: str) -> _Found:
    """The last span, with the spans before it (from index ``first``) that only joiners separate."""
    group = len(spans) - 1
    while group > first and _JOINER.match(section[spans[group - 1][1] : spans[group][0]]):
        group -= 1
    joined = spans[group][2].strip()
    for i in range(group + 1, len(spans)):
        joined += section[spans[i - 1][1] : spans[i][0]] + spans[i][2].strip()
    return _Found(joined, spans[group][0], spans[-1][1], source)


def is_bare(text: str) -> bool:
    """Short text without prose, such as ``x^2+2x+1`` or ``\\frac{4}{23}``: read whole ("It is 4" is prose)."""
    if len(text) > 200:
        return False
    plain = re.sub(r"\\(?:begin|end)\{[a-z*]+\}|\\[a-zA-Z]+", " ", text)
    return not _PROSE_WORD.search(plain) and not _STOPWORD.search(plain)


def last_boxed_group(text: str) -> tuple[str, ...]:
    """The last box, with the boxes before it joined when only short connecting text lies between."""
    found = _boxed(prepare(text))
    return found.parts if found else ()


def answer_section(text: str) -> str:
    """The last complete answer block; else the text after the last ``</think>``; else the whole text."""
    text = prepare(text)
    blocks, _ = answer_blocks(text)
    return blocks[-1][2] if blocks else after_last_think(text)


_LETTER = r"(?<![A-Za-z\\])\(?([A-J])\)?(?![A-Za-z])"
_NEGATED = re.compile(r"(?:not|non|n't be|n't|ne|pas|不是|非)\s*(?:\w+\s+)?$", re.I)


def choice_letter(text: str) -> str | None:
    """A multiple-choice gold such as ``C``, ``(C) Cecile``, ``\\text{(C)}``, "... the answer is\\n(C)"."""
    s = re.sub(r"\\(?:text|textbf|mathrm|mathbf)\s*\{([^{}]*)\}", r"\1", text).strip().strip("$").strip()
    at = _last_anchor(s.replace("\n", " "))
    snippet = s.replace("\n", " ")[at:].strip() if at is not None else None
    m = re.match(r"^\s*" + _LETTER + r"(?:\s|[.)。:]|$)", snippet or s)
    return m.group(1) if m else None


_CHOICE_OR = re.compile(
    r"(?<![A-Za-z\\])\(?([A-J])\)?\s*(?:,|/|&|\b(?:or|and|oder|ou|o)\b|или|或)\s*\(?([A-J])\)?(?![A-Za-z])"
)


def choice_hedged(text: str, chosen: str) -> bool:
    """The chosen letter and a different one joined by "or", "and", a comma or a slash in the chosen answer ("A or C"),
    neither of them negated ("it can't be A or B" rejects both: no hedge). The policy of `policy`, for
    letters; read in the box, else the answer phrase, else a short whole answer."""
    section = answer_section(text)
    found = _boxed(section)
    at = _last_anchor(section) if found is None else None
    if found is not None:
        region = found.answer
    elif at is not None:
        stop = _SENTENCE_END.search(section, at, at + MAX_PHRASE)
        region = section[at : stop.start() if stop else at + MAX_PHRASE]
    else:
        region = section if len(section) <= 200 else ""
    region = re.sub(r"\\(?:text|textbf|mathrm|mathbf)\s*\{([^{}]*)\}", r"\1", region)
    for m in _CHOICE_OR.finditer(region):
        pair = (m.group(1), m.group(2))
        if pair[0] != pair[1] and chosen in pair and not _NEGATED.search(region[max(0, m.start() - 40) : m.start()]):
            return True
    return False


def extract_choice(text: str) -> str | None:
    """The chosen letter in a completion, for a multiple-choice gold."""
    section = answer_section(text)
    found = _boxed(section)
    if found:
        return choice_letter(found.parts[-1])
    at = _last_anchor(section)
    if at is not None:
        phrase = section[at : at + MAX_PHRASE]
        for m in re.finditer(_LETTER, phrase):  # "the answer is not A but C" -> C
            if not _NEGATED.search(phrase[max(0, m.start() - 40) : m.start()]):
                return m.group(1)
    lead = re.match(r"^\s*" + _LETTER + r"(?:\s|[.)。,:]|$|(?=[^\x00-\x7f]))", section)
    if lead:
        return lead.group(1)
    tail = section[-MAX_PHRASE:]
    letters = [m for m in re.finditer(_LETTER, tail)
               if not _NEGATED.search(tail[max(0, m.start() - 40) : m.start()])]
    return letters[-1].group(1) if letters else None
