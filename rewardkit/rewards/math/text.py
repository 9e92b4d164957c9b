"""Linear-time scanners over model prose: character normalization, currency, boxes, math spans, tags.

Everything here runs in time linear in the input (no backtracking regex over unbounded text, no
recursion driven by the input): a completion of 200 KB of unclosed ``\\boxed{`` or ``\\(`` costs
milliseconds, not minutes. The extractor (`extract`) only ever sees text that passed through `prepare`.

`prepare` rewrites what models write into what the readers expect:

- full-width forms (``＝``, ``１２``) to ASCII, Unicode minus and en dash to ``-`` (a dropped minus turns
  ``−2`` into a right answer for 2), no-break and thin spaces to spaces, zero-width characters removed
  (an "or" split by a zero-width space is still an "or");
- GSM8K calculator annotations ``<<a*b=c>>`` removed (they repeat the number that follows them);
- ``$`` used as money removed, ``$`` used as a math delimiter kept (see `strip_currency`).
"""

from __future__ import annotations

import re

_TRANSLATE: dict[int, int | str | None] = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)}  # full-width ASCII
_TRANSLATE.update({0x3000: " ", 0x00A0: " ", 0x2009: " ", 0x202F: " ", 0x2007: " ", 0x2212: "-",
                   0x2013: "-", 0xFE63: "-", 0x2012: "-", 0x200B: None, 0x200C: None, 0x200D: None,
                   0x2060: None, 0xFEFF: None, 0x00AD: None, 0x2215: "/", 0x2044: "/"})
_CALCULATOR = re.compile(r"<<[^<>\n]{0,300}>>")
_DOLLAR = re.compile(r"\$\$|(?<!\\)\$")
_MONEY_START = re.compile(r"\s?-?(?:\d|\.\d)")
_PROSE = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{3,}")
_OPERATOR_END = re.compile(r"(?:[=+\-*/]|\\times|\\cdot)\s*$")
_DIGIT_BEFORE = re.compile(r"\d\s?$")


def prepare(text: str) -> str:
    """Normalize characters, drop calculator annotations and money signs (see the module docstring)."""
    text = text.translate(_TRANSLATE)
    if "<<" in text:
        text = _CALCULATOR.sub("", text)
    return strip_currency(text) if "$" in text else text


def strip_currency(s: str) -> str:
    """Remove the ``$`` signs that mean money; keep the ones that delimit math.

    A ``$`` before a number is money unless a closing ``$`` follows on the same line with short, prose-free
    math between, and that closing ``$`` is not itself money ("$204 + $160 = $694": each ``$`` is
    followed by a number and the next ``$`` opens another amount). A span that ends in an operator and
    whose closing ``$`` precedes a number ("$x = $200") is prose around an amount. ``\\$`` is always money.
    Each ``$`` is looked at once and the text between two of them is read once: linear time.
    """
    marks = [(m.start(), m.group(0)) for m in _DOLLAR.finditer(s)]
    drop: set[int] = set()
    k = 0
    while k < len(marks):
        pos, tok = marks[k]
        if tok == "$$":
            k = _skip_display(marks, k)
            continue
        closer = k + 1 if k + 1 < len(marks) and marks[k + 1][1] == "$" else None
        verdict = _classify(s, pos, marks[closer][0] if closer is not None else None)
        if verdict == "math":
            k = closer + 1 if closer is not None else k + 1  # an unclosed opener is left as it is
            continue
        drop.add(pos)
        if verdict == "both":
            assert closer is not None
            drop.add(marks[closer][0])
            k = closer + 1
            continue
        k += 1
    if drop:
        cuts = sorted(drop)
        s = "".join(s[a + 1 : b] for a, b in zip([-1, *cuts], [*cuts, len(s)], strict=True))
    return s.replace("\\$", "")


def _skip_display(marks: list[tuple[int, str]], k: int) -> int:
    for j in range(k + 1, len(marks)):
        if marks[j][1] == "$$":
            return j + 1
    return len(marks)


