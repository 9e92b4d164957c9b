"""Rule-checkable instruction kinds of IFBench (Pyatkin et al. 2025, allenai/IFBench, Apache-2.0), under
IFBench's own ids and kwargs.

Only the kinds that need no NLP model are here (IFBench's part-of-speech, syllable, emoji and spaCy-based
kinds are left out: a reward must not download models at run time). Semantics follow IFBench's checkers;
words are counted with IFEval's ``\\w+`` rule and sentences with IFEval's splitter (IFBench uses both).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from typing import Any

from . import text as T
from .checks import KwargsError, _int, _str

Kwargs = Mapping[str, Any]
_PUNCT = str.maketrans("", "", string.punctuation)
_STRIP = string.punctuation + " "
_CONJUNCTIONS = frozenset({"and", "but", "for", "nor", "or", "so", "yet"})
#: The names IFBench's instruction lists ("from this list of person names: Emma, Liam, ...").
PERSON_NAMES = ("Emma", "Liam", "Sophia", "Jackson", "Olivia", "Noah", "Ava", "Lucas", "Isabella", "Mason", "Mia",
                "Ethan", "Charlotte", "Alexander", "Amelia", "Benjamin", "Harper", "Leo", "Zoe", "Daniel", "Layla",
                "Nicholas", "Audrey", "David", "Hannah", "Christopher", "Penelope", "Thomas", "Nora", "Andrew",
                "Aria", "Joseph", "Claire", "Ryan", "Stella", "Jonathan")  # fmt: skip
_PRIMES = frozenset({2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97})


def word_count_range(r: str, kw: Kwargs, undetected: bool) -> bool:
    return _int(kw, "min_words") <= T.count_words(r) <= _int(kw, "max_words")


def unique_word_count(r: str, kw: Kwargs, undetected: bool) -> bool:
    return len({w.strip(_STRIP) for w in r.lower().split()}) >= _int(kw, "N")


def _endings(r: str) -> tuple[int, int, int]:
    sentences = T.split_sentences(r)
    return tuple(sum(s.endswith(mark) for s in sentences) for mark in ".?!")  # type: ignore[return-value]


def sentence_type(r: str, kw: Kwargs, undetected: bool) -> bool:
    declarative, interrogative, _ = _endings(r)
    return declarative == 2 * interrogative


def sentence_balance(r: str, kw: Kwargs, undetected: bool) -> bool:
    declarative, interrogative, exclamatory = _endings(r)
    return declarative == interrogative == exclamatory


def conjunctions(r: str, kw: Kwargs, undetected: bool) -> bool:
    # IFBench keeps the words as written (with their punctuation), so "and," and "and" count twice; so here.
    found = {w for w in r.split() if w.strip(_STRIP).lower() in _CONJUNCTIONS}
    return len(found) >= _int(kw, "small_n")


def person_names(r: str, kw: Kwargs, undetected: bool) -> bool:
    return sum(1 for name in PERSON_NAMES if name in r) >= _int(kw, "N")


def numbers(r: str, kw: Kwargs, undetected: bool) -> bool:
    return len(re.findall(r"\d+", r.translate(_PUNCT))) == _int(kw, "N")


def alphabet(r: str, kw: Kwargs, undetected: bool) -> bool:
    letters = string.ascii_lowercase
    words = [w for w in r.translate(_PUNCT).strip(_STRIP).split() if any(c in letters for c in w)]
    if not words or words[0][0].lower() not in letters:
        return False
    expected = words[0][0].lower()
    for word in words[1:]:
        expected = letters[(letters.index(expected) + 1) % 26]
        if word.lower()[0] != expected:
            return False
    return True


def vowels(r: str, kw: Kwargs, undetected: bool) -> bool:
    return len({c for c in r if c in "aeiou"}) <= 3


def consonants(r: str, kw: Kwargs, undetected: bool) -> bool:
    cluster = re.compile(r"[bcdfghjklmnpqrstvwxyz]{2}")
    return all(cluster.search(w) for w in r.lower().split() if any(c in string.ascii_lowercase for c in w))


def palindromes(r: str, kw: Kwargs, undetected: bool) -> bool:
    return sum(1 for w in r.translate(_PUNCT).lower().split() if len(w) >= 5 and w == w[::-1]) >= 10


def punctuation(r: str, kw: Kwargs, undetected: bool) -> bool:
    if not ("!?" in r or "?!" in r or "‽" in r):
        return False
    rest = r.replace("?!", "")  # the interrobang's marks do not count as a lone ? and !
    if len(rest) == len(r):
        rest = r.replace("!?", "")
    return {".", ",", "!", "?", ";", ":"} <= set(rest)


def parentheses(r: str, kw: Kwargs, undetected: bool) -> bool:
    """A correctly closed group of brackets at least 5 levels deep; a mismatched closer starts over."""
    pairs, stack, deepest = {")": "(", "]": "[", "}": "{"}, [], 0
    for c in r:
        if c in "([{":
            stack.append(c)
            deepest = max(deepest, len(stack))
        elif c in pairs:
            if stack and stack[-1] == pairs[c]:
                stack.pop()
                if deepest >= 5:
                    return True
            else:
                stack, deepest = [], 0
    return False


def quotes(r: str, kw: Kwargs, undetected: bool) -> bool:
    """Quotes within quotes at least 3 levels deep, alternating " and ' (IFBench's scan)."""
    stack: list[str] = []
    reached = 0
    for c in r:
        if stack and c == stack[-1]:
            stack.pop()
            if reached - len(stack) >= 3:
                return True
        elif c in "\"'":
            stack.append(c)
            reached = max(reached, len(stack))
    return False


