"""Reporting a reward that raised: the traceback once per (term, exception type, place), then counts only.

A reward bug repeats on every row it meets; logging each would bury the one traceback a developer needs.
The library never prints: this goes through `logging` (the CLI shows warnings on stderr).
"""

from __future__ import annotations

import logging
import threading
import traceback

log = logging.getLogger("rewardkit")

_seen: set[tuple[str, str, str]] = set()
_lock = threading.Lock()


def report_bug(path: str, exc: BaseException) -> None:
    """Log the traceback of ``exc`` raised by term ``path`` the first time this kind of failure is seen."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    key = (path, type(exc).__name__, where)
    with _lock:
        if key in _seen:
            return
        _seen.add(key)
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    log.error("reward %r raised (a bug in the reward; shown once, later ones are counted):\n%s", path, text)
