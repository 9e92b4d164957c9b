"""The TRL adapter: one callable per term, TRL's weighted sum equal to the total, masking, logging, async."""

from __future__ import annotations

import asyncio
import inspect
import math
import pickle
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewardkit.compose import Composition, compose
from rewardkit.integrations.trl import AsyncTermReward, TermReward, reward_funcs, reward_weights
from tests._fixtures import registered

from ._rewards import PLUGIN

FORMAT_AND_MATH = {"rewards": [{"name": "think_format", "weight": 0.5}, {"name": "math", "weight": 1.0}]}
NESTED = {
    "rewards": [
        {"name": "think_format", "weight": 0.25},
        {"id": "correctness", "weight": 2.0, "rewards": [{"name": "math"}, {"name": "flaky", "weight": 0}]},
        {"name": "length", "weight": 0, "params": {"target": 20, "unit": "chars"}},
    ]
}
COMPLETIONS = [
    "<think>3 plus 4</think><answer>7</answer>",  # right and well formed
    "<think>3 plus 4</think><answer>8</answer>",  # well formed, wrong
    "7",  # right, no format
    "<answer>7</answer><answer>7</answer>",  # two answer blocks: format 0
]


@pytest.fixture(autouse=True)
def test_rewards() -> Iterator[None]:
    with registered(PLUGIN, "trl-test-rewards"):
        yield


class Metrics:
    """Stands in for TRL's ``log_metric``: every value logged, by name."""

    def __init__(self) -> None:
        self.logged: dict[str, list[float]] = defaultdict(list)

    def __call__(self, name: str, value: float) -> None:
        self.logged[name].append(value)


def trl_total(funcs: list[TermReward], weights: list[float], **kwargs: Any) -> list[float | None]:
    """What GRPOTrainer computes: nansum of weight * value, NaN when every function returned None."""
    columns = [f(**kwargs) for f in funcs]
    totals: list[float | None] = []
    for row in zip(*columns, strict=True):
        if all(v is None for v in row):
            totals.append(None)
        else:
            totals.append(sum(w * v for w, v in zip(weights, row, strict=True) if v is not None))
    return totals


def test_one_callable_per_top_level_term_named_by_its_path() -> None:
    funcs = reward_funcs(NESTED)
    assert [f.__name__ for f in funcs] == ["think_format", "correctness", "length"]
    assert reward_weights(NESTED) == [0.25, 2.0, 0.0]
    values = {f.__name__: f(completions=COMPLETIONS, answer=["7"] * 4) for f in funcs}
    assert values["think_format"] == [1.0, 1.0, 0.0, 0.0]
    assert values["correctness"] == [1.0, 0.0, 1.0, 1.0]  # the group's value: math (flaky has weight 0)


@pytest.mark.parametrize("config", [FORMAT_AND_MATH, NESTED], ids=["flat", "nested"])
def test_trl_weighted_sum_equals_the_composition_total(config: dict[str, Any]) -> None:
    reward = compose(config)
    totals = trl_total(reward_funcs(reward), reward_weights(reward), completions=COMPLETIONS, answer=["7"] * 4)
    assert totals == pytest.approx(reward(completions=COMPLETIONS, answer=["7"] * 4))


texts = st.lists(st.sampled_from(["<think>", "</think>", "<answer>", "</answer>", "7", "8", " ", "x", "\n"]),
                 max_size=12).map("".join)


@given(st.lists(texts, min_size=1, max_size=8))
def test_property_weighted_sum_equals_total_on_any_completions(completions: list[str]) -> None:
    reward = compose(FORMAT_AND_MATH)
    answers = ["7"] * len(completions)
    expected = reward(completions=completions, answer=answers)
    got = trl_total(reward_funcs(reward), reward_weights(reward), completions=completions, answer=answers)
    assert got == pytest.approx(expected)


