"""Pull the program out of a completion: the last fenced block of the wanted language, or the bare text."""

from __future__ import annotations

import re

# A fence opens with ``` or ~~~ (three or more), an optional info string, and closes with the same run.
_FENCE = re.compile(
    r"^(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S
)

_ALIASES = {
    "python": ("python", "py", "python3"),
    "cpp": ("cpp", "c++", "cxx", "cc"),
}


def extract_code(text: str, language: str = "python", bare: bool = False) -> str | None:
    """The program in ``text``, or None when there is none.

    The last fenced block tagged with ``language`` wins (models often sketch, then correct themselves);
    without a tagged block, the last untagged block; with ``bare``, the whole text when it has no fence.
    """
    tagged: list[str] = []
    untagged: list[str] = []
    names = _ALIASES.get(language, (language,))
    for match in _FENCE.finditer(text):
        info = match.group("info").strip().lower().split(" ")[0]
        if info in names:
            tagged.append(match.group("body"))
        elif not info:
            untagged.append(match.group("body"))
    for found in (tagged, untagged):
        if found and found[-1].strip():
            return found[-1]
    if bare and "```" not in text and text.strip():
        return text
    return None
