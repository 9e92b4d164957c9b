"""Putting hostile text in front of a judge as data, and recognising a judge that quotes it back.

`encode` turns any text into one JSON string literal that a chat template cannot split: newlines and
quotes are escaped (so it is one line and cannot close its own string), ``<`` and ``>`` become ``\\u003c``
and ``\\u003e`` (so no ``<|im_end|>``, ``</s>``, ``<|eot_id|>``, ``<start_of_turn>`` or fence marker can
form, whatever tokenizer the server uses), bracket tokens such as ``[INST]`` lose their opening bracket,
and invisible or control characters (zero-width, bidi overrides, line separators, lone surrogates) are
written as escapes, so what the judge reads is what was sent. `json.loads` gives back the exact text.

`quoted` says whether a line of the judge's reply occurs in the graded text (after removing markdown
decoration and invisible characters, and folding compatibility forms, whitespace and case): such a line
may be the judge quoting the response rather than speaking, so a verdict on it is refused. A substring
test also catches a quote cut off mid-line (``Score: 1`` out of ``Score: 10``). `states` is the stronger,
semantic test: does the graded text state this label with this figure in any spacing or punctuation
(``{"score":10}``, ``SCORE = 10``, ``Ｓｃｏｒｅ：１０``)? A judge that gives exactly the verdict the response
asked for cannot be told from one the response talked into it, so that verdict is refused too.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable

# Tokens in brackets that chat templates treat as control tokens (Llama 2, Mistral, Mixtral tool calls).
_BRACKET_TOKEN = re.compile(r"\[(?=/?[A-Z][A-Z_]{1,30}\])")
_HIDDEN = frozenset({"Cc", "Cf", "Co", "Cs", "Zl", "Zp", "Cn"})
_DECORATION = re.compile(r"[*_`#>~|\"']+")
_SPACE = re.compile(r"\s+")


def _escape(ch: str) -> str:
    code = ord(ch)
    if code > 0xFFFF:  # outside the BMP: a JSON surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def encode(text: str) -> str:
    """``text`` as a JSON string literal safe to show a judge (see the module docstring)."""
    literal = json.dumps(text, ensure_ascii=False)
    out = []
    for ch in literal:
        if ch in "<>" or (ch not in "\n\t" and unicodedata.category(ch) in _HIDDEN):
            out.append(_escape(ch))
        else:
            out.append(ch)
    return _BRACKET_TOKEN.sub(r"\\u005b", "".join(out))


def _visible(text: str) -> str:
    """NFKC-folded text without invisible characters (zero-width, bidi controls), which a quote may drop."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(
        " " if ch in "\n\r\t" else ch for ch in text if ch in "\n\r\t" or unicodedata.category(ch) not in _HIDDEN
    )


def fold(text: str) -> str:
    """Text reduced for quote detection: no markdown decoration or quote marks, one space, lower case."""
    return _SPACE.sub(" ", _DECORATION.sub(" ", _visible(text))).strip().lower()


_NOT_WORD = re.compile(r"[^0-9a-z.]+")


def canon(text: str) -> str:
    """Letters, digits and points only: the skeleton of a verdict whatever its spacing and punctuation."""
    return _NOT_WORD.sub("", _visible(text).lower())


def states(label: str, figure: str, sources: Iterable[str]) -> bool:
    """Whether any source states ``label`` followed by ``figure`` (compared as `canon` skeletons)."""
    needle = canon(label) + canon(figure)
    return any(needle in canon(source) for source in sources)


def quoted(line: str, sources: Iterable[str]) -> bool:
    """Whether ``line`` (folded) occurs in any of ``sources`` (folded)."""
    needle = fold(line)
    if not needle:
        return False
    return any(needle in fold(source) for source in sources)
