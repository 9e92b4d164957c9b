"""``qa_match``: short-answer QA (SQuAD, TriviaQA, Natural Questions), exact match or token F1 against one
or more gold answers, after SQuAD's normalisation (lower case, no punctuation, no articles a/an/the, single
spaces).

The answer is read in the order the ``math`` reward uses:

1. the ``<answer>…</answer>`` blocks after the reasoning (the text up to the first ``</think>``): the last
   one; blocks that answer differently are a hedge and score 0;
2. else, in the text after the last ``</think>`` (a ``<think>`` that never closes has no answer): the last
   ``\\boxed{…}`` (several different boxes are a hedge);
3. else the last answer phrase: "final answer is X", "the answer is X", "answer: X", up to the end of its
   sentence or line;
4. else the whole text when it is short (``fallback: short``, at most ``max_words`` words), the whole text
   however long (``full``, SQuAD's own convention), or nothing (``none``).

Hedges never win: an answer that offers alternatives ("X or Y", "either X or Y", "X / Y") or negates itself
("not X") scores 0 unless a gold answer itself reads that way ("rock or roll").

Gold answers: a string, a list of strings, SQuAD's ``{"text": [...]}``, TriviaQA's ``{"aliases": [...],
"value": ...}``, or a JSON string of a list. The value is the best over the golds.
"""

from __future__ import annotations

import contextlib
import json
import re
import string
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..hookspecs import hookimpl
from ..params import param
from ..types import Completion, RewardSpec, Sample, Score

__all__ = ["QaParams", "extract_short_answer", "f1_score", "gold_answers", "normalize_answer", "score_qa"]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)
_ANSWER_BLOCK = re.compile(r"<answer>(.*?)</answer>", re.S | re.I)
_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_PHRASE = re.compile(r"(?:final answer(?: is)?|the answer is|answer is|answer\s*:)\s*[:：]?\s*", re.I)
_SENTENCE_END = re.compile(r"(?<!\b[A-Z])\.(?:\s|$)|\n|[!?](?:\s|$)")
_HEDGE = re.compile(r"\b(?:or|either|and/or)\b|\s/\s|(?<=\w)/(?=\w)", re.I)
_NEGATION = re.compile(r"^(?:not|no|never|neither|nor)\b|\b(?:not|isn't|isnt|aren't|wasn't)\b", re.I)


