"""Text measures the IFEval checks share: words, sentences, capitalised words, the response language.

Which library does what, and why:

- **Language**: `langdetect` (a port of Google's language-detection), the library IFEval itself calls, so
  verdicts agree with the published scores. It is random unless seeded: the seed is fixed to 0 here, which
  makes every verdict deterministic (the same text, the same language, in any process).
- **Sentences**: IFEval counts sentences with nltk's punkt model, which needs a data download at run time;
  rewardkit downloads nothing, so sentences are split with the rule-based splitter IFEval ships beside it
  (``instructions_util.split_into_sentences``, Google Research, Apache-2.0; the rules below follow it:
  titles, acronyms, decimals, websites and ellipses do not end a sentence). On ordinary prose the two agree;
  they can differ on abbreviations punkt learned from its corpus (e.g. "e.g." mid-sentence).
- **Words**: IFEval's ``\\w+`` tokenizer, exactly. **Capitalised words**: IFEval uses nltk's treebank
  tokenizer; here a word is ``\\w+`` joined by hyphens or apostrophes ("WELL-KNOWN" is one word, as in nltk;
  "DON'T" is one here and two there).
"""

from __future__ import annotations

import functools
import re
import threading

_WORD = re.compile(r"\w+")
_CAPITAL_TOKEN = re.compile(r"\w+(?:[-'’]\w+)*")

_ALPHABETS = "([A-Za-z])"
_PREFIXES = re.compile("(Mr|St|Mrs|Ms|Dr)[.]")
_SUFFIXES = "(Inc|Ltd|Jr|Sr|Co)"
_STARTERS = (r"(Mr|Mrs|Ms|Dr|Prof|Capt|Cpt|Lt|He\s|She\s|It\s|They\s|Their\s|Our\s|We\s|But\s|However\s|That\s"
             r"|This\s|Wherever)")  # fmt: skip
_ACRONYMS = "([A-Z][.][A-Z][.](?:[A-Z][.])?)"
_RULES = (
    (re.compile("[.](com|net|org|io|gov|edu|me)"), "<prd>\\1"),
    (re.compile("([0-9])[.]([0-9])"), "\\1<prd>\\2"),
)
_LATE_RULES = (
    (re.compile(r"\s" + _ALPHABETS + "[.] "), " \\1<prd> "),
    (re.compile(_ACRONYMS + " " + _STARTERS), "\\1<stop> \\2"),
    (re.compile(_ALPHABETS + "[.]" + _ALPHABETS + "[.]" + _ALPHABETS + "[.]"), "\\1<prd>\\2<prd>\\3<prd>"),
    (re.compile(_ALPHABETS + "[.]" + _ALPHABETS + "[.]"), "\\1<prd>\\2<prd>"),
    (re.compile(" " + _SUFFIXES + "[.] " + _STARTERS), " \\1<stop> \\2"),
    (re.compile(" " + _SUFFIXES + "[.]"), " \\1<prd>"),
    (re.compile(" " + _ALPHABETS + "[.]"), " \\1<prd>"),
)
_MULTIPLE_DOTS = re.compile(r"\.{2,}")


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def capital_words(text: str) -> int:
    return sum(1 for word in _CAPITAL_TOKEN.findall(text) if word.isupper())


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` by IFEval's rule-based splitter (see the module docstring)."""
    text = (" " + text + "  ").replace("\n", " ")
    text = _PREFIXES.sub("\\1<prd>", text)
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    text = _MULTIPLE_DOTS.sub(lambda m: "<prd>" * len(m.group(0)) + "<stop>", text)
    text = text.replace("Ph.D.", "Ph<prd>D<prd>")
    for pattern, repl in _LATE_RULES:
        text = pattern.sub(repl, text)
    # A closing quote belongs to the sentence it ends.
    text = text.replace(".”", "”.")
    for mark in (".", "!", "?"):
        text = text.replace(mark + '"', '"' + mark)
    for mark in (".", "?", "!"):
        text = text.replace(mark, mark + "<stop>")
    sentences = [s.strip() for s in text.replace("<prd>", ".").split("<stop>")]
    if sentences and not sentences[-1]:
        sentences.pop()
    return sentences


def count_sentences(text: str) -> int:
    return len(split_sentences(text))


_detect_lock = threading.Lock()


@functools.lru_cache(maxsize=2048)
def detect_language(text: str) -> str | None:
    """The ISO 639-1 code langdetect reads (``zh-cn`` and ``zh-tw`` as langdetect writes them), or None
    when it cannot tell (no letters: digits, symbols, empty text)."""
    try:
        import langdetect
    except ImportError as exc:  # a dependency of rewardkit; missing only in a broken install
        raise RuntimeError("the 'langdetect' package is not installed: pip install langdetect") from exc
    # The seed is global state of the library: set it and detect under one lock so threads cannot race.
    with _detect_lock:
        langdetect.DetectorFactory.seed = 0
        try:
            return str(langdetect.detect(text))
        except langdetect.LangDetectException:
            return None
