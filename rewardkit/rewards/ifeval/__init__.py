"""``ifeval``: verifiable instruction following, IFEval's 25 instruction kinds (Zhou et al. 2023) and the 18
rule-checkable kinds of IFBench (Pyatkin et al. 2025; ids such as ``count:word_count_range``, see `ifbench`).

Each row carries its constraints the way the IFEval dataset does: ``instruction_id_list`` (ids such as
``length_constraints:number_words``) and ``kwargs`` (a list of dicts aligned with the ids; ``None`` values,
which the Hugging Face copy of the dataset fills in for absent keys, are dropped, as IFEval does). Either
column may also be a JSON string. The value is the fraction of instructions followed (IFEval's
instruction-level accuracy) or, with ``score: all``, 1 only when every one is (prompt-level accuracy).

Modes, as in the paper: ``strict`` checks the response as written; ``loose`` counts an instruction as
followed when any of eight variants follows it: the response, without its first line, without its last
line, without both, and each of those with every ``*`` removed (markdown emphasis). An empty response
follows nothing.

Reasoning models write a ``<think>`` block first: with ``strip_reasoning`` (default) only the text after
the first ``</think>`` is checked (what a user sees), and a completion whose ``<think>`` never closes has
no response at all, so a truncated reasoning trace cannot satisfy "answer in under 50 words".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ...errors import ConfigError, did_you_mean
from ...hookspecs import hookimpl
from ...params import param
from ...types import Completion, RewardSpec, Sample, Score
from ..format import visible
from .checks import CHECKS, KwargsError
from .ifbench import IFBENCH_CHECKS

__all__ = ["ALL_CHECKS", "CHECKS", "IFBENCH_CHECKS", "IfevalParams", "loose_variants", "response_text", "score_ifeval"]

#: Every instruction id this reward checks: IFEval's and IFBench's (their ids do not overlap).
ALL_CHECKS = {**CHECKS, **IFBENCH_CHECKS}


@dataclass(frozen=True)
class IfevalParams:
    mode: Literal["strict", "loose"] = param("strict", "strict: the response as written; loose: IFEval's 8 variants")
    score: Literal["fraction", "all"] = param(
        "fraction", "fraction: share of instructions followed; all: 1 only when every instruction is followed"
    )
    ids_column: str = param("instruction_id_list", "column holding the instruction ids")
    kwargs_column: str = param("kwargs", "column holding the kwargs, one dict per instruction id")
    strip_reasoning: bool = param(True, "check only the text after the first </think> (none if it never closes)")
    undetected_language: Literal["fail", "pass"] = param(
        "fail",
        "verdict of the language and English-case checks when langdetect cannot read the text (digits, "
        "symbols); IFEval counts it as followed ('pass' reproduces its numbers)",
    )


def response_text(text: str, strip_reasoning: bool) -> str:
    """The part of a completion the instructions apply to (see the module docstring)."""
    if not strip_reasoning:
        return text
    end = text.find("</think>")
    if end >= 0:
        return text[end + len("</think>") :]
    return "" if "<think>" in text else text


def loose_variants(response: str) -> list[str]:
    """IFEval's loose variants of a response, the response itself first."""
    lines = response.split("\n")
    cut = ["\n".join(lines[1:]).strip(), "\n".join(lines[:-1]).strip(), "\n".join(lines[1:-1]).strip()]
    return [response, response.replace("*", ""), *cut, *(c.replace("*", "") for c in cut)]