def prime_lengths(r: str, kw: Kwargs, undetected: bool) -> bool:
    return all(len(w) in _PRIMES for w in r.translate(_PUNCT).split())


def options(r: str, kw: Kwargs, undetected: bool) -> bool:
    text = _str(kw, "options")
    strict = re.match(r"\W*[aA]\W*[bB]\W*[cC]\W*", text) is not None  # letters must be written exactly
    separator = "/" if "/" in text else "or" if "or" in text else ","
    choices = [o.strip() for o in text.split(separator)]
    if strict:
        return r in choices
    answer = r.strip(_STRIP).lower()
    return any(o.strip(_STRIP).lower() == answer for o in choices)


def newline_words(r: str, kw: Kwargs, undetected: bool) -> bool:
    plain = r.translate(_PUNCT)
    lines = [line for line in plain.strip().split("\n") if line.strip()]
    return len(lines) == len(plain.strip().split())


def same_length_sentences(r: str, kw: Kwargs, undetected: bool) -> bool:
    sentences = T.split_sentences(r)
    return len(sentences) == 3 == len(set(sentences)) and len({len(s.strip()) for s in sentences}) == 1


Check = Callable[[str, Kwargs, bool], bool]

#: IFBench ids (its instructions_registry) with a rule-based check here.
IFBENCH_CHECKS: dict[str, Check] = {
    "count:word_count_range": word_count_range,
    "count:unique_word_count": unique_word_count,
    "ratio:sentence_type": sentence_type,
    "ratio:sentence_balance": sentence_balance,
    "count:conjunctions": conjunctions,
    "count:person_names": person_names,
    "count:numbers": numbers,
    "words:alphabet": alphabet,
    "words:vowel": vowels,
    "words:consonants": consonants,
    "words:palindrome": palindromes,
    "count:punctuation": punctuation,
    "format:parentheses": parentheses,
    "format:quotes": quotes,
    "words:prime_lengths": prime_lengths,
    "format:options": options,
    "format:newline": newline_words,
    "ratio:sentence_words": same_length_sentences,
}

__all__ = ["IFBENCH_CHECKS", "PERSON_NAMES", "KwargsError"]
