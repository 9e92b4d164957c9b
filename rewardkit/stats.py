"""Running per-term statistics for the summary table; mergeable, so workers can send partial sums.

Parts. A reward may return named sub-scores under ``Score.details["parts"]`` (`PARTS`): a mapping of short
names to finite numbers, e.g. a rubric's per-criterion values. `parts_of` is the one reader of that key (a
malformed entry is ignored, never an error); `Stats` keeps each part as its own `TermStats` under
``<term path>/<part name>``, counted on the rows that carry it, so `trainer_metrics` logs
``rewardkit/<term>/<part>/mean`` and the CLI's summary and ``--report`` show it. Parts are for watching
only: they never enter a total, the error budget or the masked rate, and the OpenRLHF and verl replies leave
them out (those trainers need one fixed key set per run; parts vary by row: per-row rubrics, dropout).
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from .types import FAILED_STATUSES, Score, Status

if TYPE_CHECKING:  # a type only: reward modules import this module for PARTS, before the core is loaded
    from .evaluate import Scored

TOTAL = "(total)"
#: The key of `Score.details` holding a reward's named sub-scores: ``{name: finite number}``.
PARTS = "parts"
#: At most this many parts of one score are read (a per-row rubric must not flood a metrics logger).
MAX_PARTS = 32
MAX_PART_NAME = 64
#: Larger magnitudes are not sub-scores, and summing a run of them would overflow a mean to inf (CI found
#: two parts of 9e307 logging an infinite mean); 1e12 keeps the sum of a trillion rows finite.
MAX_PART_MAGNITUDE = 1e12


def part_name_ok(name: object) -> bool:
    """A name usable in ``rewardkit/<term>/<name>/mean``: short, printable, no ``/``, no outer spaces."""
    return type(name) is str and _name_ok(name)


@functools.lru_cache(maxsize=4096)  # a run repeats a few names on every row
def _name_ok(name: str) -> bool:
    return 0 < len(name) <= MAX_PART_NAME and "/" not in name and name.isprintable() and name == name.strip()


def parts_of(score: Score) -> dict[str, float]:
    """The named sub-scores ``score`` carries under ``details["parts"]``; names that `part_name_ok` refuses,
    values that are not real numbers (bools included) of magnitude at most `MAX_PART_MAGNITUDE` (so not nan or
    inf either) and entries past `MAX_PARTS` are ignored."""
    details: Any = score.details
    raw = details.get(PARTS) if type(details) is dict or isinstance(details, Mapping) else None
    if not isinstance(raw, Mapping):
        return {}
    out: dict[str, float] = {}
    for name, value in raw.items():
        if len(out) == MAX_PARTS:
            break
        kind = type(value)  # exact float and int first: the ABC check below is slow, and bool is an int
        if not (kind is float or kind is int or (kind is not bool and isinstance(value, numbers.Real))):
            continue
        if type(name) is str and _name_ok(name):
            number = float(value)
            if -MAX_PART_MAGNITUDE <= number <= MAX_PART_MAGNITUDE:  # False for nan
                out[name] = number
    return out


T = TypeVar("T")


def with_parts(terms: Mapping[str, T], parts: Mapping[str, T]) -> list[tuple[str, T, bool]]:
    """``(path, entry, is_part)`` in display order: each term followed by its parts (keyed
    ``<term path>/<part name>``), the total last. Shared by the CLI's summary and the report."""
    children: dict[str, list[str]] = {}
    for key in parts:
        children.setdefault(key.rpartition("/")[0], []).append(key)  # part names hold no "/"
    out: list[tuple[str, T, bool]] = []
    for path, entry in terms.items():
        if path != TOTAL:
            out.append((path, entry, False))
            out += [(key, parts[key], True) for key in children.get(path, ())]
    if TOTAL in terms:
        out.append((TOTAL, terms[TOTAL], False))
    return out


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
    #: ``<term path>/<part name>`` -> the part's values (status ok: a part is a number or absent).
    parts: dict[str, TermStats] = field(default_factory=dict)

    def add(self, scored: Scored) -> None:
        self.rows += 1
        terms = self.terms
        for path, score in scored.scores.items():
            (terms.get(path) or terms.setdefault(path, TermStats())).add(score.value, score.status)
            details = score.details
            if details and PARTS in details:  # the cheap test first: this loop runs per row and term
                parts = self.parts
                for name, value in parts_of(score).items():
                    key = f"{path}/{name}"
                    part = parts.get(key) or parts.setdefault(key, TermStats())
                    part.count += 1  # a part is a value with status ok: TermStats.add without its branches
                    part.total += value
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
        for path, ts in other.parts.items():
            self.parts.setdefault(path, TermStats()).merge(ts)

    def in_order(self) -> list[tuple[str, TermStats, bool]]:
        """``(path, stats, is_part)`` for a table: each term followed by its parts, the total last."""
        return with_parts(self.terms, self.parts)

    def error_rate(self, path: str) -> float:
        ts = self.terms.get(path)
        if ts is None:
            return 0.0
        applicable = ts.count + ts.nulls - ts.not_applicable
        return ts.failed / applicable if applicable else 0.0


#: The one name for "this row's total is masked" in every trainer's metrics and logs.
MASKED = "rewardkit/masked"


def trainer_metrics(stats: Stats, skip_means: Iterable[str] = ()) -> dict[str, float]:
    """Per-term means and failure counts as trainers log them (``rewardkit/<term>/mean|errors|...``), each
    part's mean (``rewardkit/<term>/<part>/mean``), and the fraction of masked rows. ``skip_means``: terms
    whose mean the trainer logs itself."""
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
    for path, ts in stats.parts.items():  # a part has no failures of its own: its term counts them
        if ts.mean is not None:
            out[f"rewardkit/{path}/mean"] = ts.mean
    return out
