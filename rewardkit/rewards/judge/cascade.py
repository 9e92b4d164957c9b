"""The ``math_verifier`` reward: the ``math`` rule first, a verifier model only where the rule is unsure.

What the rule decides, and whether the model is asked:

| rule says                                   | model asked        | value                                   |
|---------------------------------------------|--------------------|-----------------------------------------|
| equivalent                                  | no                 | 1 (the rule)                            |
| hedged answer ("2 or 3")                    | no                 | 0 (the rule: a hack, never overridden)  |
| not equivalent, both sides read             | if ``ask_on_wrong``| 0, or the model's if ``override_wrong`` |
| cannot tell (no answer found, gold unread, budget overrun, helper failed) | yes | the model's   |

So the model never overrides a definite rule verdict unless configured. ``details`` say which decided
(``source``: rule or verifier), carry both verdicts, and ``disagreement`` is true when the model was asked
and its verdict (>= 0.5 is correct) differs from the rule's; a batch logs how many disagreed, so a
verifier that keeps contradicting the rule shows up. A verifier failure where the rule was definite
keeps the rule's value (the model was only asked for the metric); where the rule could not tell, it
is the verifier's score (masked on an outage, the low value when unreadable).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...params import param
from ...types import Sample, Score, Status
from ..math import MathParams, score_math
from .scoring import check_budget
from .verifier import VerifierParams, verify

log = logging.getLogger("rewardkit.judge")


@dataclass(frozen=True)
class CascadeParams(VerifierParams):
    ask_on_wrong: bool = param(True, "also ask the model when the rule says wrong (to count disagreements)")
    override_wrong: bool = param(False, "let the model turn a definite rule 'wrong' into its own verdict")
    number_fallback: bool = param(True, "math rule: use the last number when no answer marker is found")
    budget_s: float = param(1.0, "math rule: seconds for one symbolic comparison", gt=0)
    max_answer_chars: int = param(1000, "math rule: longer answers cannot be decided by the rule", ge=1)
    max_depth: int = param(12, "math rule: deeper bracket nesting cannot be decided by the rule", ge=1)

    def math(self) -> MathParams:
        return MathParams(self.number_fallback, self.budget_s, self.max_answer_chars, self.max_depth)


def rule_kind(score: Score) -> str:
    """``right``, ``hedged``, ``wrong`` (definite) or ``unsure``."""
    if score.status is Status.OK and score.value == 1.0:
        return "right"
    if score.status is Status.OK and ("hedged" in score.reason or "alternative answer" in score.reason):
        return "hedged"  # the math reward's reasons for a hedge ("hedged answer ...", "an alternative answer")
    if score.status is Status.OK and score.details.get("answer") is not None:
        return "wrong"
    return "unsure"


def cascade_batch(samples: Sequence[Sample], params: CascadeParams) -> list[Score]:
    rules = [score_math(s, params.math()) for s in samples]
    kinds = [rule_kind(r) for r in rules]
    ask_idx = [i for i, k in enumerate(kinds) if k == "unsure" or (k == "wrong" and params.ask_on_wrong)]
    verdicts = dict(zip(ask_idx, verify([samples[i] for i in ask_idx], params), strict=True)) if ask_idx else {}
    out = [_combine(rules[i], kinds[i], verdicts.get(i), params) for i in range(len(samples))]
    disagreed = sum(1 for s in out if s.details.get("disagreement"))
    if ask_idx:
        log.info("math_verifier: asked the verifier on %d of %d; %d disagreed with the rule",
                 len(ask_idx), len(samples), disagreed)  # fmt: skip
    check_budget(out, params)
    return out


def _combine(rule: Score, kind: str, model: Score | None, params: CascadeParams) -> Score:
    details: dict[str, Any] = {"rule": rule.to_json(), "rule_verdict": kind, "source": "rule"}
    if model is None:
        if kind in ("right", "hedged", "wrong"):
            return Score(rule.value, rule.status, f"rule: {rule.reason}", details)
        return Score(rule.value, rule.status, rule.reason, details)  # unreachable: unsure is always asked
    details["verifier"] = model.to_json()
    model_right = None if model.value is None else model.value >= 0.5
    if kind == "wrong":
        details["disagreement"] = bool(model_right)
        if params.override_wrong and model.value is not None:
            details["source"] = "verifier"
            return Score(model.value, Status.OK, f"rule said wrong; verifier overrides: {model.reason}", details)
        return Score.ok(0.0, f"rule: {rule.reason} (verifier: {model.reason})", **details)
    details["source"] = "verifier"
    details["disagreement"] = False  # the rule had no verdict to disagree with
    return Score(model.value, model.status, f"rule could not tell ({rule.reason}); {model.reason}", details)
