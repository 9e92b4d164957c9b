"""Extraction, output comparison and format detection: no sandbox involved."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewardkit.params import build_params
from rewardkit.rewards.code import CodeParams
from rewardkit.rewards.code.compare import outputs_match, values_match
from rewardkit.rewards.code.executor import Limits
from rewardkit.rewards.code.extract import extract_code
from rewardkit.rewards.code.formats import NoTests, build_plan

EXTRACT = [
    ("```python\nprint(1)\n```", False, "print(1)\n"),
    # the last tagged block wins: models sketch, then correct themselves
    ("```python\nx = 1\n```\ntext\n```python\nx = 2\n```", False, "x = 2\n"),
    # a tagged block beats a later untagged one (often sample output)
    ("```python\nx = 1\n```\n```\n3\n```", False, "x = 1\n"),
    ("```py\nx = 3\n```", False, "x = 3\n"),
    ("```\nx = 4\n```", False, "x = 4\n"),
    ("no code here", False, None),
    ("x = 5", True, "x = 5"),
    ("```python\n\n```", False, None),  # an empty block is no code
    ("~~~python\nx = 6\n~~~", False, "x = 6\n"),
    ("````python\n```inner```\n````", False, "```inner```\n"),
]


@pytest.mark.parametrize(("text", "bare", "want"), EXTRACT)
def test_extract(text: str, bare: bool, want: str | None) -> None:
    assert extract_code(text, "python", bare) == want


def test_extract_cpp_ignores_python_block() -> None:
    text = "```python\nprint(1)\n```\n```cpp\nint main(){}\n```"
    assert extract_code(text, "cpp") == "int main(){}\n"


COMPARE = [
    ("1\n2\n", "1\n2", 0.0, True),
    ("1  \n2\t\n\n\n", "1\n2\n", 0.0, True),  # trailing whitespace and blank lines ignored
    ("1\n", "1\n2\n", 0.0, False),  # the zip() bug: printing only the first line must fail
    ("1\n2\n3\n", "1\n2\n", 0.0, False),
    ("0.3333333\n", "0.33333333\n", 1e-6, True),
    ("0.3333333\n", "0.33333333\n", 0.0, False),
    ("1 2\n", "1  2\n", 0.0, False),  # inner whitespace is significant without tolerance
    ("nan\n", "nan\n", 1e-6, True),
    ("nan\n", "1.0\n", 1e-6, False),
    ("", "", 0.0, True),
    ("\r\n1\r\n", "\n1\n", 0.0, True),
]


@pytest.mark.parametrize(("got", "want", "tol", "ok"), COMPARE)
def test_outputs_match(got: str, want: str, tol: float, ok: bool) -> None:
    assert outputs_match(got, want, tol) is ok


@given(st.lists(st.text(alphabet="abc 123.", max_size=8), max_size=6), st.lists(st.sampled_from([" ", "\t"])))
def test_trailing_whitespace_is_noise(lines: list[str], pad: list[str]) -> None:
    text = "\n".join(lines)
    noisy = "\n".join(line + "".join(pad) for line in lines) + "\n\n"
    assert outputs_match(noisy, text) == outputs_match(text, text)


@given(st.lists(st.text(alphabet="ab\n", max_size=10), min_size=2, max_size=2))
def test_compare_is_symmetric_without_tolerance(pair: list[str]) -> None:
    a, b = pair
    assert outputs_match(a, b) == outputs_match(b, a)


VALUES = [
    ([1, 2], [1, 2], True),
    ([1, 2], [[1, 2]], True),  # APPS wraps return values in a list
    (True, 1, False),  # a bool is not an int here
    (1.0000001, 1.0, False),
    ({"a": [1]}, {"a": [1]}, True),
    ("1", 1, False),
]


@pytest.mark.parametrize(("got", "want", "ok"), VALUES)
def test_values_match(got: object, want: object, ok: bool) -> None:
    assert values_match(got, want) is ok


def _plan(columns: dict[str, object], language: str = "python"):  # type: ignore[no-untyped-def]
    return build_plan(columns, "x = 1", language, Limits(), max_tests=3)


def test_formats_detected() -> None:
    assert _plan({"test": "def check(c): pass", "entry_point": "f"}).kind == "humaneval"
    mbpp = _plan({"test_list": ["assert 1", "assert 2", "assert 3", "assert 4"]})
    assert (mbpp.kind, mbpp.n_tests) == ("mbpp", 3)  # max_tests caps the list
    stdio = _plan({"tests": json.dumps([{"input": "1", "output": "2"}])})  # JSON strings are read
    assert (stdio.kind, stdio.expected) == ("stdio", ("2",))
    apps = _plan({"input_output": {"inputs": [["1", "2"]], "outputs": [["3"]]}})
    assert (apps.kind, apps.runs[0].stdin, apps.expected) == ("apps_stdio", "1\n2", ("3",))
    call = _plan({"input_output": {"inputs": [[1, 2]], "outputs": [3], "fn_name": "add"}})
    assert (call.kind, call.runs[0].args, call.runs[0].fn_name) == ("apps_call", (1, 2), "add")


@pytest.mark.parametrize(
    "columns",
    [
        {},
        {"tests": "not json"},
        {"tests": []},
        {"input_output": {"inputs": [1], "outputs": []}},
        {"input_output": {"inputs": [1]}},
    ],
)
def test_no_tests(columns: dict[str, object]) -> None:
    with pytest.raises(NoTests):
        _plan(columns)


def test_cpp_needs_stdio_tests() -> None:
    with pytest.raises(NoTests, match="stdin/stdout"):
        _plan({"test_list": ["assert 1"]}, language="cpp")


def test_humaneval_body_only_completion_gets_the_prompt() -> None:
    prompt = "def f(x):\n"
    plan = build_plan({"test": "t", "entry_point": "f"}, "    return x\n", "python", Limits(), 3, prompt)
    assert plan.runs[0].code == "def f(x):\n    return x\n"


def test_params_validate() -> None:
    params = build_params("code", CodeParams, {"mode": "binary", "cpu_s": 1})
    assert params.limits().cpu_s == 1.0
    with pytest.raises(Exception, match="cpu_s"):
        build_params("code", CodeParams, {"cpu_s": 0})
