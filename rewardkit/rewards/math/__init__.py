"""The ``math`` reward: does the completion's final answer equal the gold answer?

Registered through the public plugin hook like any plugin. Importing this module is cheap: sympy and
math-verify load only in the helper process (`budget`), and only when an answer needs them.
See `extract` for the answer precedence, `compare` for the order of the paths, `numeric` and
`structure` (with `algebra`, `latex`, `answers`) for the exact fast path, `symbolic` for the fixes over
math-verify, `budget` for the time bound that works in any thread or process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...hookspecs import hookimpl
from ...params import param
from ...types import RewardSpec, Sample, Score
from .preflight import boxed_gold, wrong_answer

if TYPE_CHECKING:
    from .compare import Limits, Verdict


@dataclass(frozen=True)
class MathParams:
    number_fallback: bool = param(True, "use the last number when no answer marker (boxed, ...) is found")
    budget_s: float = param(1.0, "seconds for one symbolic comparison before it scores 0 (timeout)", gt=0)
    max_answer_chars: int = param(1000, "longer answers score 0 (timeout) before any parser runs", ge=1)
    max_depth: int = param(12, "deeper bracket nesting scores 0 (timeout) before any parser runs", ge=1)

    def limits(self) -> Limits:
        from .compare import Limits  # the readers load on first use, not when the registry imports us

        return Limits(self.number_fallback, self.budget_s, self.max_answer_chars, self.max_depth)


def verdict_score(verdict: Verdict) -> Score:
    """The policy: unreadable gold -> not_applicable; overrun -> timeout with 0; else 1 or 0, status ok."""
    details: dict[str, Any] = {"answer": verdict.answer, "gold_parse": verdict.gold_parse,
                               "answer_parse": verdict.answer_parse, "path": verdict.path}
    if verdict.status == "not_applicable" or verdict.equivalent is None:
        return Score.not_applicable(verdict.reason, **details)
    if verdict.status == "timeout":
        return Score.timeout(0.0, verdict.reason, **details)
    return Score.ok(1.0 if verdict.equivalent else 0.0, verdict.reason, **details)


def score_math(sample: Sample, params: MathParams) -> Score:
    gold = sample.reference
    if gold is None or not str(gold).strip():
        return Score.not_applicable("no gold answer in this row")
    from .budget import HelperError
    from .compare import check

    try:
        verdict = check(str(gold), sample.text, params.limits())
    except HelperError as exc:
        return Score.error(f"math helper process failed: {exc}")
    return verdict_score(verdict)


@hookimpl
def register_rewards(register: Callable[[RewardSpec], None]) -> None:
    register(
        RewardSpec(
            name="math",
            description="1 if the final answer (boxed, <answer>, 'the answer is', ####) equals the gold",
            params=MathParams,
            range=(0.0, 1.0),
            fn=score_math,
            needs_reference=True,
            timeout_s=30.0,
            family="math",
            gold_completion=boxed_gold,
            wrong_completion=wrong_answer,
        )
    )


@hookimpl
def register_commands(cli: Any) -> None:
    from .cli import add_verify_command

    add_verify_command(cli)
