"""From an executor's outcomes to a score. Every backend is judged here, the same way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...types import Score
from .compare import outputs_match, values_match
from .executor import Outcome
from .formats import Plan


def _verdicts(plan: Plan, outcomes: Sequence[Outcome], float_tol: float) -> list[bool]:
    if plan.kind in ("humaneval", "mbpp"):
        out: list[bool] = []
        for n, outcome in zip(plan.expected, outcomes, strict=True):
            # No token, no pass: a program that ended the run itself proved nothing.
            results = list(outcome.results) if outcome.verified else []
            out += [results[i] is True if i < len(results) else False for i in range(int(n))]
        return out
    if plan.kind == "apps_call":
        return [_call_passed(o, want, float_tol) for o, want in zip(outcomes, plan.expected, strict=True)]
    return [o.exited_cleanly and outputs_match(o.stdout, str(want), float_tol)
            for o, want in zip(outcomes, plan.expected, strict=True)]  # fmt: skip


def _call_passed(outcome: Outcome, want: Any, float_tol: float) -> bool:
    if not (outcome.verified and outcome.exited_cleanly and outcome.results):
        return False
    result = outcome.results[0]
    return (
        isinstance(result, dict)
        and result.get("ok") is True
        and values_match(result.get("value"), want, float_tol)
    )


def _why(outcome: Outcome) -> str:
    if outcome.timed_out:
        return f"ran out of time ({outcome.cpu_s:.2f} s CPU, {outcome.wall_s:.2f} s wall)"
    if outcome.signal is not None:
        return f"killed by signal {outcome.signal}"
    if outcome.exit_code not in (0, None):
        return f"exited with status {outcome.exit_code}"
    if not outcome.verified and outcome.exit_code is not None:
        return "ended before the tests finished (no proof of completion)"
    return "wrong result"


def grade(plan: Plan, outcomes: Sequence[Outcome], binary: bool, float_tol: float, executor: str) -> Score:
    isolation = outcomes[0].isolation if outcomes else ""
    broken = next((o for o in outcomes if o.infra_error), None)
    if broken is not None:
        return Score.error(f"sandbox failure: {broken.infra_error}", isolation=isolation, executor=executor)
    verdicts = _verdicts(plan, outcomes, float_tol)
    passed, total = sum(verdicts), len(verdicts)
    value = (1.0 if passed == total else 0.0) if binary else passed / total
    details: dict[str, Any] = {
        "format": plan.kind, "passed": passed, "total": total, "isolation": isolation, "executor": executor,
        "cpu_s": round(sum(o.cpu_s for o in outcomes), 4),
    }  # fmt: skip
    failed = [o for o in outcomes if not o.exited_cleanly or not o.verified] or list(outcomes)
    if passed < total:
        details["stderr"] = failed[0].stderr[-500:]
    reason = f"passed {passed} of {total} {plan.kind} tests"
    if passed < total:
        reason += f"; first failing run {_why(failed[0])}"
    if passed == 0 and outcomes and all(o.timed_out for o in outcomes):
        return Score.timeout(0.0, reason, **details)
    return Score.ok(value, reason, **details)
