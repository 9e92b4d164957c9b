"""A persistent verdict cache in sqlite, so that scoring a file again costs no judge calls.

The key is a hash of everything that decides a verdict: backend, server, model, sampling settings,
verdict format, scale and the rendered messages (which hold the template and the inputs). The API key is
never part of it. WAL mode lets worker processes read while one writes; a busy timeout makes writers
wait for each other instead of failing. Each call opens its own connection, so the cache is safe from
any thread and after fork. A cache that cannot be opened or written degrades to no cache, with a
warning: it must never cost a training run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

log = logging.getLogger("rewardkit.judge")

DEFAULT_PATH = "~/.cache/rewardkit/judge.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    key TEXT PRIMARY KEY,
    value REAL NOT NULL,
    raw REAL NOT NULL,
    out_of REAL NOT NULL,
    verdict TEXT NOT NULL,
    created REAL NOT NULL
)
"""


class Entry(NamedTuple):
    value: float
    raw: float
    out_of: float
    verdict: str


def cache_key(identity: Mapping[str, Any], messages: list[dict[str, str]]) -> str:
    blob = json.dumps({"judge": dict(identity), "messages": messages}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


class VerdictCache:
    """Get and put verdicts by key; every method swallows sqlite errors after logging them once."""

    def __init__(self, path: str | None) -> None:
        self.path = Path(path).expanduser() if path else None
        self._warned = False

    def _connect(self) -> sqlite3.Connection | None:
        if self.path is None:
            return None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30.0)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            return conn
        except (sqlite3.Error, OSError) as exc:
            self._warn(exc)
            return None

    def _warn(self, exc: BaseException) -> None:
        if not self._warned:
            self._warned = True
            log.warning("judge cache %s unusable, scoring without it: %s", self.path, exc)

    def get_many(self, keys: Iterable[str]) -> dict[str, Entry]:
        keys = list(keys)
        conn = self._connect() if keys else None
        if conn is None:
            return {}
        found: dict[str, Entry] = {}
        try:
            for start in range(0, len(keys), 500):  # stay under sqlite's bound-variable limit
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT key, value, raw, out_of, verdict FROM verdicts WHERE key IN ({marks})", chunk
                )
                found.update((row[0], Entry(*row[1:])) for row in rows)
        except sqlite3.Error as exc:
            self._warn(exc)
        finally:
            conn.close()
        return found

    def put_many(self, entries: Mapping[str, Entry]) -> None:
        conn = self._connect() if entries else None
        if conn is None:
            return
        now = time.time()
        try:
            with conn:
                conn.executemany(
                    "INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?, ?)",
                    [(k, e.value, e.raw, e.out_of, e.verdict, now) for k, e in entries.items()],
                )
        except sqlite3.Error as exc:
            self._warn(exc)
        finally:
            conn.close()
