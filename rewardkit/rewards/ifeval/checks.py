"""The 25 instruction kinds of IFEval (Zhou et al. 2023), one small check each, keyed by IFEval's ids.

Each check reads IFEval's kwargs (the dataset's ``kwargs`` entry for that instruction) and returns whether
the response follows the instruction. The semantics are those of the reference implementation (google-research
``instruction_following_eval``, as vendored by lm-evaluation-harness 0.4.13); where rewardkit differs it
says so in the check:

- keywords and section splitters are matched literally (IFEval passes them to ``re`` unescaped, so a
  keyword such as ``C++`` raises there);
- when langdetect cannot read a text (digits or symbols only) IFEval counts the instruction as followed; here
  the ``undetected`` argument decides (the reward's ``undetected_language`` parameter, ``fail`` by default,
  because a policy can learn to answer in digits to satisfy "answer in French");
- a kwarg IFEval would draw at random when absent is required here (a reward must be reproducible).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from . import text as T

Kwargs = Mapping[str, Any]


class KwargsError(ValueError):
    """An instruction's kwargs are missing or of the wrong type: the row is malformed."""


RELATIONS = ("less than", "at least")
CONSTRAINED_RESPONSES = ("My answer is yes.", "My answer is no.", "My answer is maybe.")


def _int(kw: Kwargs, key: str) -> int:
    value = kw.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise KwargsError(f"kwarg {key!r} must be an integer, got {value!r}")
    return int(value)


def _str(kw: Kwargs, key: str) -> str:
    value = kw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise KwargsError(f"kwarg {key!r} must be a non-empty string, got {value!r}")
    return value


def _words(kw: Kwargs, key: str) -> list[str]:
    value = kw.get(key)
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) and v for v in value):
        raise KwargsError(f"kwarg {key!r} must be a non-empty list of strings, got {value!r}")
    return list(value)


def _compare(count: int, kw: Kwargs, number_key: str, relation_key: str) -> bool:
    threshold = _int(kw, number_key)
    relation = kw.get(relation_key)
    if relation == "less than":
        return count < threshold
    if relation == "at least":
        return count >= threshold
    raise KwargsError(f"kwarg {relation_key!r} must be one of {RELATIONS}, got {relation!r}")


# --- keywords ---------------------------------------------------------------------------------------------


def keywords_existence(r: str, kw: Kwargs, undetected: bool) -> bool:
    return all(re.search(re.escape(k), r, flags=re.I) for k in _words(kw, "keywords"))


def keywords_frequency(r: str, kw: Kwargs, undetected: bool) -> bool:
    keyword = _str(kw, "keyword").strip()
    return _compare(len(re.findall(re.escape(keyword), r, flags=re.I)), kw, "frequency", "relation")


def forbidden_words(r: str, kw: Kwargs, undetected: bool) -> bool:
    return not any(re.search(rf"\b{re.escape(w)}\b", r, flags=re.I) for w in _words(kw, "forbidden_words"))


def letter_frequency(r: str, kw: Kwargs, undetected: bool) -> bool:
    letter = _str(kw, "letter").strip().lower()
    if len(letter) != 1 or not "a" <= letter <= "z":
        raise KwargsError(f"kwarg 'letter' must be one English letter, got {kw.get('letter')!r}")
    return _compare(Counter(r.lower())[letter], kw, "let_frequency", "let_relation")


# --- language and case ----------------------------------------------------------------------------------


def response_language(r: str, kw: Kwargs, undetected: bool) -> bool:
    found = T.detect_language(r)
    return undetected if found is None else found == _str(kw, "language")


def english_capital(r: str, kw: Kwargs, undetected: bool) -> bool:
    if not r.isupper():
        return False
    found = T.detect_language(r)
    return undetected if found is None else found == "en"


def english_lowercase(r: str, kw: Kwargs, undetected: bool) -> bool:
    if not r.islower():
        return False
    found = T.detect_language(r)
    return undetected if found is None else found == "en"


def capital_word_frequency(r: str, kw: Kwargs, undetected: bool) -> bool:
    return _compare(T.capital_words(r), kw, "capital_frequency", "capital_relation")


# --- length -----------------------------------------------------------------------------------------------


def number_sentences(r: str, kw: Kwargs, undetected: bool) -> bool:
    return _compare(T.count_sentences(r), kw, "num_sentences", "relation")


def number_words(r: str, kw: Kwargs, undetected: bool) -> bool:
    return _compare(T.count_words(r), kw, "num_words", "relation")


def number_paragraphs(r: str, kw: Kwargs, undetected: bool) -> bool:
    paragraphs = re.split(r"\s?\*\*\*\s?", r)
    count = len(paragraphs)
    for i, paragraph in enumerate(paragraphs):
        if not paragraph.strip():
            if 0 < i < len(paragraphs) - 1:
                return False  # an empty paragraph between two dividers
            count -= 1
    return count == _int(kw, "num_paragraphs")


def nth_paragraph_first_word(r: str, kw: Kwargs, undetected: bool) -> bool:
    wanted, nth, first = _int(kw, "num_paragraphs"), _int(kw, "nth_paragraph"), _str(kw, "first_word").lower()
    paragraphs = r.split("\n\n")
    count = sum(1 for p in paragraphs if p.strip())
    if not 1 <= nth <= count:
        return False
    paragraph = paragraphs[nth - 1].strip()  # indexed among all pieces, as IFEval does
    if not paragraph:
        return False
    word = paragraph.split()[0].strip().lstrip("'").lstrip('"')
    head = re.match(r"[^.,?!'\"]*", word)
    return count == wanted and (head.group(0) if head else "").lower() == first