def _as_list(value: Any, column: str) -> list[Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise KwargsError(f"column {column!r} is a string that is not JSON: {value[:80]!r}") from None
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise KwargsError(f"column {column!r} must be a list, got {type(value).__name__}")
    return list(value)


def constraints(columns: Mapping[str, Any], params: IfevalParams) -> list[tuple[str, dict[str, Any]]]:
    """The row's (instruction id, kwargs) pairs; `KwargsError` says what is malformed."""
    ids = _as_list(columns.get(params.ids_column), params.ids_column)
    raw = columns.get(params.kwargs_column)
    kwargs = _as_list(raw, params.kwargs_column) if raw is not None else [{} for _ in ids]
    if len(kwargs) != len(ids):
        raise KwargsError(f"{len(ids)} instruction ids but {len(kwargs)} kwargs entries; they must align")
    out = []
    for ident, kw in zip(ids, kwargs, strict=True):
        if not isinstance(ident, str) or ident not in ALL_CHECKS:
            hint = did_you_mean(str(ident), ALL_CHECKS)
            raise KwargsError(f"unknown instruction id {ident!r}.{hint} Known: IFEval's 25 ids and 18 of IFBench's")
        if kw is not None and not isinstance(kw, Mapping):
            raise KwargsError(f"kwargs of {ident!r} must be a dict, got {kw!r}")
        out.append((ident, {k: v for k, v in (kw or {}).items() if v is not None}))
    return out


def score_ifeval(sample: Sample, params: IfevalParams) -> Score:
    if sample.columns.get(params.ids_column) in (None, "", []):
        return Score.not_applicable(f"the row has no instructions in column {params.ids_column!r}")
    try:
        pairs = constraints(sample.columns, params)
        followed = _followed(response_text(sample.text, params.strip_reasoning), pairs, params)
    except KwargsError as exc:
        return Score.not_applicable(f"the row's instructions are malformed: {exc}")
    done = sum(followed)
    value = done / len(followed) if params.score == "fraction" else float(done == len(followed))
    missed = [ident for (ident, _), ok in zip(pairs, followed, strict=True) if not ok]
    reason = f"{done} of {len(followed)} instructions followed ({params.mode})"
    if missed:
        reason += "; not: " + ", ".join(missed[:5]) + (" ..." if len(missed) > 5 else "")
    return Score.ok(value, reason, followed=followed, instructions=[ident for ident, _ in pairs])


def _followed(response: str, pairs: Sequence[tuple[str, dict[str, Any]]], params: IfevalParams) -> list[bool]:
    variants = loose_variants(response) if params.mode == "loose" else [response]
    # IFEval: an empty (variant of a) response follows nothing. "Empty" here also covers zero-width spaces and
    # other invisible characters, which str.strip() keeps: they would satisfy "no commas" with nothing to read.
    variants = [v for v in variants if visible(v)]
    undetected = params.undetected_language == "pass"
    return [any(ALL_CHECKS[ident](v, kw, undetected) for v in variants) for ident, kw in pairs]


def _gold(row: Mapping[str, Any], reference: Any, params: IfevalParams) -> Completion | None:
    """A reference response when the row has one (``response`` column or the reference); IFEval has none."""
    for value in (reference, row.get("response")):
        if isinstance(value, str) and value.strip():
            return value
    return None


def _wrong(row: Mapping[str, Any], reference: Any, params: IfevalParams) -> Completion:
    return ""  # an empty response follows no instruction


def _validate(params: IfevalParams) -> None:
    if params.ids_column == params.kwargs_column:
        raise ConfigError(
            f"ifeval: ids_column and kwargs_column are both {params.ids_column!r}; IFEval rows keep the ids "
            "in 'instruction_id_list' and their arguments in 'kwargs'"
        )


@hookimpl
def register_rewards(register: Callable[[RewardSpec], None]) -> None:
    register(
        RewardSpec(
            name="ifeval",
            description="Instruction following (IFEval's 25 kinds, 18 of IFBench's): share of the row's instructions "
            "(instruction_id_list + kwargs) the response follows, strict or loose; or all-or-nothing.",
            params=IfevalParams,
            range=(0.0, 1.0),
            fn=score_ifeval,
            timeout_s=10.0,
            family="ifeval",
            gold_completion=_gold,
            wrong_completion=_wrong,
            validate=_validate,
            cost="cheap",
        )
    )
