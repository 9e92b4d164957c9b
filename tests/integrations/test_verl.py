"""verl's custom reward function: the contract verl 0.9.1 calls it with, without verl installed.

The conformance suite driven by verl's own code is `tests/integrations/verl/`; it needs verl, which pins
transformers < 5.11, so it runs in its own venv (`.ci/venv-verl`, made by `.ci/run`); the last test here
runs it there.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewardkit import hookimpl, plugins
from rewardkit.errors import ConfigError, ErrorBudgetExceeded
from rewardkit.integrations import verl
from rewardkit.integrations.verl import APPLIED, CONFIG_ENV, compute_score
from rewardkit.stats import MASKED

from .._fixtures import HOSTILE, INFRA

REPO = Path(__file__).resolve().parents[2]
KEYS = {"score", "acc", MASKED, "math", "math" + APPLIED, "code", "code" + APPLIED}


def _register(register):  # type: ignore[no-untyped-def]
    register(HOSTILE)
    register(INFRA)


PLUGIN = SimpleNamespace(register_rewards=hookimpl(_register))


@pytest.fixture(autouse=True)
def test_rewards(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    plugins.reset()
    plugins.get_plugin_manager().register(PLUGIN, name="verl-test-rewards")
    verl.close()
    yield
    verl.close()
    plugins.reset()


def routes(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "verl.yaml"
    path.write_text(text)
    return path


def as_dict(result: float | dict[str, float]) -> dict[str, float]:
    assert isinstance(result, dict)
    return result


def test_works_from_a_plain_import_in_a_fresh_process() -> None:
    code = ("from rewardkit.integrations.verl import compute_score\n"
            "print(compute_score('openai/gsm8k', 'so 6*7 = 42\\n#### 42', '42')['score'])")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != CONFIG_ENV}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd="/",
                         timeout=120, check=True)  # fmt: skip
    assert out.stdout.strip() == "1.0"


@pytest.mark.parametrize(
    "source",
    [
        "openai/gsm8k",
        "lighteval/MATH",
        "DigitalLearningGmbH/MATH-lighteval",
        "HuggingFaceH4/MATH-500",
        "math",
        "math_dapo",
        "aime2024",
        "numina_cn_k12",
        "numina_olympiads",
        "agentica-org/DeepScaleR-Preview-Dataset",
    ],
)
def test_math_like_sources_get_the_math_reward(source: str) -> None:
    right = as_dict(compute_score(source, "Thus the answer is $\\boxed{\\frac{1}{2}}$.", "\\frac12", workers=0))
    wrong = as_dict(compute_score(source, "Thus the answer is $\\boxed{2}$.", "\\frac12", workers=0))
    assert (right["score"], right["math"], right["acc"], wrong["score"], wrong["acc"]) == (1.0, 1.0, 1.0, 0.0, 0.0)
    # Same keys for every sample; a term that did not run is 0.0 and says so, never NaN.
    assert set(right) == set(wrong) == KEYS
    assert (right["code"], right["code" + APPLIED], right["math" + APPLIED]) == (0.0, 0.0, 1.0)


@pytest.mark.parametrize(
    "source", ["codecontests", "apps", "taco", "codeforces", "openai_humaneval", "likaixin/TACO-verified"]
)
def test_code_like_sources_are_routed_to_the_code_reward(source: str) -> None:
    assert verl._router(None, 0).route_for(source).config.name == "verl_code"


@pytest.mark.parametrize("source", ["hiyouga/geometry3k", "searchR1_nq", "my_dataset", ""])
def test_unknown_sources_are_a_clear_error(source: str) -> None:
    with pytest.raises(ConfigError, match=r"matches none of the built-in routing.*data_sources"):
        compute_score(source, "\\boxed{1}", "1", workers=0)


@pytest.mark.parametrize(
    ("program", "expected"),
    [
        ("a, b = map(int, input().split())\nprint(a + b)", 1.0),
        ("print(3)", 0.5),  # right on the first test only
        ("print(", 0.0),  # a syntax error fails every test
    ],
)
def test_code_ground_truth_is_read_as_tests(program: str, expected: float) -> None:
    tests = json.dumps({"inputs": ["1 2\n", "3 4\n"], "outputs": ["3\n", "7\n"]})  # verl/PRIME's format
    result = as_dict(compute_score("codecontests", f"```python\n{program}\n```", tests, workers=0))
    if result[MASKED]:
        pytest.skip("the code sandbox cannot start on this machine")
    assert result["score"] == result["code"] == expected
    assert result["acc"] == (1.0 if expected == 1.0 else 0.0) and result["math" + APPLIED] == 0.0


def test_return_dict_false_gives_the_bare_total() -> None:
    assert compute_score("openai/gsm8k", "#### 7", "7", return_dict=False, workers=0) == 1.0
    assert compute_score("openai/gsm8k", "no answer here", "7", return_dict=False, workers=0) == 0.0


class Unpicklable:
    def __reduce__(self) -> Any:
        raise TypeError("a tokenizer holding a lock cannot be pickled")


@pytest.mark.parametrize("workers", [0, 1])
@pytest.mark.parametrize(
    "extra",
    [
        {},
        # What verl 0.9.1's managers add when reward_model.enable is true (naive.py, dapo.py, gdpo.py).
        {"reward_router_address": "127.0.0.1:30000", "reward_model_tokenizer": Unpicklable()},
        {"some_future_kwarg": Unpicklable(), "another": [1, 2]},  # later verl versions may add more
    ],
)
def test_verl_keyword_arguments_are_accepted_and_never_sent_to_workers(workers: int, extra: dict[str, Any]) -> None:
    result = as_dict(compute_score(data_source="openai/gsm8k", solution_str="#### 42", ground_truth="42",
                                   extra_info={"index": 3}, workers=workers, **extra))  # fmt: skip
    assert result["score"] == result["acc"] == 1.0


def test_extra_info_is_read_not_changed_and_cannot_replace_the_gold() -> None:
    # gsm8k's verl preprocessing puts the worked solution under extra_info["answer"], our gold column's name.
    info = {"answer": "Natalia sold 48/2 = 24 clips in May... #### 72", "question": "How many?", "index": 0}
    before = json.dumps(info)
    assert as_dict(compute_score("openai/gsm8k", "#### 5", "5", extra_info=info, workers=0))["score"] == 1.0
    assert json.dumps(info) == before


def test_numpy_ground_truths_and_extra_info_from_parquet() -> None:
    np = pytest.importorskip("numpy")
    tests = {"inputs": np.array(["1 2\n"]), "outputs": np.array(["3\n"])}
    sample = verl._sample(verl._router(None, 0).code, "print(3)", tests, {"index": np.int64(4)})
    assert sample.columns["input_output"] == {"inputs": ["1 2\n"], "outputs": ["3\n"]}
    assert as_dict(compute_score("math", "#### 12", np.str_("12"), workers=0))["score"] == 1.0


def test_a_routing_file_comes_first_and_falls_back_to_built_ins(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = routes(tmp_path, "data_sources:\n  'my_*':\n    rewards: [{name: think_format}]\n"
                            "  openai/gsm8k:\n    rewards: [{name: math}, {name: think_format, weight: 0.5}]\n")
    mine = as_dict(compute_score("my_set", "<think>a</think>b", None, config=str(path), workers=0))
    assert set(mine) == KEYS | {"think_format", "think_format" + APPLIED}
    gsm = as_dict(compute_score("openai/gsm8k", "<think>a</think>#### 3", "3", config=path, workers=0))
    assert gsm["math"] == 1.0 and gsm["score"] == 1.0 + 0.5 * gsm["think_format"]
    assert set(gsm) == set(mine)  # one key set for every route of the file
    monkeypatch.setenv(CONFIG_ENV, str(path))
    assert compute_score("my_set", "<think>a</think>b", None, workers=0) == mine  # the environment variable
    assert compute_score("lighteval/MATH", "\\boxed{2}", "2", return_dict=False, workers=0) == 1.0  # fallback


ACC_ROUTES = """data_sources:
  gated:      {rewards: [{name: think_format, weight: 0.1}, {name: math, gate: think_format}]}
  named:      {acc: [think_format], rewards: [{name: math}, {name: think_format, weight: 0.1}]}
  format:     {rewards: [{name: think_format}]}
  two:        {acc: [math, think_format], rewards: [{name: math}, {name: think_format}]}
