"""JSONL in and out: streaming reads with line numbers, row validation, scored lines, atomic writes.

A row is a JSON object with a ``completion`` (text, or a list of chat messages), an optional ``prompt``,
the reference answer in the configured column (``answer`` by default), and any other columns. A scored line
is the input object, untouched, plus ``rewards`` (term path to value or null), ``reward`` (the weighted
total or null) and, on request, ``reward_details``.
"""

from __future__ import annotations

import codecs
import contextlib
import glob
import io
import itertools
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import orjson

from .config import CompositionConfig
from .evaluate import Heartbeat, Scored, evaluate_chunk
from .report import Report
from .rows import MISSING, OUTPUT_KEYS, completion_problem, kind_of, row_sample
from .stats import Stats
from .types import Sample, Score

__all__ = [
    "OUTPUT_KEYS", "AtomicWriter", "LinesResult", "LinesTask", "RowError", "completion_problem", "parse_row",
]


#: Deepest nesting a row may have; the standard library's parser recurses, so deeper input would raise
#: RecursionError (or worse) instead of a line-numbered error.
MAX_DEPTH = 256


def _loads(raw: bytes) -> Any:
    # orjson is several times faster; the standard library decides what orjson refuses (integers past 64 bits,
    # NaN) and words the error messages. Text is decoded strictly as UTF-8 first: given bytes, the standard
    # library would guess UTF-16 or UTF-32 and accept lines that cannot be written back out.
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        text = raw.decode("utf-8")
        if _depth_over(text, MAX_DEPTH):
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
        return json.loads(text)


def _depth_over(text: str, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than ``limit`` (a linear scan, no recursion)."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


@dataclass(frozen=True)
class RowError:
    line: int
    message: str
    raw: bytes = b""  # the line as read, so a rejects file can hand it back for fixing

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class ChunkSizer:
    """Lines per chunk, adapted so that a chunk costs a worker about ``target_s``.

    Cheap rewards get big chunks (less per-chunk overhead: format + length scoring runs ~10% faster at 1,024
    lines than at 256); costly ones get small chunks, so a worker killed for a runaway item re-computes
    little and progress stays smooth. A fixed size turns the adaptation off.
    """

    def __init__(self, fixed: int | None = None, target_s: float = 0.05, low: int = 8, high: int = 4096,
                 max_bytes: int = 4 << 20) -> None:
        self.lines = fixed or 64
        self.fixed = fixed is not None
        self.target_s, self.low, self.high, self.max_bytes = target_s, low, high, max_bytes
        self._per_line: float | None = None

    def observe(self, lines: int, seconds: float, nbytes: int) -> None:
        if self.fixed or lines <= 0:
            return
        cost = seconds / lines
        self._per_line = cost if self._per_line is None else 0.7 * self._per_line + 0.3 * cost
        wanted = self.target_s / max(self._per_line, 1e-7)
        by_memory = self.max_bytes / max(nbytes / lines, 1.0)  # long completions: bound a chunk's bytes too
        self.lines = int(min(self.high, by_memory, max(self.low, wanted)))


def line_tasks(path: str | Path, chunk_lines: int | ChunkSizer, details: bool = False,
               report: bool = False, group_of: Callable[[bytes], str | None] | None = None) -> Iterator[LinesTask]:
    """The file as chunks of raw lines; streams, and leaves parsing to the workers.

    A chunk travels as one bytes object with the number of its first line: the parent does no per-line work
    beyond the file read itself, so it keeps up with several workers. A UTF-8 byte-order mark is skipped and
    a UTF-16 file (what PowerShell's ``>`` writes) is read as text and passed on as UTF-8. ``group_of``
    (compositions with a grouping reward): a chunk ends only where the line's group changes.
    """
    sizer = chunk_lines if isinstance(chunk_lines, ChunkSizer) else ChunkSizer(chunk_lines)
    with open(path, "rb") as f:
        lines = _lines(f)
        first = 1
        held: bytes | None = None
        while True:
            chunk = [] if held is None else [held]
            chunk += itertools.islice(lines, sizer.lines - len(chunk))
            held = None
            if group_of is not None and chunk:
                key = _last_key(chunk, group_of)
                for line in lines:
                    if line.strip() and group_of(line) != key:
                        held = line
                        break
                    chunk.append(line)
            if not chunk:
                return
            yield LinesTask(first, b"".join(chunk), len(chunk), details, report)
            first += len(chunk)


def _last_key(chunk: list[bytes], group_of: Callable[[bytes], str | None]) -> str | None:
    for line in reversed(chunk):
        if line.strip():
            return group_of(line)
    return None


def peek_columns(path: str | Path, rows: int = 100) -> set[str] | None:
    """The keys of the first ``rows`` JSON objects of a JSONL file (None when none can be read)."""
    keys: set[str] = set()
    found = False
    with open(path, "rb") as f:
        for raw in itertools.islice((r for r in _lines(f) if r.strip()), rows):
            try:
                obj = _loads(raw)
            except (ValueError, RecursionError, MemoryError):
                continue
            if isinstance(obj, dict):
                found = True
                keys.update(obj)
    return keys if found else None


def _lines(f: IO[bytes]) -> Iterator[bytes]:
    head = f.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not head.startswith(codecs.BOM_UTF32_LE):
        f.seek(0)
        text = io.TextIOWrapper(f, encoding="utf-16", errors="replace", newline="")
        for line in text:
            yield line.encode("utf-8", errors="surrogatepass")
        return
    f.seek(len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0)
    yield from f


def parse_row(number: int, raw: bytes, reference_column: str) -> tuple[Sample, dict[str, Any]] | RowError:
    """Validate one JSONL line into a `Sample` (and its decoded object), or say what is wrong with it."""
    try:
        obj = _loads(raw)
    except UnicodeDecodeError as exc:
        hint = " (the file looks UTF-16: convert it to UTF-8)" if b"\x00" in raw else ""
        return RowError(number, f"not valid UTF-8 ({exc.reason} at byte {exc.start}){hint}")
    except json.JSONDecodeError as exc:
        return RowError(number, f"invalid JSON: {exc.msg} at column {exc.colno}{_json_hint(number, raw)}")
    except (ValueError, RecursionError, MemoryError) as exc:  # too deep, an integer past 4,300 digits
        return RowError(number, f"cannot be read: {str(exc)[:200]}")
    if not isinstance(obj, dict):
        return RowError(number, f"expected a JSON object, got {kind_of(obj)}{_json_hint(number, raw)}")
    problem = completion_problem(obj.get("completion", MISSING))
    if problem:
        return RowError(number, f"field 'completion': {problem}")
    return row_sample(obj, reference_column), obj


def _json_hint(number: int, raw: bytes) -> str:
    if b"\x00" in raw:
        return " (NUL bytes: the line looks UTF-16; convert the file to UTF-8, e.g. iconv -f UTF-16 -t UTF-8)"
    if number == 1 and raw.lstrip().startswith(b"["):
        return (". The file looks like one JSON array; rewardkit reads JSON Lines (one object per line): "
                "convert it with  jq -c '.[]' FILE.json > FILE.jsonl")
    return ""


@dataclass
class LinesResult:
    """What a worker sends back for a chunk: the output lines joined (one string pickles fast), and counts."""

    text: str = ""
    errors: list[RowError] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)
    bytes_read: int = 0
    lines: int = 0
    seconds: float = 0.0  # the worker's time on the chunk, for `ChunkSizer`
    report: Report | None = None


