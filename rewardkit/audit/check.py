"""`rewardkit check`: a preflight of a training dataset against a config, before any GPU hour is spent.

For each reward that grades against a gold (math, code, judge, plugin rewards that need a reference):

- **gold parses**: the gold answer, used as the completion, is read by the reward (not ``not_applicable``);
- **gold scores the maximum**: that same completion earns the top of the reward's range;
- **a known-wrong answer scores the minimum**: a wrong answer built from the gold (the gold plus one, another
  choice letter, a program that does nothing, "I don't know.") earns the bottom of the range. A dataset
  whose tests pass an empty program, or whose gold matches anything, fails here;
- **columns**: the columns the reward declares, the gold column, and any column whose absence makes the
  reward not apply (code rows without tests) are reported with the rows that lack them.

Rewards that do not grade (format, length) are checked for their declared columns only. A reward builds its
own gold and wrong completions when its spec declares ``gold_completion`` / ``wrong_completion`` (and the
slack its scores may have, ``check_tolerance``, in score units); the builders below serve the rest. Judges may
be noisy, so without a declared tolerance their scores need only come within a fifth of the range of the top
(gold) or bottom (wrong). Each reward is scored alone, without gates, as in the audit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import CompositionConfig, Term
from ..errors import InputError
from ..evaluate import evaluate_chunk
from ..preflight import dont_know, gold_text
from ..types import Completion, Sample, Score, Status
from .runner import solo_config

#: Columns that may hold a reference program, tried in order when the gold column has none.
_CHUNK = 256
_LISTED = 10


@dataclass(frozen=True)
class Row:
    line: int
    data: dict[str, Any]


@dataclass
class RewardCheck:
    """What the preflight found for one reward term; each problem list holds (line, detail)."""

    reward: str
    reward_name: str
    grader: bool
    reads_gold: bool = False
    rows: int = 0
    with_gold: int = 0
    gold_parsed: int = 0
    gold_max: int = 0
    wrong_min: int = 0
    wrong_checked: int = 0
    problems: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    na_lines: set[int] = field(default_factory=set, repr=False)

    def add(self, kind: str, line: int, detail: str) -> None:
        self.problems.setdefault(kind, []).append((line, detail))

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("problems", "na_lines")}
        out["gold_parse_rate"] = self.gold_parsed / self.with_gold if self.with_gold else None
        out["problems"] = {k: [{"line": n, "detail": d} for n, d in v] for k, v in self.problems.items()}
        return out


def read_rows(path: str | Path, limit: int | None = None) -> tuple[list[Row], list[tuple[int, str]]]:
    """The JSON objects of a JSONL dataset (first ``limit``), and the lines that are not objects."""
    rows: list[Row] = []
    bad: list[tuple[int, str]] = []
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            if limit is not None and len(rows) + len(bad) >= limit:
                break
            try:
                obj = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                bad.append((number, f"invalid JSON: {exc}"))
                continue
            if isinstance(obj, dict):
                rows.append(Row(number, obj))
            else:
                bad.append((number, "not a JSON object"))
    return rows, bad


def check_dataset(config: CompositionConfig, rows: Sequence[Row], gold_column: str | None = None
                  ) -> list[RewardCheck]:  # fmt: skip
    """Run every check for every leaf term of ``config`` over ``rows``."""
    if not rows:
        raise InputError("the dataset has no rows to check")
    results = []
    for leaf in config.leaves:
        assert leaf.spec is not None
        # A grader declares how to build its gold completion; a plugin reward that reads a gold is checked
        # with the gold as text.
        grader = leaf.spec.gold_completion is not None or leaf.spec.needs_reference
        result = RewardCheck(leaf.path, leaf.spec.name, grader, leaf.spec.needs_reference, rows=len(rows))
        _check_columns(config, leaf, rows, result)
        if grader:
            for start in range(0, len(rows), _CHUNK):
                _check_scores(config, leaf, rows[start : start + _CHUNK], gold_column, result)
        results.append(result)
    return results


def _check_columns(config: CompositionConfig, leaf: Term, rows: Sequence[Row], result: RewardCheck) -> None:
    assert leaf.spec is not None
    wanted = list(leaf.spec.columns)
    if leaf.spec.needs_reference:
        wanted.append(config.reference_column)
    for row in rows:
        for column in wanted:
            if row.data.get(column) in (None, ""):
                result.add(f"missing column {column!r}", row.line, "absent or empty")
                result.na_lines.add(row.line)  # the reward will not apply: reported once, here


def _check_scores(config: CompositionConfig, leaf: Term, rows: Sequence[Row],
                  gold_column: str | None, result: RewardCheck) -> None:  # fmt: skip
    solo = solo_config(config, leaf)
    golds = [_gold_completion(r.data, config.reference_column, gold_column, leaf) for r in rows]
    wrongs = [_wrong_completion(r.data, config.reference_column, leaf) for r in rows]
    gold_rows = [(r, g) for r, g in zip(rows, golds, strict=True) if g is not None]
    wrong_rows = [(r, w) for r, w in zip(rows, wrongs, strict=True) if w is not None]  # None: none buildable
    samples = [_sample(r.data, g, config.reference_column) for r, g in gold_rows + wrong_rows]
    scores = [s.scores[leaf.path] for s in evaluate_chunk(solo, samples)]
    lo, hi = leaf.output_range()
    tol = _tolerance(leaf, hi - lo)
    for (row, _), score in zip(gold_rows, scores, strict=False):
        _judge_gold(leaf, row, score, hi - tol, result)
    for (row, _), score in zip(wrong_rows, scores[len(gold_rows) :], strict=True):
        _judge_wrong(row, score, lo + tol, result)


def _judge_gold(leaf: Term, row: Row, score: Score, top: float, result: RewardCheck) -> None:
    """A gold the reward cannot match with itself does not parse, for rewards that read the gold; for the
    others (code tests, a judge) the gold is a reference solution that should simply earn the top."""
    result.with_gold += 1
    reads_gold = bool(leaf.spec and leaf.spec.needs_reference)
    if score.status is Status.NOT_APPLICABLE:
        result.add("gold does not parse" if reads_gold else "reward does not apply", row.line, score.reason)
        result.na_lines.add(row.line)
        return
    if score.value is None:
        result.add("error scoring the gold", row.line, f"{score.status.value}: {score.reason}")
        return
    if score.value < top:
        kind = "gold does not parse (it does not match itself)" if reads_gold else "gold does not score the maximum"
        result.add(kind, row.line, f"{score.value:g}: {score.reason}")
        if reads_gold:
            return
    else:
        result.gold_max += 1
    result.gold_parsed += 1


def _judge_wrong(row: Row, score: Score, bottom: float, result: RewardCheck) -> None:
    if score.status is Status.NOT_APPLICABLE:
        if row.line not in result.na_lines:  # already reported from the gold's run
            result.add("reward does not apply", row.line, score.reason)
        return
    result.wrong_checked += 1
    if score.value is None:
        result.add("error scoring a wrong answer", row.line, f"{score.status.value}: {score.reason}")
    elif score.value > bottom:
        result.add("wrong answer scores above the minimum", row.line, f"{score.value:g}: {score.reason}")
    else:
        result.wrong_min += 1


def _tolerance(leaf: Term, width: float) -> float:
    declared = leaf.spec.check_tolerance if leaf.spec is not None else 0.0
    return declared * width if declared > 0 else 1e-9


def _sample(row: Mapping[str, Any], completion: Completion, reference_column: str) -> Sample:
    columns = {k: v for k, v in row.items() if k not in ("prompt", "completion", reference_column)}
    return Sample(completion, row.get("prompt"), row.get(reference_column), columns)


def _gold_completion(row: Mapping[str, Any], ref: str, gold_column: str | None, leaf: Term) -> Completion | None:
    """The reward's own gold builder; rewards that read a gold but declare none get the gold as text."""
    spec = leaf.spec
    assert spec is not None
    build = spec.gold_completion or gold_text
    return build(row, row.get(gold_column or ref), leaf.params)


def _wrong_completion(row: Mapping[str, Any], ref: str, leaf: Term) -> Completion | None:
    spec = leaf.spec
    assert spec is not None
    build = spec.wrong_completion or dont_know
    return build(row, row.get(ref), leaf.params)


def iter_problem_lines(result: RewardCheck) -> Iterator[str]:
    """Human lines for a report: each kind of problem with its count and the first rows."""
    for kind, found in result.problems.items():
        rows = ", ".join(f"line {n}" for n, _ in found[:_LISTED]) + (" ..." if len(found) > _LISTED else "")
        yield f"{kind}: {len(found)} row(s) ({rows}); e.g. {found[0][1][:160]}"
