"""Score a JSONL file end to end: stream lines through the worker pool, write results atomically, count.

Memory stays flat: lines are read in chunks, at most a few chunks per worker are in flight, and results
are written in input order as soon as they are ready.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .config import CompositionConfig
from .evaluate import no_beat
from .io import AtomicWriter, ChunkSizer, LinesResult, RowError, line_tasks, parse_row, score_lines
from .report import Report
from .runner import WorkerPool
from .stats import Stats


@dataclass
class FileReport:
    stats: Stats = field(default_factory=Stats)
    invalid: int = 0
    seconds: float = 0.0
    kills: int = 0
    report: Report | None = None

    @property
    def lines_per_second(self) -> float:
        return (self.stats.rows + self.invalid) / self.seconds if self.seconds else 0.0


def score_file(
    config: CompositionConfig,
    source: str | Path,
    output: str | Path | None,
    workers: int = 0,
    details: bool = False,
    chunk_lines: int | None = None,
    on_error: Callable[[RowError], None] = lambda e: None,
    on_progress: Callable[[int], None] = lambda n: None,
    report: bool = False,
) -> FileReport:
    """Score ``source`` into ``output`` (stdout when None or ``-``); invalid rows go to ``on_error``.

    ``chunk_lines`` fixes the lines per chunk; None adapts it to the rewards' cost (`ChunkSizer`).
    """
    out = FileReport(report=Report.for_config(config) if report else None)
    started = time.perf_counter()
    sizer = ChunkSizer(chunk_lines)
    tasks = line_tasks(source, sizer, details, report, _group_reader(config))
    pool = WorkerPool(config, score_lines, workers) if workers > 0 else None
    try:
        results = pool.map(tasks) if pool else (score_lines(config, t, {}, no_beat) for t in tasks)
        write_results(results, output, out, on_error, on_progress, sizer)
    finally:
        if pool is not None:
            out.kills = pool.kills
            pool.close()
    out.seconds = time.perf_counter() - started
    return out


def _group_reader(config: CompositionConfig) -> Callable[[bytes], str | None] | None:
    """A line's group, for compositions with a grouping reward: the file is chunked at group changes."""
    if config.grouping is None:
        return None

    def group_of(raw: bytes) -> str | None:
        parsed = parse_row(0, raw, config.reference_column)
        return None if isinstance(parsed, RowError) else config.group_of(parsed[0])

    return group_of


def write_results(
    results: Iterator[LinesResult],
    output: str | Path | None,
    report: FileReport,
    on_error: Callable[[RowError], None],
    on_progress: Callable[[int], None],
    sizer: ChunkSizer | None = None,
) -> None:
    """Write scored chunks in order to ``output`` (atomically) or stdout, counting into ``report``."""
    sizer = sizer or ChunkSizer(256)
    if output is None or str(output) == "-":
        _drain(results, sys.stdout, report, on_error, on_progress, sizer)
    else:
        with AtomicWriter(output) as writer:
            _drain(results, writer, report, on_error, on_progress, sizer)


def _drain(
    results: Iterator[LinesResult],
    out: IO[str] | AtomicWriter,
    report: FileReport,
    on_error: Callable[[RowError], None],
    on_progress: Callable[[int], None],
    sizer: ChunkSizer,
) -> None:
    for result in results:
        sizer.observe(result.lines, result.seconds, result.bytes_read)
        if result.text:
            out.write(result.text)
        for error in result.errors:
            report.invalid += 1
            on_error(error)
        report.stats.merge(result.stats)
        if report.report is not None and result.report is not None:
            report.report.merge(result.report)
        on_progress(result.bytes_read)
