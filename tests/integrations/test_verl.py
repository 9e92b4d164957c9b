"""verl's custom_reward_function: plain import, routing by data source, stable keys, the batch form."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rewardkit.errors import ConfigError, ErrorBudgetExceeded
from rewardkit.integrations import verl
from rewardkit.integrations.verl import CONFIG_ENV, compute_score, compute_score_batch

REPO = Path(__file__).resolve().parents[2]


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
    right = compute_score(source, "Thus the answer is $\\boxed{\\frac{1}{2}}$.", "\\frac12")
    wrong = compute_score(source, "Thus the answer is $\\boxed{2}$.", "\\frac12")
    assert isinstance(right, dict) and isinstance(wrong, dict)
    assert (right["score"], right["math"], wrong["score"]) == (1.0, 1.0, 0.0)
    assert math.isnan(right["code"])  # same keys for every sample; the term did not run


@pytest.mark.parametrize(
    "source", ["codecontests", "apps", "taco", "codeforces", "openai_humaneval", "likaixin/TACO-verified"]
)
def test_code_like_sources_are_routed_to_the_code_reward(source: str) -> None:
    assert verl._router(None).config_for(source).name == "verl_code"


@pytest.mark.parametrize("source", ["hiyouga/geometry3k", "searchR1_nq", "my_dataset", ""])
def test_unknown_sources_are_a_clear_error(source: str) -> None:
    with pytest.raises(ConfigError, match=r"matches none of the built-in routing.*data_sources"):
        compute_score(source, "\\boxed{1}", "1")


def _code_or_skip(result: float | dict[str, float]) -> dict[str, float]:
    assert isinstance(result, dict)
    if result["rewardkit_masked"]:
        pytest.skip("the code sandbox cannot start on this machine")
    return result


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
    result = _code_or_skip(compute_score("codecontests", f"```python\n{program}\n```", tests))
    assert result["score"] == result["code"] == expected


def test_return_dict_false_gives_the_bare_total() -> None:
    assert compute_score("openai/gsm8k", "#### 7", "7", return_dict=False) == 1.0
    assert compute_score("openai/gsm8k", "no answer here", "7", return_dict=False) == 0.0


def test_a_routing_file_comes_first_and_falls_back_to_built_ins(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    routes = tmp_path / "verl.yaml"
    routes.write_text("data_sources:\n  'my_*':\n    rewards: [{name: think_format}]\n"
                      "  openai/gsm8k:\n    rewards: [{name: math}, {name: think_format, weight: 0.5}]\n")
    mine = compute_score("my_set", "<think>a</think>b", None, config=str(routes))
    assert isinstance(mine, dict) and set(mine) >= {"score", "think_format", "math", "code"}
    gsm = compute_score("openai/gsm8k", "<think>a</think>#### 3", "3", config=routes)
    assert isinstance(gsm, dict) and gsm["math"] == 1.0 and gsm["score"] == 1.0 + 0.5 * gsm["think_format"]
    monkeypatch.setenv(CONFIG_ENV, str(routes))
    assert compute_score("my_set", "<think>a</think>b", None) == mine  # the environment variable works too
    assert compute_score("lighteval/MATH", "\\boxed{2}", "2", return_dict=False) == 1.0  # built-in fallback


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("rewards: [{name: math}]\n", "one key, 'data_sources'"),
        ("data_sources:\n  x: {rewards: [{name: nonesuch}]}\n", "data_sources['x']"),
    ],
)
def test_bad_routing_files_say_what_is_wrong(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        compute_score("x", "a", "1", config=path)
    assert fragment in str(info.value) and str(path) in str(info.value)


def test_batch_equals_one_by_one() -> None:
    sources = ["openai/gsm8k", "lighteval/MATH", "openai/gsm8k", "math_dapo"]
    texts = ["#### 5", "\\boxed{x^2}", "#### 4", "The answer is 12"]
    golds = ["5", "x^2", "5", "12"]
    batch = compute_score_batch(sources, texts, golds)
    single = [compute_score(s, t, g) for s, t, g in zip(sources, texts, golds, strict=True)]
    assert json.dumps(batch) == json.dumps(single)  # NaN-safe comparison
    assert [b["score"] for b in batch if isinstance(b, dict)] == [1.0, 1.0, 0.0, 1.0]


def test_batch_lengths_must_match() -> None:
    with pytest.raises(ConfigError, match="one of each per sample"):
        compute_score_batch(["math"], ["a", "b"], ["1", "2"])


def test_masked_rewards_past_the_budget_raise() -> None:
    router = verl._Router(None)
    router.record(router.math, [True] * 8 + [False] * 8)  # 50%: at the budget, not past it
    with pytest.raises(ErrorBudgetExceeded, match="masked by infrastructure failures"):
        router.record(router.math, [True] * 4)