# --- detectable content and format ----------------------------------------------------------------------


def number_placeholders(r: str, kw: Kwargs, undetected: bool) -> bool:
    return len(re.findall(r"\[.*?\]", r)) >= _int(kw, "num_placeholders")


def postscript(r: str, kw: Kwargs, undetected: bool) -> bool:
    marker = _str(kw, "postscript_marker").strip()
    if marker == "P.P.S":
        pattern = r"\s*p\.\s?p\.\s?s.*$"
    elif marker == "P.S.":
        pattern = r"\s*p\.\s?s\..*$"
    else:
        pattern = r"\s*" + re.escape(marker.lower()) + r".*$"
    return bool(re.findall(pattern, r.lower(), flags=re.M))


def number_bullet_lists(r: str, kw: Kwargs, undetected: bool) -> bool:
    stars = re.findall(r"^\s*\*[^\*].*$", r, flags=re.M)
    dashes = re.findall(r"^\s*-.*$", r, flags=re.M)
    return len(stars) + len(dashes) == _int(kw, "num_bullets")


def constrained_response(r: str, kw: Kwargs, undetected: bool) -> bool:
    stripped = r.strip()
    return any(option in stripped for option in CONSTRAINED_RESPONSES)


def number_highlighted_sections(r: str, kw: Kwargs, undetected: bool) -> bool:
    single = [h for h in re.findall(r"\*[^\n\*]*\*", r) if h.strip("*").strip()]
    double = [h for h in re.findall(r"\*\*[^\n\*]*\*\*", r) if h.removeprefix("**").removesuffix("**").strip()]
    return len(single) + len(double) >= _int(kw, "num_highlights")


def multiple_sections(r: str, kw: Kwargs, undetected: bool) -> bool:
    splitter = _str(kw, "section_spliter").strip()
    sections = re.split(r"\s?" + re.escape(splitter) + r"\s?\d+\s?", r)
    return len(sections) - 1 >= _int(kw, "num_sections")


def json_format(r: str, kw: Kwargs, undetected: bool) -> bool:
    body = r.strip()
    for prefix in ("```json", "```Json", "```JSON", "```"):  # one after the other, as IFEval strips them
        body = body.removeprefix(prefix)
    body = body.removesuffix("```").strip()
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return False
    return True


def title(r: str, kw: Kwargs, undetected: bool) -> bool:
    return any(t.lstrip("<").rstrip(">").strip() for t in re.findall(r"<<[^\n]+>>", r))


# --- combinations, start and end, punctuation -----------------------------------------------------------


def two_responses(r: str, kw: Kwargs, undetected: bool) -> bool:
    parts = r.split("******")
    valid = []
    for i, part in enumerate(parts):
        if part.strip():
            valid.append(part.strip())
        elif 0 < i < len(parts) - 1:
            return False
    return len(valid) == 2 and valid[0] != valid[1]


def repeat_prompt(r: str, kw: Kwargs, undetected: bool) -> bool:
    return r.strip().lower().startswith(_str(kw, "prompt_to_repeat").strip().lower())


def end_checker(r: str, kw: Kwargs, undetected: bool) -> bool:
    return r.strip().strip('"').lower().endswith(_str(kw, "end_phrase").strip().lower())


def quotation(r: str, kw: Kwargs, undetected: bool) -> bool:
    stripped = r.strip()
    return len(stripped) > 1 and stripped[0] == '"' and stripped[-1] == '"'


def no_comma(r: str, kw: Kwargs, undetected: bool) -> bool:
    return "," not in r


Check = Callable[[str, Kwargs, bool], bool]

#: IFEval's instruction ids (instructions_registry.INSTRUCTION_DICT), each with its check.
CHECKS: dict[str, Check] = {
    "keywords:existence": keywords_existence,
    "keywords:frequency": keywords_frequency,
    "keywords:forbidden_words": forbidden_words,
    "keywords:letter_frequency": letter_frequency,
    "language:response_language": response_language,
    "length_constraints:number_sentences": number_sentences,
    "length_constraints:number_paragraphs": number_paragraphs,
    "length_constraints:number_words": number_words,
    "length_constraints:nth_paragraph_first_word": nth_paragraph_first_word,
    "detectable_content:number_placeholders": number_placeholders,
    "detectable_content:postscript": postscript,
    "detectable_format:number_bullet_lists": number_bullet_lists,
    "detectable_format:constrained_response": constrained_response,
    "detectable_format:number_highlighted_sections": number_highlighted_sections,
    "detectable_format:multiple_sections": multiple_sections,
    "detectable_format:json_format": json_format,
    "detectable_format:title": title,
    "combination:two_responses": two_responses,
    "combination:repeat_prompt": repeat_prompt,
    "startend:end_checker": end_checker,
    "startend:quotation": quotation,
    "change_case:capital_word_frequency": capital_word_frequency,
    "change_case:english_capital": english_capital,
    "change_case:english_lowercase": english_lowercase,
    "punctuation:no_comma": no_comma,
}
