"""`rewardkit score --report FILE.html|FILE.md`: what the rewards did to a file, at a glance.

Per term (and the total): a histogram of values over the term's range, how many rows were null, failed
(error, bug, timeout) or did not apply; the slowest rows; and a few example rows per outcome (top, bottom,
in between, and each failure status) with their reasons, so a user sees why without reading JSONL. A term's
parts (named sub-scores, `rewardkit.stats.PARTS`) follow it as ``<term>/<part>``, binned over the term's
range (a value outside it lands in the end bin), counted on the rows that carry them.

Built like `rewardkit.stats.Stats`: each chunk (in a worker process) fills a small `Report`, the parent
merges them; memory stays bounded by the bins, the slowest-row heap and a few examples per outcome.
"""

from __future__ import annotations

import heapq
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .config import CompositionConfig, walk_all
from .evaluate import Scored
from .stats import PARTS, TOTAL, parts_of, with_parts
from .types import Completion, Score, Status, completion_text

BINS = 10
SLOWEST = 10
EXAMPLES = 3
PREVIEW = 160


@dataclass(frozen=True, order=True)
class Example:
    line: int
    value: float | None
    status: str
    reason: str
    preview: str


@dataclass
class TermReport:
    low: float
    high: float
    bins: list[int] = field(default_factory=lambda: [0] * BINS)
    statuses: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[Example]] = field(default_factory=dict)

    def add(self, value: float | None, status: str, example: Example) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if value is not None:
            self.bins[self._bin(value)] += 1
        outcome = self._outcome(value, status)
        kept = self.examples.setdefault(outcome, [])
        if len(kept) < EXAMPLES:
            kept.append(example)

    def _bin(self, value: float) -> int:
        span = self.high - self.low
        if span <= 0:
            return 0
        return min(BINS - 1, max(0, int((value - self.low) / span * BINS)))

    def _outcome(self, value: float | None, status: str) -> str:
        if value is None:
            return status
        if value >= self.high - 1e-9:
            return "top of range"
        return "bottom of range" if value <= self.low + 1e-9 else "in between"

    def merge(self, other: TermReport) -> None:
        self.bins = [a + b for a, b in zip(self.bins, other.bins, strict=True)]
        for status, n in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + n
        for outcome, found in other.examples.items():
            kept = self.examples.setdefault(outcome, [])
            kept.extend(found[: EXAMPLES - len(kept)])


@dataclass
class Report:
    terms: dict[str, TermReport] = field(default_factory=dict)
    parts: dict[str, TermReport] = field(default_factory=dict)  # "<term path>/<part name>", made when first seen
    slowest: list[tuple[float, int, str]] = field(default_factory=list)  # min-heap of (seconds, line, preview)
    rows: int = 0

    @classmethod
    def for_config(cls, config: CompositionConfig) -> Report:
        terms = {t.path: TermReport(*t.output_range()) for t in walk_all(config.terms)}
        terms[TOTAL] = TermReport(*config.output_range())
        return cls(terms)

    def add(self, line: int, completion: Completion, scored: Scored, seconds: float) -> None:
        self.rows += 1
        preview = _preview(completion)
        for path, score in scored.scores.items():
            term = self.terms.get(path)
            if term is not None:
                term.add(score.value, score.status.value, Example(line, score.value, score.status.value,
                                                                  score.reason[:200], preview))
                if score.details and PARTS in score.details:
                    self._add_parts(path, term, score, line, preview)
        status = Status.OK.value if scored.total is not None else "null"
        self.terms[TOTAL].add(scored.total, status, Example(line, scored.total, status, "", preview))
        item = (seconds, line, preview)
        if len(self.slowest) < SLOWEST:
            heapq.heappush(self.slowest, item)
        elif item > self.slowest[0]:
            heapq.heapreplace(self.slowest, item)

    def _add_parts(self, path: str, term: TermReport, score: Score, line: int, preview: str) -> None:
        for name, value in parts_of(score).items():
            part = self.parts.get(f"{path}/{name}") or self.parts.setdefault(f"{path}/{name}",
                                                                             TermReport(term.low, term.high))
            part.add(value, Status.OK.value, Example(line, value, Status.OK.value, score.reason[:200], preview))

    def merge(self, other: Report) -> None:
        self.rows += other.rows
        for mine_all, theirs in ((self.terms, other.terms), (self.parts, other.parts)):
            for path, term in theirs.items():
                mine = mine_all.get(path)
                if mine is None:
                    mine_all[path] = term
                else:
                    mine.merge(term)
        for item in other.slowest:
            if len(self.slowest) < SLOWEST:
                heapq.heappush(self.slowest, item)
            elif item > self.slowest[0]:
                heapq.heapreplace(self.slowest, item)


