"""Running per-term statistics for the summary table; mergeable, so workers can send partial sums."""

from __future__ import annotations

from dataclasses import dataclass, field

from .evaluate import Scored
from .types import Status

TOTAL = "(total)"


@dataclass
class TermStats:
    count: int = 0  # scores with a value
    total: float = 0.0
    nulls: int = 0  # scores without a value, whatever the reason
    errors: int = 0
    timeouts: int = 0
    not_applicable: int = 0

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    def merge(self, other: TermStats) -> None:
        self.count += other.count
        self.total += other.total
        self.nulls += other.nulls
        self.errors += other.errors
        self.timeouts += other.timeouts
        self.not_applicable += other.not_applicable


@dataclass
class Stats:
    terms: dict[str, TermStats] = field(default_factory=dict)
    rows: int = 0

    def add(self, scored: Scored) -> None:
        self.rows += 1
        for path, score in scored.scores.items():
            ts = self.terms.get(path)
            if ts is None:
                ts = self.terms[path] = TermStats()
            if score.value is None:
                ts.nulls += 1
            else:
                ts.count += 1
                ts.total += score.value
            if score.status is Status.ERROR:
                ts.errors += 1
            elif score.status is Status.TIMEOUT:
                ts.timeouts += 1
            elif score.status is Status.NOT_APPLICABLE:
                ts.not_applicable += 1
        total = self.terms.get(TOTAL)
        if total is None:
            total = self.terms[TOTAL] = TermStats()
        if scored.total is None:
            total.nulls += 1
        else:
            total.count += 1
            total.total += scored.total

    def merge(self, other: Stats) -> None:
        self.rows += other.rows
        for path, ts in other.terms.items():
            self.terms.setdefault(path, TermStats()).merge(ts)

    def error_rate(self, path: str) -> float:
        ts = self.terms.get(path)
        if ts is None:
            return 0.0
        applicable = ts.count + ts.nulls - ts.not_applicable
        return ts.errors / applicable if applicable else 0.0
