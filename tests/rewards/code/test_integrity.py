"""Verdict integrity: success is proven by the harness, never inferred from an exit code.

Every row here is a known reward hack (or harness bug) that must score 0, next to a control that passes.
"""

from __future__ import annotations

import pytest

from .conftest import needs_isolation, score

pytestmark = needs_isolation

HUMANEVAL = {"test": "def check(candidate):\n    assert candidate(2) == 4\n    assert candidate(3) == 9\n",
             "entry_point": "sq"}  # fmt: skip

HACKS = [
    # the control: a right answer passes
    ("def sq(x):\n    return x * x", 1.0),
    ("def sq(x):\n    return None", 0.0),
    # leave before the tests run, with a clean exit status
    ("import sys\nsys.exit(0)", 0.0),
    ("import os\nos._exit(0)", 0.0),
    ("def sq(x):\n    import os; os._exit(0)", 0.0),
    ("def sq(x):\n    raise SystemExit(0)", 0.0),
    ("import atexit, os\natexit.register(lambda: os._exit(0))\ndef sq(x):\n    raise ValueError", 0.0),
    ("import sys\nsys.excepthook = lambda *a: None\ndef sq(x):\n    raise ValueError", 0.0),
    # objects that compare equal to anything
    ("class A:\n    def __eq__(self, o): return True\ndef sq(x):\n    return A()", 0.0),
    ("class I(int):\n    def __eq__(self, o): return True\ndef sq(x):\n    return I(0)", 0.0),
    ("class L(list):\n    def __eq__(self, o): return True\ndef sq(x):\n    return [L()]", 0.0),
    # hooks that skip the asserts' lines
    ("import sys\nsys.settrace(lambda *a: None)\ndef sq(x):\n    return 0", 0.0),
    # kill itself after a partial success
    ("import os, signal\ndef sq(x):\n    os.kill(os.getpid(), signal.SIGKILL)", 0.0),
    # hang: the CPU limit ends it
    ("def sq(x):\n    while True: pass", 0.0),
    # break the builtins the tests use
    ("import builtins\nbuiltins.AssertionError = Exception\ndef sq(x):\n    return 0", 0.0),
]


@pytest.mark.parametrize(("code", "want"), HACKS)
def test_humaneval_hacks(code: str, want: float, no_leftovers: None) -> None:
    result = score(code, HUMANEVAL)
    assert result.value == want, result.reason


def test_mbpp_fraction_and_early_exit() -> None:
    row = {"test_list": ["assert add(1, 2) == 3", "assert add(2, 2) == 5", "assert add(0, 0) == 0"]}
    assert score("def add(a, b):\n    return a + b", row).value == pytest.approx(2 / 3)
    assert score("def add(a, b):\n    return a + b", row, mode="binary").value == 0.0
    # exits with status 0 in the middle of the second test: the first test's pass is not kept either
    assert (
        score("def add(a, b):\n    import os\n    if a == 2: os._exit(0)\n    return a + b", row).value == 0.0
    )


STDIO = {"tests": [{"input": "2\n", "output": "4\n"}, {"input": "3\n", "output": "9\n"}]}
STDIO_HACKS = [
    ("n = int(input())\nprint(n * n)", 1.0),
    ("import os\nn = int(input())\nprint(n * n, flush=True)\nos._exit(0)", 1.0),  # a legitimate fast exit
    ("n = int(input())\nprint(n * n, flush=True)\nwhile True: pass", 0.0),  # right output, then a hang
    ("import os\nn = int(input())\nprint(n * n, flush=True)\nos.kill(os.getpid(), 9)", 0.0),  # then a kill
    ("n = int(input())\nprint(n * n)\nraise SystemExit(3)", 0.0),
    ("n = int(input())\nif n == 2: print(4)", 0.5),
]


@pytest.mark.parametrize(("code", "want"), STDIO_HACKS)
def test_stdio_hacks(code: str, want: float, no_leftovers: None) -> None:
    result = score(code, STDIO)
    assert result.value == want, result.reason


def test_raising_with_empty_expected_output_fails() -> None:
    row = {"tests": [{"input": "", "output": ""}]}
    assert score("pass", row).value == 1.0
    assert score("raise ValueError('x')", row).value == 0.0


def test_call_based_apps() -> None:
    row = {"input_output": {"inputs": [[1, 2], [5, 5]], "outputs": [[3], [10]], "fn_name": "add"}}
    assert score("def add(a, b):\n    return a + b", row).value == 1.0
    assert score("class Solution:\n    def add(self, a, b):\n        return a + b", row).value == 1.0
    eq = "class A:\n    def __eq__(self, o): return True\ndef add(a, b):\n    return A()"
    assert score(eq, row).value == 0.0
    assert score("def add(a, b):\n    import os; os._exit(0)", row).value == 0.0


def test_no_code_scores_zero_and_no_tests_is_not_applicable() -> None:
    from rewardkit.params import build_params
    from rewardkit.rewards.code import CodeParams, score_batch
    from rewardkit.types import Sample, Status

    params = build_params("code", CodeParams, {})
    no_code, no_tests = score_batch(
        [Sample("I don't know", columns=STDIO), Sample("```python\n1\n```")], params
    )
    assert (no_code.value, no_code.status) == (0.0, Status.OK)
    assert no_tests.status is Status.NOT_APPLICABLE


def test_isolation_recorded() -> None:
    result = score("n = int(input())\nprint(n * n)", STDIO)
    assert "seccomp" in result.details["isolation"] and "landlock" in result.details["isolation"]
