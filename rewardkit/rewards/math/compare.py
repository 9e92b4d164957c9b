"""Deciding one (gold, completion) pair: caps, extraction, fast path, cache, then the symbolic path.

The gold is prepared once (`prepare_gold`, cached); the answer is extracted from the completion; then a
cached comparison of (gold, answer, settings) runs the fast path in-process: plain numbers (`numeric`),
text answers, the same answer as written, then the exact LaTeX reader (`structure`: surds, pi,
polynomials, tuples, intervals, sets, matrices, relations). Only what that reader declines goes to the
helper process and sympy. In GRPO one gold meets 8-16 completions with repeated answers, so most calls
end in one of the caches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from . import budget
from .extract import choice_hedged, choice_letter, extract_answer, extract_choice, last_boxed_group
from .normalize import clean, nesting_depth, strip_delimiters, text_content
from .numeric import Num, huge, numbers_equal, parse_number, unit
from .policy import split_alternatives
from .structure import compare_answers


@dataclass(frozen=True, slots=True)
class Limits:
    """The knobs the reward exposes (a frozen, hashable subset of its params)."""

    number_fallback: bool = True
    budget_s: float = 1.0
    max_answer_chars: int = 1000
    max_depth: int = 12
    max_completion_chars: int = 200_000


@dataclass(frozen=True, slots=True)
class Verdict:
    """``equivalent`` is None when the gold cannot be read; ``status`` is ok, timeout or not_applicable."""

    equivalent: bool | None
    status: str
    reason: str
    gold_parse: str = ""
    answer_parse: str = ""
    answer: str | None = None
    path: str = "fast"


@dataclass(frozen=True, slots=True)
class Gold:
    answer: str | None
    choice: str | None
    number: Num | None
    words: str | None
    multi: bool


_GOLD_CHOICE = re.compile(r"^\s*(?:\(([A-J])\)|([A-J]))(?:\s+[A-Z][a-z].*)?\s*$", re.S)
_LIST_WORDS = re.compile(r"\s*,?\s*(?:\\text\s*\{\s*(?:and|or)\s*\}|\band\b|\bor\b)\s*")
_WORDS = re.compile(r"^[^\W\d_]+(?: [^\W\d_]+)*$")


@lru_cache(maxsize=8192)
def prepare_gold(gold: str) -> Gold:
    """Read a gold answer once: bare (``3\\sqrt{13}``), in ``$...$``, boxed, or a full worked solution."""
    boxes = last_boxed_group(gold)
    answer: str | None
    if boxes:
        answer = ", ".join(boxes)
    elif len(gold) > 120 and len(gold.split()) > 12:
        answer = extract_answer(gold, number_fallback=False).answer
    else:
        answer = gold.replace("$", " ") if gold.count("$") > 2 else gold
    if answer is not None:
        answer = _as_list(clean(answer)) or None
    letter = choice_letter(gold) if _is_choice_gold(gold) else None
    words = _words(answer) if answer else None
    number = parse_number(answer) if answer else None
    multi = bool(answer and re.search(r",|\\pm|\\cup|\bor\b|\band\b", answer))
    return Gold(answer, letter, number, words, multi)


def _is_choice_gold(gold: str) -> bool:
    s = re.sub(r"\\(?:text|textbf|mathrm)\s*\{([^{}]*)\}", r"\1", strip_delimiters(gold.strip()))
    return bool(_GOLD_CHOICE.match(s) or re.search(r"answer is\s*\n?\s*\(?[A-J]\)?(\s|$)", s))


def _as_list(answer: str) -> str:
    """``1 and 2 and 3`` / ``21,16 or 11`` / ``-12;-11`` -> comma lists, for answers made of numbers."""
    return _LIST_WORDS.sub(", ", answer).strip(", ") if re.search(r"\d", answer) else answer


def _words(answer: str) -> str | None:
    text = text_content(answer)
    return text if _WORDS.match(text) and len(text) >= 2 else None


def check(gold: str, completion: str, limits: Limits) -> Verdict:
    """The verdict on one completion against one gold answer."""
    g = prepare_gold(gold)
    if g.answer is None:
        return Verdict(None, "not_applicable", "the gold answer is empty or has no answer in it")
    if len(completion) > limits.max_completion_chars:
        return Verdict(False, "timeout", f"completion of {len(completion)} chars is over the cap")
    if g.choice is not None:
        return _check_choice(g, completion, limits)
    found = extract_answer(completion, limits.number_fallback)
    if found.answer is None:
        return Verdict(False, "ok", "no final answer found in the completion", g.answer, "", None)
    if found.hedged:
        return Verdict(False, "ok", f"hedged or negated answer ({found.source})", g.answer, "", found.answer)
    if found.alternatives and g.multi:  # "x = 2 or x = 3" for a list of solutions: one list
        return _check_answer(gold, ", ".join((*found.alternatives, found.answer)), limits)
    verdict = _check_answer(gold, found.answer, limits)
    for other in found.alternatives:  # the policy: every alternative must equal the gold
        if not verdict.equivalent:
            break
        alt = _check_answer(gold, other, limits)
        if not alt.equivalent:
            why = f"an alternative answer ({other[:40]!r}) is not the gold ({found.source})"
            return Verdict(False, alt.status, why, g.answer, alt.answer_parse, found.answer, alt.path)
    return verdict


def _check_choice(g: Gold, completion: str, limits: Limits) -> Verdict:
    found = extract_answer(completion, number_fallback=False)
    if found.source.startswith("answer tag") and found.alternatives:
        letters = {choice_letter(a) or a.strip() for a in (found.answer or "", *found.alternatives)}
        if len(letters) > 1:
            return Verdict(False, "ok", "hedged answer (answer blocks disagree)", str(g.choice), "", found.answer)
    # A bare short answer is read as a whole ("\\mathrm{E}*2" is no letter); else the choice reader.
    letter = choice_letter(found.answer or "") if found.source == "whole text" else extract_choice(completion)
    if letter is not None and choice_hedged(completion, letter):
        return Verdict(False, "ok", f"hedged answer ({letter} and another letter)", str(g.choice), "", letter)
    ok = letter == g.choice
    reason = f"chose {letter}, gold is {g.choice}" if letter else "no choice letter found"
    return Verdict(ok, "ok", reason, str(g.choice), letter or "", letter)


@lru_cache(maxsize=65536)
def _check_answer(gold: str, answer: str, limits: Limits) -> Verdict:
    g = prepare_gold(gold)
    assert g.answer is not None
    if len(answer) > limits.max_answer_chars or nesting_depth(answer) > limits.max_depth:
        why = f"answer of {len(answer)} chars, nesting {nesting_depth(answer)}, is over the caps"
        return Verdict(False, "timeout", why, g.answer, "", answer[:200])
    cleaned = clean(answer)
    parts = split_alternatives(cleaned)
    if len(parts) > 1 and not g.multi:  # before `_as_list` turns "41 or 42" into a list
        for part in parts:  # the policy: every alternative must equal the gold
            verdict = _check_one(g, clean(part), part, limits)
            if not verdict.equivalent:
                return Verdict(False, verdict.status, "hedged answer (an alternative is not the gold)",
                               g.answer, verdict.answer_parse, answer, verdict.path)
        return verdict
    return _check_one(g, _as_list(cleaned), answer, limits)


_ZERO_DENOMINATOR = re.compile(r"/\s*[-+]?0+(?![\d.])|\\frac\s*\{[^{}]*\}\s*\{\s*0+\s*\}|\\frac\s*\d0")


def _check_one(g: Gold, pred: str, answer: str, limits: Limits) -> Verdict:
    assert g.answer is not None
    fast = _fast(g, pred, answer)
    if fast is not None:
        return fast
    if _ZERO_DENOMINATOR.search(pred):
        return Verdict(False, "ok", "a division by zero equals nothing", g.answer, pred, answer)
    if g.number is not None and huge(pred) and not huge(g.answer):
        return Verdict(False, "ok", "a number too large to be the gold", g.number.show(), pred[:80], answer)
    return _symbolic(g.answer, pred, answer, limits)


def _fast(g: Gold, pred: str, answer: str) -> Verdict | None:
    number = parse_number(pred)
    if g.number is not None and number is not None:
        gu, pu = unit(g.answer or ""), unit(pred)
        if gu is not None and pu is not None and gu != pu:
            return Verdict(False, "ok", f"units differ ({pu}, gold {gu})", g.number.show(), number.show(), answer)
        ok = numbers_equal(g.number, number)
        return Verdict(ok, "ok", "numbers compared exactly", g.number.show(), number.show(), answer)
    words = _words(pred)
    if g.number is not None and words is not None and not re.search(r"\\|\b[a-zA-Z]\b", pred):
        return Verdict(False, "ok", "a word is not a number", g.number.show(), words, answer)  # "None"
    if g.words is not None and words is not None:
        ok = words == g.words
        return Verdict(ok, "ok", "text answers compared", g.words, words, answer)
    if pred == g.answer:
        return Verdict(True, "ok", "the same answer, as written", g.answer, pred, answer)
    exact = compare_answers(g.answer or "", pred)
    if exact is not None:
        return Verdict(exact, "ok", "compared exactly (fast LaTeX reading)", g.answer or "", pred, answer)
    return None


def _symbolic(gold: str, pred: str, answer: str, limits: Limits) -> Verdict:
    request = {"gold": gold, "pred": pred, "gold_bare": True, "pred_bare": True}
    try:
        reply = budget.call(request, limits.budget_s)
    except budget.BudgetExceeded as exc:
        return Verdict(False, "timeout", str(exc), gold, "", answer, "symbolic")
    if reply["ok"] is None:
        why = reply["reason"]
        return Verdict(None, "not_applicable", why, reply["gold"], reply["pred"], answer, "symbolic")
    return Verdict(bool(reply["ok"]), "ok", reply["reason"], reply["gold"], reply["pred"], answer, "symbolic")
