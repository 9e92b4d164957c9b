"""Scoring a chunk of samples with a composition: the pure core shared by in-process and worker scoring.

Terms are computed column by column (one term across the chunk, then the next), in dependency order, so
gates and term-reading rewards see the scores they need and batch rewards see the whole chunk.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .config import CompositionConfig, Term, combine_parts
from .faults import report_bug
from .types import Sample, Score, Status

#: Called before each (item, leaf) is computed; item -1 means "the whole chunk" (batch rewards).
Heartbeat = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Scored:
    """One sample's result: the weighted total and every term's score (groups included), by dotted path."""

    total: float | None
    scores: Mapping[str, Score]

    def values(self) -> dict[str, float | None]:
        return {path: s.value for path, s in self.scores.items()}

    def __reduce__(self) -> tuple[Any, ...]:
        return (Scored, (self.total, self.scores))  # cheaper than slots-dataclass state (see Sample)


def no_beat(item: int, leaf: int) -> None:
    """The heartbeat of in-process scoring: nobody watches, so nothing to publish."""
    return None


def evaluate_chunk(
    config: CompositionConfig,
    samples: Sequence[Sample],
    forced: Mapping[tuple[int, int], Score] | None = None,
    beat: Heartbeat = no_beat,
    seconds: list[float] | None = None,
) -> list[Scored]:
    """Score ``samples``; ``forced[(item, leaf)]`` replaces a computation (a timeout the runner enforced).

    ``seconds``, when given (one 0.0 per sample), receives each sample's scoring time, for reports.
    """
    forced = forced or {}
    per_sample: list[dict[str, Score]] = [{} for _ in samples]
    for j, leaf in enumerate(config.leaves):
        started = time.perf_counter()
        if leaf.spec is not None and leaf.spec.batch_fn is not None:
            _run_batch(leaf, j, samples, per_sample, forced, beat)
            if seconds is not None and samples:
                share = (time.perf_counter() - started) / len(samples)  # a batch is timed as a whole
                for i in range(len(samples)):
                    seconds[i] += share
        else:
            _run_each(leaf, j, samples, per_sample, forced, beat, seconds)
    return [_finish(config, scores) for scores in per_sample]


def _run_each(
    leaf: Term,
    j: int,
    samples: Sequence[Sample],
    per_sample: list[dict[str, Score]],
    forced: Mapping[tuple[int, int], Score],
    beat: Heartbeat,
    seconds: list[float] | None = None,
) -> None:
    # The hot loop: thousands of samples per second per term, so everything per-leaf is hoisted out of it.
    spec = leaf.spec
    assert spec is not None and spec.fn is not None
    fn, params, path = spec.fn, leaf.params, leaf.path
    lo, hi = leaf.output_range()
    lo, hi = lo - 1e-9, hi + 1e-9
    prechecks = leaf.gate is not None or spec.needs_reference or bool(spec.columns)
    reads_terms = bool(spec.term_params)
    for i, sample in enumerate(samples):
        done = per_sample[i]
        score = (forced.get((i, j)) or forced.get((-1, j))) if forced else None
        if score is None and prechecks:
            score = _precheck(leaf, sample, done)
        if score is None:
            beat(i, j)
            started = time.perf_counter() if seconds is not None else 0.0
            try:
                score = fn(sample.with_terms(dict(done)) if reads_terms else sample, params)
            except Exception as exc:
                score = _crash(leaf, exc)
            else:
                if type(score) is not Score or (score.value is not None and not lo <= score.value <= hi):
                    score = _checked(leaf, score)
            if seconds is not None:
                seconds[i] += time.perf_counter() - started
        done[path] = score


def _run_batch(
    leaf: Term,
    j: int,
    samples: Sequence[Sample],
    per_sample: list[dict[str, Score]],
    forced: Mapping[tuple[int, int], Score],
    beat: Heartbeat,
) -> None:
    todo: list[int] = []
    for i, sample in enumerate(samples):
        pre = forced.get((i, j)) or forced.get((-1, j)) or _precheck(leaf, sample, per_sample[i])
        if pre is None:
            todo.append(i)
        else:
            per_sample[i][leaf.path] = pre
    if not todo:
        return
    beat(-1, j)
    assert leaf.spec is not None and leaf.spec.batch_fn is not None
    batch = [_with_terms(leaf, samples[i], per_sample[i]) for i in todo]
    try:
        results = list(leaf.spec.batch_fn(batch, leaf.params))
        if len(results) != len(batch):
            raise ValueError(f"returned {len(results)} scores for {len(batch)} samples")
    except Exception as exc:
        results = [_crash(leaf, exc)] * len(batch)
    for i, score in zip(todo, results, strict=True):
        per_sample[i][leaf.path] = _checked(leaf, score)


def _precheck(leaf: Term, sample: Sample, done: Mapping[str, Score]) -> Score | None:
    """A score decided without calling the reward: a closed gate, or a missing column or gold answer."""
    spec = leaf.spec
    assert spec is not None
    # What the row lacks first: a term that cannot apply to a row is n/a, even behind a closed gate (else a
    # row without a gold that fails the format gate would count as a real 0 of the gated term).
    if spec.needs_reference and (sample.reference is None or sample.reference == ""):
        return Score.not_applicable("the row has no reference answer")
    for column in spec.columns:
        if column not in sample.columns or sample.columns[column] is None:
            return Score.not_applicable(f"the row has no {column!r} column")
    if leaf.gate is not None:
        return _gate_verdict(leaf, done)
    return None


def _gate_verdict(leaf: Term, done: Mapping[str, Score]) -> Score | None:
    gate = leaf.gate
    assert gate is not None
    score = done.get(gate.term)
    if score is None or score.status is Status.NOT_APPLICABLE:
        return None  # the gate does not apply to this row: the term is computed as usual
    if score.value is None:
        return Score.error(f"gate {gate.term!r} failed ({score.status.value}): {score.reason}")
    if score.value < gate.min:
        return Score.ok(gate.value, f"gated: {gate.term} = {score.value:g} < {gate.min:g}", gated=True)
    return None


def _with_terms(leaf: Term, sample: Sample, done: dict[str, Score]) -> Sample:
    # Copy only for rewards that read other terms: most rewards never look, and this is the hot path.
    if leaf.spec is not None and leaf.spec.term_params:
        return sample.with_terms(dict(done))
    return sample


def _crash(leaf: Term, exc: BaseException) -> Score:
    """A reward that raised: a bug in the reward, told apart from an outage; the traceback is logged once."""
    report_bug(leaf.path, exc)
    return Score.bug(f"reward {leaf.path!r} raised {type(exc).__name__}: {exc}")


def _checked(leaf: Term, score: Any) -> Score:
    """Guard the contract: a reward that returns garbage or leaves its range is a bug, reported as error."""
    if not isinstance(score, Score):
        return Score.bug(f"reward {leaf.path!r} returned {type(score).__name__}, not a rewardkit.Score")
    if score.value is not None:
        lo, hi = leaf.output_range()
        if not lo - 1e-9 <= score.value <= hi + 1e-9:
            return Score.bug(f"reward {leaf.path!r} returned {score.value} outside its range [{lo}, {hi}]")
    return score


def _finish(config: CompositionConfig, scores: dict[str, Score]) -> Scored:
    """Add group scores (bottom-up) and the total to the leaves' scores, in declaration order."""
    if config.is_flat:
        total, _ = _combine(config.terms, config.aggregate, config.on_null, scores, None)
        return Scored(total, scores)
    ordered: dict[str, Score] = {}
    total, _ = _combine(config.terms, config.aggregate, config.on_null, scores, ordered)
    return Scored(total, ordered)