def normalize_answer(text: str) -> str:
    """SQuAD v1.1's normalisation (evaluate-v1.1.py): lower, drop punctuation, articles, extra spaces."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCT)).split())


def f1_score(prediction: str, gold: str) -> float:
    """SQuAD's token F1 of two answers (normalised here)."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def _boxes(text: str) -> list[str]:
    out = []
    for m in _BOX.finditer(text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            out.append(text[m.end() : i - 1].strip())
    return out


def _distinct(answers: list[str]) -> bool:
    return len({normalize_answer(a) for a in answers}) > 1


def extract_short_answer(text: str, fallback: str = "short", max_words: int = 12) -> tuple[str | None, str]:
    """(answer, where it came from); answer None when there is none, "" source "hedge" for a hedge."""
    first_end = text.find("</think>")
    after = text[first_end + len("</think>") :] if first_end >= 0 else text
    blocks = [b.strip() for b in _ANSWER_BLOCK.findall(after) if b.strip()]
    if blocks:
        return ("", "several different answer blocks") if _distinct(blocks) else (blocks[-1], "answer tag")
    if first_end < 0 and "<think>" in text:
        return None, "the <think> block never closes"
    section = text[text.rfind("</think>") + len("</think>") :] if first_end >= 0 else text
    boxes = [b for b in _boxes(section) if b]
    if boxes:
        return ("", "several different boxes") if _distinct(boxes) else (boxes[-1], "boxed")
    phrases = list(_PHRASE.finditer(section))
    if phrases:
        rest = section[phrases[-1].end() :]
        end = _SENTENCE_END.search(rest)
        snippet = (rest[: end.start()] if end else rest).strip().strip("*").strip()
        if snippet:
            return snippet, "answer phrase"
    body = section.strip()
    if body and (fallback == "full" or (fallback == "short" and len(body.split()) <= max_words)):
        return body, "whole text"
    return None, "no answer found"


def gold_answers(reference: Any) -> list[str]:
    """The gold answers of a row, in any of the shapes the module docstring lists."""
    if isinstance(reference, str) and reference.lstrip().startswith("["):
        with contextlib.suppress(json.JSONDecodeError):  # not JSON after all: a gold that starts with "["
            reference = json.loads(reference)
    if isinstance(reference, Mapping):
        found = reference.get("text", reference.get("aliases", []))
        value = reference.get("value")
        reference = ([value] if isinstance(value, str) else []) + (found if isinstance(found, list) else [found])
    if isinstance(reference, (str, int, float)) and not isinstance(reference, bool):
        reference = [reference]
    if not isinstance(reference, list):
        return []
    return [str(g) for g in reference if isinstance(g, (str, int, float)) and str(g).strip()]


@dataclass(frozen=True)
class QaParams:
    metric: Literal["em", "f1"] = param("em", "em: normalised exact match (0 or 1); f1: SQuAD token F1")
    fallback: Literal["short", "full", "none"] = param(
        "short", "without tags or an answer phrase: the text if at most max_words words (short), always, or never"
    )
    max_words: int = param(12, "longest bare text read as the answer with fallback short", ge=1)


def _hedged(answer: str, golds: list[str]) -> str | None:
    if _HEDGE.search(answer) and not any(_HEDGE.search(g) for g in golds):
        return "the answer offers alternatives (a hedge)"
    if _NEGATION.search(answer) and not any(_NEGATION.search(g) for g in golds):
        return "the answer is negated"
    return None


def score_qa(sample: Sample, params: QaParams) -> Score:
    golds = gold_answers(sample.reference)
    if not golds:
        return Score.not_applicable("no gold answer")
    answer, source = extract_short_answer(sample.text, params.fallback, params.max_words)
    if answer is None:
        return Score.ok(0.0, source)
    if not answer:
        return Score.ok(0.0, f"hedge: {source}", source=source)
    hedge = _hedged(answer, golds)
    if hedge:
        return Score.ok(0.0, f"{hedge}: {answer[:80]!r}", answer=answer, source=source)
    norm = normalize_answer(answer)
    if params.metric == "em":
        value = float(any(norm == normalize_answer(g) for g in golds))
    else:
        value = max(f1_score(answer, g) for g in golds)
    return Score.ok(value, f"{params.metric} {value:.3g} for {answer[:80]!r} ({source})", answer=answer, source=source)


def _gold(row: Mapping[str, Any], reference: Any, params: QaParams) -> Completion | None:
    golds = gold_answers(reference)
    return f"<answer>{golds[0]}</answer>" if golds else None


def _wrong(row: Mapping[str, Any], reference: Any, params: QaParams) -> Completion:
    golds = {w for g in gold_answers(reference) for w in normalize_answer(g).split()}
    word = next(w for w in ("xqzj", "vkwp", "zzqx") if w not in golds)
    return f"<answer>{word}</answer>"  # shares no token with any gold: EM and F1 are 0


@hookimpl
def register_rewards(register: Callable[[RewardSpec], None]) -> None:
    register(
        RewardSpec(
            name="qa_match",
            description="Short-answer QA: SQuAD-normalised exact match or token F1 against the gold answer(s); "
            "answer from tags, boxes or 'the answer is'; hedges and negations score 0.",
            params=QaParams, range=(0.0, 1.0), fn=score_qa, needs_reference=True, timeout_s=5.0,
            family="qa", gold_completion=_gold, wrong_completion=_wrong, cost="cheap",
        )
    )  # fmt: skip
