"""A persistent verdict cache in sqlite, so that scoring a file again costs no judge calls.

The key is a hash of everything that decides a verdict: backend, server, model, sampling settings,
verdict format, scale and the rendered messages (which hold the template and the inputs). The API key is
never part of it. WAL mode lets worker processes read while one writes; a busy timeout makes writers
wait for each other instead of failing. sqlite does not apply that timeout everywhere: processes that
open a new file at once race to switch it to WAL, and the losers get "database is locked" at once (4
processes on 300 fresh files: 80 of 1,200 opens failed), so every operation is retried while sqlite
says busy or locked, for as long as the busy timeout. Each call opens its own connection, so the cache
is safe from any thread and after fork. A cache that cannot be opened or written degrades to no cache, with a
warning: it must never cost a training run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

log = logging.getLogger("rewardkit.judge")

DEFAULT_PATH = "~/.cache/rewardkit/judge.sqlite"
BUSY_TIMEOUT_S = 30.0

T = TypeVar("T")

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

    def _open(self) -> sqlite3.Connection:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":  # WAL persists in the file
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
        except BaseException:
            conn.close()
            raise
        return conn

    def _run(self, operation: Callable[[sqlite3.Connection], T], default: T) -> T:
        """Open, run and close, retrying while sqlite says busy; any other failure is logged and `default`."""
        if self.path is None:
            return default
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        pause = 0.002
        while True:
            try:
                conn = self._open()
                try:
                    return operation(conn)
                finally:
                    conn.close()
            except sqlite3.OperationalError as exc:
                if _busy(exc) and time.monotonic() < deadline:
                    time.sleep(pause)
                    pause = min(pause * 2, 0.25)
                    continue
                self._warn(exc)
            except (sqlite3.Error, OSError) as exc:
                self._warn(exc)
            return default

    def _warn(self, exc: BaseException) -> None:
        if not self._warned:
            self._warned = True
            log.warning("judge cache %s unusable, scoring without it: %s", self.path, exc)

    def get_many(self, keys: Iterable[str]) -> dict[str, Entry]:
        keys = list(keys)
        if not keys:
            return {}

        def select(conn: sqlite3.Connection) -> dict[str, Entry]:
            found: dict[str, Entry] = {}
            for start in range(0, len(keys), 500):  # stay under sqlite's bound-variable limit
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT key, value, raw, out_of, verdict FROM verdicts WHERE key IN ({marks})", chunk
                )
                found.update((row[0], Entry(*row[1:])) for row in rows)
            return found

        return self._run(select, {})

    def put_many(self, entries: Mapping[str, Entry]) -> None:
        if not entries:
            return
        now = time.time()
        rows = [(k, e.value, e.raw, e.out_of, e.verdict, now) for k, e in entries.items()]

        def insert(conn: sqlite3.Connection) -> None:
            with conn:  # one transaction: all of the batch or none of it, so a retry repeats it whole
                conn.executemany("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?, ?)", rows)

        self._run(insert, None)


def _busy(exc: sqlite3.OperationalError) -> bool:
    message = str(exc).lower()
    return "locked" in message or "busy" in message