def _preview(completion: Completion) -> str:
    text = " ".join(completion_text(completion).split())
    return text if len(text) <= PREVIEW else text[: PREVIEW - 1] + "…"


def write_report(report: Report, path: Path, source: str) -> None:
    """Write ``report`` as HTML (``.html``/``.htm``) or Markdown (anything else)."""
    text = _html(report, source) if path.suffix.lower() in (".html", ".htm") else _markdown(report, source)
    path.write_text(text, encoding="utf-8")


def _rates(term: TermReport) -> Mapping[str, int]:
    return {s: term.statuses.get(s, 0) for s in ("ok", "not_applicable", "error", "bug", "timeout", "null")}


def _edges(term: TermReport) -> Sequence[str]:
    step = (term.high - term.low) / BINS
    return [f"{term.low + i * step:.3g}..{term.low + (i + 1) * step:.3g}" for i in range(BINS)]


def _markdown(report: Report, source: str) -> str:
    out = [f"# rewardkit report: {source}", "", f"{report.rows} rows scored.", ""]
    for path, term, _part in with_parts(report.terms, report.parts):
        rates = _rates(term)
        out += [f"## {path}", "", "| " + " | ".join(rates) + " |", "|" + "---|" * len(rates),
                "| " + " | ".join(str(n) for n in rates.values()) + " |", ""]
        peak = max(term.bins) or 1
        out += ["| range | rows | |", "|---|---:|---|"]
        out += [f"| {edge} | {n} | {'█' * round(20 * n / peak)} |" for edge, n in zip(_edges(term), term.bins,
                                                                                     strict=True)]
        out.append("")
        for outcome, examples in term.examples.items():
            out.append(f"**{outcome}**")
            out += [f"- line {e.line}: `{e.value}` {e.reason} — {e.preview}" for e in examples]
            out.append("")
    out += ["## Slowest rows", "", "| line | seconds | completion |", "|---:|---:|---|"]
    out += [f"| {line} | {sec:.4f} | {_cell(prev)} |" for sec, line, prev in sorted(report.slowest, reverse=True)]
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _html(report: Report, source: str) -> str:
    esc = html.escape
    parts = [f"<!doctype html><meta charset='utf-8'><title>rewardkit report: {esc(source)}</title>",
             "<style>body{font-family:sans-serif;max-width:60em;margin:auto}td,th{padding:2px 8px}"
             ".bar{background:#4a7;height:12px}</style>",
             f"<h1>rewardkit report: {esc(source)}</h1><p>{report.rows} rows scored.</p>"]
    for path, term, _part in with_parts(report.terms, report.parts):
        rates = _rates(term)
        parts.append(f"<h2>{esc(path)}</h2><table><tr>{''.join(f'<th>{esc(k)}</th>' for k in rates)}</tr>"
                     f"<tr>{''.join(f'<td>{n}</td>' for n in rates.values())}</tr></table>")
        peak = max(term.bins) or 1
        rows = "".join(f"<tr><td>{esc(edge)}</td><td>{n}</td><td><div class='bar' style='width:{200 * n // peak}px'>"
                       "</div></td></tr>" for edge, n in zip(_edges(term), term.bins, strict=True))
        parts.append(f"<table><tr><th>range</th><th>rows</th><th></th></tr>{rows}</table>")
        for outcome, examples in term.examples.items():
            items = "".join(f"<li>line {e.line}: <code>{e.value}</code> {esc(e.reason)} — {esc(e.preview)}</li>"
                            for e in examples)
            parts.append(f"<h3>{esc(outcome)}</h3><ul>{items}</ul>")
    slow = "".join(f"<tr><td>{line}</td><td>{sec:.4f}</td><td>{esc(prev)}</td></tr>"
                   for sec, line, prev in sorted(report.slowest, reverse=True))
    parts.append(f"<h2>Slowest rows</h2><table><tr><th>line</th><th>seconds</th><th>completion</th></tr>{slow}"
                 "</table>")
    return "\n".join(parts) + "\n"
