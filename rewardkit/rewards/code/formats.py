"""Test formats, recognised from a row's columns, turned into runs for an executor.

- HumanEval: ``test`` (defines ``check(candidate)``) and ``entry_point``;
- MBPP: ``test_list`` (assert statements) and optional ``test_setup_code``;
- stdin/stdout: ``tests: [{"input": ..., "output": ...}]``;
- APPS/TACO: ``input_output: {"inputs": [...], "outputs": [...], "fn_name"?}`` (often a JSON string).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .executor import Limits, Run


class NoTests(ValueError):
    """The row carries no test format this reward knows (the reward does not apply)."""


@dataclass(frozen=True)
class Plan:
    """The runs that grade one program, and what each must produce.

    ``kind`` is the format's name; ``expected[i]`` belongs to ``runs[i]``: for ``script`` the number of
    tests inside the run, for ``stdio`` the expected stdout, for ``call`` the expected return value.
    """

    kind: str
    runs: tuple[Run, ...]
    expected: tuple[Any, ...]

    @property
    def n_tests(self) -> int:
        if self.kind in ("humaneval", "mbpp"):
            return sum(int(n) for n in self.expected)
        return len(self.runs)


def _maybe_json(value: Any, column: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise NoTests(f"column {column!r} is a string but not JSON ({exc})") from None
    return value


def build_plan(
    columns: Mapping[str, Any], code: str, language: str, limits: Limits, max_tests: int, prompt: str = ""
) -> Plan:
    """Match the row's columns to a format; raise `NoTests` when none fits."""
    if language != "python" and not ({"tests", "input_output"} & set(columns)):
        raise NoTests(f"language {language!r} supports stdin/stdout tests only ('tests' or 'input_output')")
    if columns.get("test") and columns.get("entry_point"):
        return _humaneval(columns, code, limits, prompt)
    if columns.get("test_list"):
        return _mbpp(columns, code, limits, max_tests)
    if columns.get("tests"):
        return _stdio(_maybe_json(columns["tests"], "tests"), code, language, limits, max_tests)
    if columns.get("input_output"):
        return _apps(_maybe_json(columns["input_output"], "input_output"), code, language, limits, max_tests)
    raise NoTests(
        "no test columns found; expected 'test'+'entry_point' (HumanEval), 'test_list' (MBPP), "
        "'tests' (stdin/stdout) or 'input_output' (APPS/TACO)"
    )


def _humaneval(columns: Mapping[str, Any], code: str, limits: Limits, prompt: str) -> Plan:
    entry = str(columns["entry_point"])
    # Base models complete the body only: the signature then lives in the prompt.
    if f"def {entry}" not in code and f"def {entry}" in prompt:
        code = prompt + code
    run = Run(code=code, mode="script", setup=str(columns["test"]), tests=(f"check({entry})",), limits=limits)
    return Plan("humaneval", (run,), (1,))


def _mbpp(columns: Mapping[str, Any], code: str, limits: Limits, max_tests: int) -> Plan:
    tests = columns["test_list"]
    if isinstance(tests, str):
        tests = [tests]
    tests = tuple(str(t) for t in tests)[:max_tests]
    setup = str(columns.get("test_setup_code") or "")
    return Plan(
        "mbpp", (Run(code=code, mode="script", setup=setup, tests=tests, limits=limits),), (len(tests),)
    )


def _stdio(tests: Any, code: str, language: str, limits: Limits, max_tests: int) -> Plan:
    if not isinstance(tests, Sequence) or not all(isinstance(t, Mapping) for t in tests):
        raise NoTests("column 'tests' must be a list of {'input': ..., 'output': ...}")
    cases = [(str(t.get("input", "")), str(t.get("output", ""))) for t in tests][:max_tests]
    return _stdio_plan(cases, code, language, limits, "stdio")


def _stdio_plan(
    cases: Sequence[tuple[str, str]], code: str, language: str, limits: Limits, kind: str
) -> Plan:
    if not cases:
        raise NoTests("the row's test list is empty")
    runs = tuple(Run(code=code, mode="stdio", language=language, stdin=i, limits=limits) for i, _ in cases)
    return Plan(kind, runs, tuple(o for _, o in cases))


def _apps(io: Any, code: str, language: str, limits: Limits, max_tests: int) -> Plan:
    if not isinstance(io, Mapping) or "inputs" not in io or "outputs" not in io:
        raise NoTests("column 'input_output' must hold {'inputs': [...], 'outputs': [...]}")
    inputs, outputs = list(io["inputs"])[:max_tests], list(io["outputs"])[:max_tests]
    if len(inputs) != len(outputs):
        raise NoTests(f"'input_output' has {len(io['inputs'])} inputs but {len(io['outputs'])} outputs")
    fn_name = io.get("fn_name")
    if not fn_name:
        cases = [(_joined(i), _joined(o)) for i, o in zip(inputs, outputs, strict=True)]
        return _stdio_plan(cases, code, language, limits, "apps_stdio")
    if language != "python":
        raise NoTests("call-based tests ('fn_name') need Python")
    runs = tuple(
        Run(
            code=code,
            mode="call",
            fn_name=str(fn_name),
            args=tuple(a if isinstance(a, list) else [a]),
            limits=limits,
        )
        for a in inputs
    )
    if not runs:
        raise NoTests("the row's test list is empty")
    return Plan("apps_call", runs, tuple(outputs))


def _joined(value: Any) -> str:
    # APPS stores some stdin/stdout cases as lists of lines.
    return "\n".join(map(str, value)) if isinstance(value, list) else str(value)