def _combine(
    terms: Sequence[Term], aggregate: str, on_null: str, leaves: dict[str, Score], out: dict[str, Score] | None
) -> tuple[float | None, str]:
    """The aggregate value of ``terms`` (or None) and, when None, why; fills ``out`` with every term's score."""
    weighted: list[float] = []
    weights: list[float] = []
    masked: list[str] = []
    for term in terms:
        if term.is_group:
            assert out is not None
            out[term.path] = _PLACEHOLDER  # keeps parents before children in the output
            value, why = _combine(term.children, term.aggregate, on_null, leaves, out)
            score = _group_score(value, why)
            out[term.path] = score
        else:
            score = leaves[term.path]
            if out is not None:
                out[term.path] = score
        if term.weight == 0 or score.status is Status.NOT_APPLICABLE:
            continue  # metric-only terms and terms that do not apply to the row are not summed
        if score.value is None:
            masked.append(term.path)
        else:
            weighted.append(term.weight * score.value)
            weights.append(term.weight)
    if masked and on_null == "propagate":
        return None, f"masked because {', '.join(masked)} failed"
    if not weighted:
        return None, _NOTHING_APPLIES
    return _aggregate(weighted, weights, aggregate), ""


def applicable_range(config: CompositionConfig, scored: Scored) -> tuple[float, float]:
    """The range the total could take on this row: terms that did not apply are dropped, as `_combine` drops them.

    Why: a composition of math and code has range [0, 2], but a math row can total at most 1; rescaling by
    the whole range would cap a perfect math answer at 0.5 (OpenRLHF's dynamic filtering reads [0, 1]).
    """
    return _applicable(config.terms, config.aggregate, scored.scores)


def _applicable(terms: Sequence[Term], aggregate: str, scores: Mapping[str, Score]) -> tuple[float, float]:
    parts: list[tuple[float, tuple[float, float]]] = []
    for term in terms:
        score = scores.get(term.path)
        if term.weight == 0 or (score is not None and score.status is Status.NOT_APPLICABLE):
            continue
        span = _applicable(term.children, term.aggregate, scores) if term.is_group else term.output_range()
        parts.append((term.weight, span))
    return combine_parts(parts, aggregate)


_PLACEHOLDER = Score.ok(0.0)
_NOTHING_APPLIES = "no weighted term applies to this row"


def _group_score(value: float | None, why: str) -> Score:
    if value is not None:
        return Score.ok(value)
    return Score.not_applicable(why) if why == _NOTHING_APPLIES else Score.error(why)


def _aggregate(weighted: list[float], weights: list[float], how: str) -> float:
    if how == "sum":
        return sum(weighted)
    if how == "mean":
        return sum(weighted) / sum(abs(w) for w in weights)
    return min(weighted) if how == "min" else max(weighted)