"""
GOOD = "<think>6*7</think><answer>42</answer>"


@pytest.mark.parametrize(
    ("source", "text", "acc"),
    [
        ("gated", GOOD, 1.0),  # default: the terms graded against the gold (math)
        ("gated", "<answer>42</answer>", 0.0),  # right answer, no think block: the gate zeroes math
        ("gated", "<think>x</think><answer>41</answer>", 0.0),  # well formed, wrong
        ("named", "<think>x</think><answer>41</answer>", 1.0),  # acc: names format only (math is wrong)
        ("format", GOOD, 1.0),  # no gold-graded term: acc is the total at the top of its range
        ("format", "42", 0.0),
        ("two", GOOD, 1.0),  # every named term at its top
        ("two", "<answer>42</answer>", 0.0),  # math right, format not: not both
    ],
)
def test_acc_is_the_correctness_terms_at_the_top_of_their_range(tmp_path: Path, source: str, text: str,
                                                                  acc: float) -> None:
    result = as_dict(compute_score(source, text, "42", config=routes(tmp_path, ACC_ROUTES), workers=0))
    assert result["acc"] == acc


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("rewards: [{name: math}]\n", "one key, 'data_sources'"),
        ("data_sources:\n  x: {rewards: [{name: nonesuch}]}\n", "data_sources['x']"),
        ("data_sources:\n  x: {acc: math, rewards: [{name: math}]}\n", "acc must be a non-empty list"),
        ("data_sources:\n  x: {acc: [code], rewards: [{name: math}]}\n", "acc names ['code']"),
        ("data_sources:\n  x: {rewards: [{name: math, id: acc}]}\n", "clash with the keys verl gets"),
        ("data_sources:\n  x: {rewards: [{name: math, id: m_applied}]}\n", "clash with the keys verl gets"),
    ],
)
def test_bad_routing_files_say_what_is_wrong(tmp_path: Path, text: str, fragment: str) -> None:
    path = routes(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        compute_score("x", "a", "1", config=path, workers=0)
    assert fragment in str(info.value)


SOURCES = ["openai/gsm8k", "lighteval/MATH", "mine", "down"]  # code runs programs: too slow for a property


@given(
    calls=st.lists(
        st.tuples(st.sampled_from(SOURCES), st.text(max_size=40),
                  st.one_of(st.none(), st.sampled_from(["42", "\\frac12", "x^2", "[1, 2]", '{"inputs": []}']))),
        min_size=1, max_size=12,
    )
)  # fmt: skip
def test_every_sample_gets_the_same_keys_and_only_finite_floats(tmp_path_factory: pytest.TempPathFactory,
                                                                calls: list[tuple[str, str, str | None]]) -> None:
    path = tmp_path_factory.getbasetemp() / "property.yaml"
    path.write_text("data_sources:\n"
                    "  mine: {max_error_rate: 1.0, rewards: [{name: think_format}, {name: length, weight: 0}]}\n"
                    "  down: {max_error_rate: 1.0, rewards: [{name: infra}]}\n")  # fmt: skip
    keys = None
    for source, text, gold in calls:
        result = as_dict(compute_score(source, text, gold, config=path, workers=0))
        assert all(type(v) is float and math.isfinite(v) for v in result.values()), result
        assert keys is None or set(result) == keys
        keys = set(result)
        assert result["acc"] in (0.0, 1.0) and result[MASKED] in (0.0, 1.0)
        assert all(result[k] in (0.0, 1.0) for k in result if k.endswith(APPLIED))


def test_an_outage_is_masked_counted_and_past_the_budget_raises(tmp_path: Path) -> None:
    path = routes(tmp_path, "data_sources:\n  s: {max_error_rate: 0.5, rewards: [{name: infra}]}\n")
    down = as_dict(compute_score("s", "down", None, config=path, workers=0))
    assert (down["score"], down["acc"], down[MASKED], down["infra"], down["infra" + APPLIED]) == (0, 0, 1, 0, 0)
    assert verl._router(path, 0).budget is verl._router(path, 0).budget  # one budget per routing file
    for _ in range(3):
        compute_score("s", "fine", None, config=path, workers=0)
    # 1 failure in 4: within budget. One sample per call, as verl calls: the window spans calls.
    with pytest.raises(ErrorBudgetExceeded, match="'infra'"):
        for _ in range(4):
            compute_score("s", "down", None, config=path, workers=0)


def test_time_budgets_hold_at_one_sample_per_call(tmp_path: Path) -> None:
    path = routes(tmp_path, "data_sources:\n  s: {rewards: [{name: hostile, timeout_s: 1}]}\n")
    start = time.monotonic()
    spun = as_dict(compute_score("s", "spin", None, config=path, workers=1))
    assert time.monotonic() - start < 30
    assert (spun["hostile"], spun["hostile" + APPLIED], spun[MASKED]) == (0.0, 1.0, 0.0)  # its own fault: low
    assert as_dict(compute_score("s", "ok", None, config=path, workers=1))["hostile"] == 0.5  # the lane lives on


def test_threads_share_one_scorer_and_get_their_own_answers() -> None:
    cases = [(f"#### {i}", str(i if i % 3 else i + 1)) for i in range(24)]
    out: dict[int, float] = {}

    def call(i: int) -> None:
        out[i] = as_dict(compute_score("openai/gsm8k", cases[i][0], cases[i][1], workers=2))["score"]

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(cases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert out == {i: (0.0 if i % 3 == 0 else 1.0) for i in range(len(cases))}
    assert len(verl._routers) == 1


def test_compute_score_pickles_by_reference() -> None:
    assert pickle.loads(pickle.dumps(compute_score)) is compute_score  # ray ships it to reward workers


def test_the_batch_form_is_gone() -> None:
    # verl 0.9.1's reward loop calls run_single once per sample; it has no batch reward manager any more.
    assert not hasattr(verl, "compute_score_batch")


VENV_PYTHON = Path(os.environ.get("REWARDKIT_VERL_PYTHON", REPO / ".ci" / "venv-verl" / "bin" / "python"))


def test_verl_conformance_suite_in_its_venv() -> None:
    """Runs `tests/integrations/verl/` with verl 0.9.1's interpreter (CI sets REWARDKIT_REQUIRE_VERL=1)."""
    try:
        import verl as _verl  # noqa: F401

        pytest.skip("verl imports here: tests/integrations/verl runs in this session directly")
    except ImportError:
        pass
    if not VENV_PYTHON.exists():
        why = f"no verl venv at {VENV_PYTHON}; .ci/run makes it (see docs/trainers/verl.md)"
        if os.environ.get("REWARDKIT_REQUIRE_VERL"):
            pytest.fail(why)
        pytest.skip(why)
    proc = subprocess.run(
        [str(VENV_PYTHON), "-m", "pytest", "tests/integrations/verl", "-q", "-p", "no:cacheprovider"],
        cwd=REPO, capture_output=True, text=True, timeout=900,
        env={**os.environ, "REWARDKIT_REQUIRE_VERL": "1"},
    )  # fmt: skip
    tail = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 0, tail
    assert " passed" in tail and " skipped" not in tail, tail


DOC = REPO / "docs" / "trainers" / "verl.md"


def doc_block(name: str) -> str:
    import re

    found = re.search(rf"<!-- test: {re.escape(name)} -->\n```\w*\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert found, f"{DOC} has no block marked {name}"
    return found.group(1)


def test_the_documented_python_call_runs() -> None:
    exec(compile(doc_block("verl-python"), str(DOC), "exec"), {})


def test_the_documented_routing_file_routes(tmp_path: Path) -> None:
    path = routes(tmp_path, doc_block("verl-routes"))
    good = as_dict(compute_score("openai/gsm8k", "<think>2+2</think><answer>4</answer>", "4", config=path, workers=0))
    assert (good["score"], good["acc"]) == (pytest.approx(1.1), 1.0)
    assert verl._router(path, 0).route_for("my_puzzles_3").config.max_error_rate == 0.2
    assert verl._router(path, 0).budget.max_error_rate == 0.2  # the strictest route's


def test_the_documented_install_is_what_ci_runs() -> None:
    ci = (REPO / ".ci" / "run").read_text().replace(" --quiet", "")
    commands = [line for line in doc_block("verl-install").splitlines() if line and "pytest" not in line]
    assert commands and all(line in ci for line in commands), commands
