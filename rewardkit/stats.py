"""Running per-term statistics for the summary table; mergeable, so workers can send partial sums."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .evaluate import Scored
from .types import FAILED_STATUSES, Status

TOTAL = "(total)"


@dataclass
class TermStats:
    count: int = 0  # scores with a value
    total: float = 0.0
    nulls: int = 0  # scores without a value, whatever the reason
    errors: int = 0  # infrastructure failures (a service down, a worker died)
    timeouts: int = 0
    not_applicable: int = 0
    bugs: int = 0  # the reward itself raised or broke its contract
    failed: int = 0  # masked: no value because something failed (errors, bugs, timeouts without a value)

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    def add(self, value: float | None, status: Status) -> None:
        if value is None:
            self.nulls += 1
            if status in FAILED_STATUSES:
                self.failed += 1
        else:
            self.count += 1
            self.total += value
        if status is Status.ERROR:
            self.errors += 1
        elif status is Status.TIMEOUT:
            self.timeouts += 1
        elif status is Status.NOT_APPLICABLE:
            self.not_applicable += 1
        elif status is Status.BUG:
            self.bugs += 1

    def merge(self, other: TermStats) -> None:
        self.count += other.count
        self.total += other.total
        self.nulls += other.nulls
        self.errors += other.errors
        self.timeouts += other.timeouts
        self.not_applicable += other.not_applicable
        self.bugs += other.bugs
        self.failed += other.failed


@dataclass
class Stats:
    terms: dict[str, TermStats] = field(default_factory=dict)
    rows: int = 0

    def add(self, scored: Scored) -> None:
        self.rows += 1
        terms = self.terms
        for path, score in scored.scores.items():
            (terms.get(path) or terms.setdefault(path, TermStats())).add(score.value, score.status)
        # The total has no status of its own: a null total counts as a null, never as an error.
        (terms.get(TOTAL) or terms.setdefault(TOTAL, TermStats())).add(scored.total, Status.OK)

    @classmethod
    def of(cls, results: Iterable[Scored]) -> Stats:
        stats = cls()
        for r in results:
            stats.add(r)
        return stats

    def merge(self, other: Stats) -> None:
        self.rows += other.rows
        for path, ts in other.terms.items():
            self.terms.setdefault(path, TermStats()).merge(ts)

    def error_rate(self, path: str) -> float:
        ts = self.terms.get(path)
        if ts is None:
            return 0.0
        applicable = ts.count + ts.nulls - ts.not_applicable
        return ts.failed / applicable if applicable else 0.0


#: The one name for "this row's total is masked" in every trainer's metrics and logs.
MASKED = "rewardkit/masked"


def trainer_metrics(stats: Stats, skip_means: Iterable[str] = ()) -> dict[str, float]:
    """Per-term means and failure counts as trainers log them (``rewardkit/<term>/mean|errors|...``),
    plus the fraction of masked rows. ``skip_means``: terms whose mean the trainer logs itself."""
    out: dict[str, float] = {}
    skip = set(skip_means)
    for path, ts in stats.terms.items():
        if path == TOTAL:
            if stats.rows:
                out[MASKED] = ts.nulls / stats.rows
            continue
        if ts.mean is not None and path not in skip:
            out[f"rewardkit/{path}/mean"] = ts.mean
        out[f"rewardkit/{path}/errors"] = float(ts.errors)
        out[f"rewardkit/{path}/timeouts"] = float(ts.timeouts)
        out[f"rewardkit/{path}/bugs"] = float(ts.bugs)
    return out