def test_the_callables_of_a_set_score_each_batch_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = Composition.score

    def counting(self: Composition, *args: Any, **kwargs: Any) -> Any:
        calls.append(len(kwargs["completions"]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Composition, "score", counting)
    funcs = reward_funcs(NESTED)
    for f in funcs:  # TRL calls them one by one with the same lists
        f(completions=COMPLETIONS, answer=["7"] * 4)
    for f in funcs:  # equal but new lists: still the same batch
        f(completions=list(COMPLETIONS), answer=["7"] * 4)
    funcs[0](completions=COMPLETIONS[:2], answer=["7"] * 2)  # a new batch
    assert calls == [4, 2]


def test_the_callables_pickle_keep_their_names_and_share_one_scorer() -> None:
    funcs = reward_funcs(NESTED)
    restored = pickle.loads(pickle.dumps(funcs))
    assert [f.__name__ for f in restored] == [f.__name__ for f in funcs]
    assert len({id(f._scorer) for f in restored}) == 1
    for f, g in zip(funcs, restored, strict=True):
        assert g(completions=COMPLETIONS, answer=["7"] * 4) == f(completions=COMPLETIONS, answer=["7"] * 4)


@pytest.mark.parametrize(
    ("on_null", "expected"),
    [
        # propagate: the row's total is masked, so every callable masks it (TRL zeroes its advantage)
        ("propagate", {"think_format": [1.0, None], "flaky": [1.0, None]}),
        # skip: only the failing term is masked; TRL's nansum skips it as the composition does
        ("skip", {"think_format": [1.0, 1.0], "flaky": [1.0, None]}),
    ],
)
def test_infrastructure_failures_are_masked_and_counted(on_null: str, expected: dict[str, list[Any]]) -> None:
    config = {"on_null": on_null, "max_error_rate": 1.0,
              "rewards": [{"name": "think_format"}, {"name": "flaky", "weight": 2.0}]}
    completions = ["<think>a</think><answer>1</answer>", "<think>FAIL</think><answer>1</answer>"]
    metrics = Metrics()
    funcs = reward_funcs(config)
    got = {f.__name__: f(completions=completions, log_metric=metrics) for f in funcs}
    assert got == expected
    assert metrics.logged["rewardkit/flaky/errors"] == [1.0]  # logged once per batch, not once per callable
    assert metrics.logged["rewardkit/think_format/errors"] == [0.0]
    assert metrics.logged["rewardkit/masked"] == [0.5 if on_null == "propagate" else 0.0]  # fraction of rows


def test_nested_terms_means_go_to_log_metric() -> None:
    metrics = Metrics()
    for f in reward_funcs(NESTED):
        f(completions=COMPLETIONS, answer=["7"] * 4, log_metric=metrics)
    assert metrics.logged["rewardkit/correctness.math/mean"] == [0.75]
    assert "rewardkit/think_format/mean" not in metrics.logged  # TRL logs top-level means itself


def test_conversational_completions_and_chat_prompts() -> None:
    prompts = [[{"role": "system", "content": "Use tags."}, {"role": "user", "content": "3+4?"}]] * 2
    completions = [[{"role": "assistant", "content": c}] for c in COMPLETIONS[:2]]
    funcs = reward_funcs(FORMAT_AND_MATH)
    plain = {f.__name__: f(completions=COMPLETIONS[:2], answer=["7"] * 2) for f in reward_funcs(FORMAT_AND_MATH)}
    chat = {f.__name__: f(prompts=prompts, completions=completions, answer=["7"] * 2) for f in funcs}
    assert chat == plain == {"think_format": [1.0, 1.0], "math": [1.0, 0.0]}


def test_dataset_columns_pass_through_and_trainer_kwargs_do_not() -> None:
    config = {"reference_column": "solution", "rewards": [{"name": "math"}, {"name": "task_is_math"}]}
    funcs = reward_funcs(config)
    kwargs = {
        "prompts": ["3+4", "3+4"], "completions": ["<answer>7</answer>"] * 2, "solution": ["7", "8"],
        "task": ["math", "code"], "completion_ids": [[1, 2], [1, 3]], "trainer_state": object(),
        "log_extra": lambda column, values: None, "log_metric": Metrics(),
    }
    assert {f.__name__: f(**kwargs) for f in funcs} == {"math": [1.0, 0.0], "task_is_math": [1.0, 0.0]}


def test_a_non_sum_aggregate_trains_on_the_total_and_logs_each_term_at_weight_zero() -> None:
    config = {"aggregate": "min", "name": "worst", **FORMAT_AND_MATH}
    funcs = reward_funcs(config)
    assert [f.__name__ for f in funcs] == ["worst", "think_format", "math"]
    assert reward_weights(config) == [1.0, 0.0, 0.0]
    reward = compose(config)
    assert trl_total(funcs, reward_weights(config), completions=COMPLETIONS, answer=["7"] * 4) == pytest.approx(
        reward(completions=COMPLETIONS, answer=["7"] * 4))


def test_async_callables_await_one_shared_scoring_in_a_process_pool() -> None:
    funcs = reward_funcs(FORMAT_AND_MATH, asynchronous=True, workers=2)
    assert all(isinstance(f, AsyncTermReward) and inspect.iscoroutinefunction(f.__call__) for f in funcs)
    completions = COMPLETIONS * 10  # 40 rows: enough for the composition to use its pool
    answers = ["7"] * len(completions)

    async def gather() -> list[list[float | None]]:  # as TRL runs async reward functions
        return await asyncio.gather(*(f(completions=completions, answer=answers) for f in funcs))

    try:
        got = asyncio.run(gather())
        assert funcs[0]._scorer.composition.scorer.workers > 0  # scored in worker processes
    finally:
        funcs[0]._scorer.composition.close()
    sync = [f(completions=completions, answer=answers) for f in reward_funcs(FORMAT_AND_MATH)]
    assert got == sync


def test_trl_sees_the_async_callables_as_async() -> None:
    utils = pytest.importorskip("trl.trainer.utils")
    assert utils.is_async_callable(reward_funcs(FORMAT_AND_MATH, asynchronous=True, workers=0)[0])
    assert not utils.is_async_callable(reward_funcs(FORMAT_AND_MATH)[0])
    assert utils.get_callable_name(reward_funcs(FORMAT_AND_MATH)[1]) == "math"


def test_a_failure_that_ends_the_batch_is_raised_to_every_callable_and_not_cached() -> None:
    config = {"max_error_rate": 0.2, "rewards": [{"name": "flaky"}]}
    func = reward_funcs(config)[0]
    with pytest.raises(Exception, match="max_error_rate"):
        func(completions=["FAIL"] * 4)
    with pytest.raises(Exception, match="max_error_rate"):  # computed again, not replayed
        func(completions=["FAIL"] * 4)
    assert func(completions=["ok"] * 4) == [1.0] * 4


def test_importing_the_adapter_imports_neither_torch_nor_trl() -> None:
    code = ("import sys, rewardkit.integrations.trl as t; t.reward_funcs({'rewards': ['think_format']});"
            "print(sorted(m for m in ('torch', 'trl', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_values_are_finite_or_none() -> None:
    for f in reward_funcs(NESTED):
        for v in f(completions=[*COMPLETIONS, "", "FAIL"], answer=["7"] * 6):
            assert v is None or math.isfinite(v)