def _classify(s: str, pos: int, close: int | None) -> str:
    """``math`` (a span from pos to close), ``money`` (drop pos), ``both`` (drop pos and close)."""
    content = s[pos + 1 : close] if close is not None else ""
    closable = close is not None and "\n" not in content and len(content) <= 300
    after_close_money = closable and close is not None and bool(_MONEY_START.match(s, close + 1))
    if _MONEY_START.match(s, pos + 1):
        if closable and not after_close_money and not _PROSE.search(content) and not _OPERATOR_END.search(content):
            return "math"
        return "money"
    if closable:
        if after_close_money and _OPERATOR_END.search(content):
            return "both"
        return "math"
    # An unclosed $ after a number ("220 $ à payer") is a postfix currency sign.
    return "money" if _DIGIT_BEFORE.search(s, max(0, pos - 3), pos) else "math"


_BOX_TOKEN = re.compile(r"\\(?:boxed|fbox)\s*\{|[{}]")


def boxes(text: str) -> list[tuple[int, int, str]]:
    """Every ``\\boxed{...}`` / ``\\fbox{...}`` with balanced braces as (start, end, content), in order
    of their start; unclosed boxes are skipped. One pass with a stack: linear in the text."""
    if "\\boxed" not in text and "\\fbox" not in text:
        return []
    stack: list[tuple[int, int] | None] = []  # (box start, content start) for boxes, None for plain braces
    out: list[tuple[int, int, str]] = []
    for m in _BOX_TOKEN.finditer(text):
        tok = m.group(0)
        if tok == "}":
            if stack:
                top = stack.pop()
                if top is not None:
                    out.append((top[0], m.end(), text[top[1] : m.start()]))
        elif tok == "{":
            stack.append(None)
        else:
            stack.append((m.start(), m.end()))
    out.sort()
    return out


_SPAN_TOKEN = re.compile(r"\$\$|\\\[|\\\]|\\\(|\\\)|(?<!\\)\$")
_CLOSER = {"$$": "$$", "\\[": "\\]", "\\(": "\\)", "$": "$"}


def math_spans(text: str) -> list[tuple[int, int, str]]:
    """Display and inline math spans (``$$..$$``, ``\\[..\\]``, ``\\(..\\)``, ``$..$``) as
    (start, end, content), left to right. An opener without its closer is skipped; one pass."""
    if "$" not in text and "\\" not in text:
        return []
    out: list[tuple[int, int, str]] = []
    opener: tuple[int, int, str] | None = None
    for m in _SPAN_TOKEN.finditer(text):
        tok = m.group(0)
        if opener is None:
            if tok in _CLOSER:
                opener = (m.start(), m.end(), _CLOSER[tok])
            continue
        if tok == opener[2]:
            content = text[opener[1] : m.start()]
            if content.strip():
                out.append((opener[0], m.end(), content))
            opener = None
        elif tok in ("\\[", "$$") and opener[2] == "$":
            opener = (m.start(), m.end(), _CLOSER[tok])  # a stray $ before a display: the display wins
    return out


def answer_blocks(text: str) -> tuple[list[tuple[int, int, str]], int | None]:
    """Complete ``<answer>...</answer>`` blocks after the reasoning (which ends at the first
    ``</think>``), innermost-first pairing so nesting costs nothing, and the start of the content of a
    trailing unclosed ``<answer>`` (a truncated completion), if any. Linear: ``str.find`` only."""
    low = text.lower()
    low = low if len(low) == len(text) else text
    think = low.find("</think>")
    pos = think + len("</think>") if think >= 0 else 0
    blocks: list[tuple[int, int, str]] = []
    last_open: int | None = None
    while True:
        opened = low.find("<answer>", pos)
        closed = low.find("</answer>", pos)
        if opened < 0 and closed < 0:
            break
        if opened >= 0 and (closed < 0 or opened < closed):
            last_open, pos = opened + len("<answer>"), opened + len("<answer>")
            continue
        if last_open is not None:
            blocks.append((last_open, closed, text[last_open:closed]))
        last_open, pos = None, closed + len("</answer>")
    return blocks, last_open


def after_last_think(text: str) -> str:
    """The text after the last ``</think>`` when that is not empty; otherwise the whole text."""
    low = text.lower()
    low = low if len(low) == len(text) else text
    end = low.rfind("</think>")
    if end >= 0 and text[end + len("</think>") :].strip():
        return text[end + len("</think>") :]
    return text
