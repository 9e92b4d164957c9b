"""The ``code`` reward: run the completion's program against the row's tests in a sandbox.

The value is the fraction of tests passed (``mode: fraction``) or 1/0 (``mode: binary``). Programs run in
the local hardened sandbox (`sandbox/`) unless a plugin supplies another executor through
`make_code_reward`. An executor that cannot run is an infrastructure fault: the score is null, never 0.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ...hookspecs import hookimpl
from ...params import param
from ...types import RewardSpec, Sample, Score, prompt_text
from .executor import Executor, Limits, Run
from .extract import extract_code
from .formats import NoTests, Plan, build_plan
from .preflight import empty_program, reference_program

__all__ = ["CodeParams", "make_code_reward", "register_rewards", "score_batch"]


@dataclass(frozen=True)
class CodeParams:
    mode: Literal["fraction", "binary"] = param("fraction", "fraction of tests passed, or 1 only if all pass")
    language: Literal["python", "cpp"] = param(
        "python", "language of the program (cpp: g++, stdin/stdout tests)"
    )
    bare_code: bool = param(False, "treat a completion without a fenced block as the program itself")
    cpu_s: float = param(4.0, "CPU seconds per run (judged on CPU time, not wall time)", gt=0, le=300)
    wall_s: float = param(0.0, "wall-clock backstop per run in seconds; 0 = 3 x cpu_s + 2", ge=0)
    memory_mb: int = param(1024, "address-space limit per run, MiB", ge=64)
    output_kb: int = param(4096, "largest stdout a run may write, KiB", ge=1)
    float_tol: float = param(0.0, "relative tolerance for numbers in outputs; 0 = exact", ge=0)
    max_tests: int = param(50, "grade at most this many tests per row", ge=1)
    slots: int = param(0, "programs run at once per worker process; 0 = one per CPU", ge=0)
    bubblewrap: bool = param(True, "wrap the sandbox in bubblewrap namespaces when bwrap is installed")
    allow_unisolated: bool = param(False, "run programs even where the machine offers no isolation (unsafe)")

    def limits(self) -> Limits:
        return Limits(self.cpu_s, self.wall_s, self.memory_mb, self.output_kb << 10)


def local_executor(params: Any) -> Executor:
    from .sandbox.client import get_executor

    return get_executor(params.slots, params.allow_unisolated, params.bubblewrap)


def _plan(sample: Sample, params: Any) -> Plan | Score:
    code = extract_code(sample.text, params.language, params.bare_code)
    try:
        # The tests first: a row without tests is not_applicable, whatever the completion holds.
        plan = build_plan(sample.columns, code or "", params.language, params.limits(), params.max_tests,
                          prompt_text(sample.prompt))  # fmt: skip
    except NoTests as exc:
        return Score.not_applicable(str(exc))
    if code is None:
        return Score.ok(0.0, f"no ```{params.language} code block in the completion", passed=0)
    return plan


_rows = itertools.count()


def _with_row(plan: Plan | Score) -> Plan | Score:
    if isinstance(plan, Score):
        return plan
    row = next(_rows)
    return dataclasses.replace(plan, runs=tuple(dataclasses.replace(r, row=row) for r in plan.runs))


def score_batch(
    samples: Sequence[Sample], params: Any, executor_factory: Callable[[Any], Executor] = local_executor
) -> list[Score]:
    """Plan every sample, run all programs together (the executor spreads them), then grade each."""
    from .grade import grade

    plans = [_with_row(_plan(s, params)) for s in samples]
    runs: list[Run] = [r for p in plans if isinstance(p, Plan) for r in p.runs]
    if not runs:
        return [p for p in plans if isinstance(p, Score)]
    try:
        executor = executor_factory(params)
        outcomes = executor.run_many(runs)
        name = executor.name
    except Exception as exc:  # the sandbox could not start: infrastructure, never the completion's fault
        error = Score.error(f"sandbox unavailable: {type(exc).__name__}: {exc}")
        return [error if isinstance(p, Plan) else p for p in plans]
    scores, at = [], 0
    for p in plans:
        if isinstance(p, Score):
            scores.append(p)
            continue
        mine = outcomes[at : at + len(p.runs)]
        at += len(p.runs)
        scores.append(grade(p, mine, params.mode == "binary", params.float_tol, name))
    return scores


#: What every code reward (local or remote) declares: audit family, preflight builders, cost, what it reads.
_DECLARED: dict[str, Any] = {
    "family": "code", "cost": "process", "gold_completion": reference_program, "wrong_completion": empty_program,
    "reads": "one test format per row: 'tests' (stdin/stdout list), 'input_output' (APPS, with optional "
             "'fn_name'), 'test' + 'entry_point' (HumanEval), 'test_list' (+ 'test_setup_code', MBPP)",
}


def make_code_reward(
    name: str, description: str, params: type, executor_factory: Callable[[Any], Executor]
) -> RewardSpec:
    """A code reward on another executor (remote plugins): same formats, same grading, same policy.

    ``params`` should subclass `CodeParams`; ``executor_factory`` must be a module-level function.
    """
    return RewardSpec(name=name, description=description, params=params, range=(0.0, 1.0),
                      batch_fn=functools.partial(score_batch, executor_factory=executor_factory),
                      timeout_s=120.0, **_DECLARED)  # fmt: skip


@hookimpl
def register_rewards(register: Callable[[RewardSpec], None]) -> None:
    register(RewardSpec(
        name="code",
        description="Fraction of the row's tests (HumanEval, MBPP, stdin/stdout, APPS) the program passes, "
                    "run in a hardened local sandbox.",
        params=CodeParams, range=(0.0, 1.0), batch_fn=score_batch, timeout_s=120.0, **_DECLARED,
    ))  # fmt: skip