@dataclass(frozen=True)
class LinesTask:
    """A chunk of raw JSONL lines and how to render them; the payload a worker receives."""

    first_line: int
    data: bytes
    count: int
    details: bool = False
    report: bool = False  # also fill a `rewardkit.report.Report` (histograms, slowest rows, examples)

    def __len__(self) -> int:
        return self.count

    def rows(self) -> Iterator[tuple[int, bytes]]:
        """``(line_number, raw_line)`` for each non-blank line."""
        for offset, raw in enumerate(self.data.split(b"\n")[: self.count]):
            if raw.strip():
                yield self.first_line + offset, raw


def score_lines(
    config: CompositionConfig, task: LinesTask, forced: Mapping[tuple[int, int], Score], beat: Heartbeat
) -> LinesResult:
    """Parse, score and render a chunk of JSONL lines (runs inside a worker, or in-process)."""
    started = time.perf_counter()
    out = LinesResult(bytes_read=len(task.data), lines=task.count)
    samples: list[Sample] = []
    raws: list[tuple[bytes, dict[str, Any]]] = []
    numbered: list[tuple[int, Sample]] = []
    for number, raw in task.rows():
        parsed = parse_row(number, raw, config.reference_column)
        if isinstance(parsed, RowError):
            out.errors.append(replace(parsed, raw=raw))
        else:
            samples.append(parsed[0])
            raws.append((raw, parsed[1]))
            numbered.append((number, parsed[0]))
    timings = [0.0] * len(samples) if task.report else None
    results = evaluate_chunk(config, samples, forced, beat, timings)
    lines = []
    for (raw, obj), scored in zip(raws, results, strict=True):
        out.stats.add(scored)
        lines.append(render_line(raw, obj, scored, task.details))
    if timings is not None:
        out.report = Report.for_config(config)
        for (number, sample), seconds, scored in zip(numbered, timings, results, strict=True):
            out.report.add(number, sample.completion, scored, seconds)
    out.text = "".join(line + "\n" for line in lines)
    out.seconds = time.perf_counter() - started
    return out


def render_line(raw: bytes, obj: dict[str, Any], scored: Scored, details: bool) -> str:
    """The input line with the results appended; the input's own bytes are kept when it is safe to."""
    extra: dict[str, Any] = {"rewards": scored.values(), "reward": scored.total}
    if details:
        extra["reward_details"] = {path: s.to_json() for path, s in scored.scores.items()}
    text = raw.decode("utf-8").rstrip()
    if text.endswith("}") and len(obj) > 0 and not any(k in obj for k in OUTPUT_KEYS):
        # Splice rather than re-encode: faster for long completions, and the input stays byte-for-byte.
        return text[:-1] + ", " + _dumps(extra)[1:]
    merged = {k: v for k, v in obj.items() if k not in OUTPUT_KEYS}
    merged.update(extra)
    return _dumps(merged)


def _dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        # A lone surrogate (valid in JSON text, not in UTF-8) or a huge integer: ASCII escapes keep it exact.
        return json.dumps(value, ensure_ascii=True)


def _sweep_stale(directory: Path, name: str) -> None:
    """Remove temporary files a killed run (kill -9) left beside ``name``: their writer's pid is gone."""
    for tmp in directory.glob(f".{glob.escape(name)}.*.tmp"):
        pid_text = tmp.name[len(name) + 2 :].split(".", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                tmp.unlink()
        except PermissionError:
            pass  # alive, someone else's


class AtomicWriter:
    """Write a file under a temporary name and rename it into place on success: never a half file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        directory = self.path.parent if str(self.path.parent) else Path(".")
        _sweep_stale(directory, self.path.name)
        prefix = f".{self.path.name}.{os.getpid()}."
        fd, self._tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; the result should look like any new file
        self.file: IO[str] = os.fdopen(fd, "w", encoding="utf-8")

    def write(self, text: str) -> None:
        self.file.write(text)

    def commit(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        self.file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._tmp)

    def __enter__(self) -> AtomicWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()
