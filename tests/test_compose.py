"""compose(): TRL's reward-function contract, weights, gates, metric-only terms, nesting, null policy."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewardkit import ErrorBudgetExceeded, ShapeError, Status, compose
from rewardkit.compose import Composition
from rewardkit.testing import completions as completion_texts

from ._fixtures import CONTAINS_X, INFRA, config_of

GOOD = "<think>2+2 is 4</think>\n<answer>4</answer>"
BAD = "4"
FORMAT_AND_LENGTH = {
    "rewards": [
        {"name": "think_format", "weight": 1.0},
        {"name": "length", "weight": 0.5, "params": {"target": 40, "unit": "chars"}},
    ]
}


def test_called_like_a_trl_reward_function_with_plain_text() -> None:
    reward = compose(FORMAT_AND_LENGTH)
    values = reward(prompts=["q", "q"], completions=[GOOD, BAD], completion_ids=[[1], [2]], trainer_state=None)
    length_good = 1 - abs(len(GOOD) - 40) / 40
    assert values == [pytest.approx(1.0 + 0.5 * length_good), pytest.approx(0.5 * (1 - 39 / 40))]


def test_chat_completions_score_like_their_text() -> None:
    reward = compose(FORMAT_AND_LENGTH)
    chat = [[{"role": "assistant", "content": GOOD}], [{"role": "assistant", "content": BAD}]]
    prompts = [[{"role": "user", "content": "q"}]] * 2
    assert reward(prompts=prompts, completions=chat) == reward(prompts=["q", "q"], completions=[GOOD, BAD])


def test_has_a_name_and_survives_pickling() -> None:
    reward = compose({**FORMAT_AND_LENGTH, "name": "fmt_len"})
    clone = pickle.loads(pickle.dumps(reward))
    assert clone.__name__ == "fmt_len"
    assert clone(completions=[GOOD, BAD]) == reward(completions=[GOOD, BAD])


def test_breakdown_reports_every_term_with_status_and_reason() -> None:
    (result,) = compose(FORMAT_AND_LENGTH).score(completions=["<think>a</think><answer></answer>"])
    fmt = result.scores["think_format"]
    assert fmt.value == 0.0 and fmt.status is Status.OK and "empty" in fmt.reason
    assert set(result.scores) == {"think_format", "length"}


def test_columns_reach_rewards_and_reference_comes_from_the_configured_column() -> None:
    reward = compose({"reference_column": "solution", "rewards": [{"name": "math"}]})
    assert reward(completions=["\\boxed{4}", "\\boxed{5}"], solution=["4", "4"]) == [1.0, 0.0]
    (result,) = reward.score(completions=["\\boxed{4}"], answer=["4"])  # no 'solution' column
    assert result.scores["math"].status is Status.NOT_APPLICABLE and result.total is None


@pytest.mark.parametrize(
    "columns, message",
    [
        ({"prompts": ["a"]}, "prompts has 1 entries but there are 2 completions"),
        ({"answer": ["1", "2", "3"]}, "answer has 3 entries"),
        ({"answer": "12"}, "answer must be a list"),
    ],
)
def test_shape_mismatches_raise_a_clear_error(columns: dict[str, object], message: str) -> None:
    with pytest.raises(ShapeError, match=message):
        compose(FORMAT_AND_LENGTH)(completions=[GOOD, BAD], **columns)


def test_a_gate_zeroes_accuracy_when_the_format_fails_and_skips_computing_it() -> None:
    reward = compose({"rewards": [{"name": "think_format", "weight": 0.2},
                                  {"name": "math", "weight": 1.0, "gate": "think_format"}]})
    good, unformatted = reward.score(completions=["<think>t</think><answer>4</answer>", "\\boxed{4}"],
                                     answer=["4", "4"])
    assert good.total == pytest.approx(1.2)
    assert unformatted.total == 0.0
    assert unformatted.scores["math"].details.get("gated") is True


def test_weight_zero_terms_are_reported_but_not_summed() -> None:
    reward = compose({"rewards": [{"name": "think_format"},
                                  {"name": "length", "weight": 0, "params": {"unit": "chars", "target": 5}}]})
    (result,) = reward.score(completions=[GOOD])
    assert result.total == 1.0 and result.scores["length"].value is not None


def test_nested_groups_are_weighted_and_reported_by_dotted_path() -> None:
    reward = compose({"rewards": [
        {"name": "think_format", "weight": 1.0},
        {"id": "shape", "weight": 0.5, "aggregate": "mean", "rewards": [
            {"name": "tag_count"},
            {"id": "short", "name": "length", "weight": 3.0, "params": {"unit": "chars", "target": len(GOOD)}},
        ]},
    ]})
    (result,) = reward.score(completions=[GOOD])
    assert list(result.scores) == ["think_format", "shape", "shape.tag_count", "shape.short"]
    assert result.scores["shape"].value == pytest.approx((1.0 + 3.0) / 4)
    assert result.total == pytest.approx(1.0 + 0.5)
    assert reward.output_range() == (0.0, 1.5)


def test_an_infrastructure_null_masks_the_total_unless_on_null_is_skip() -> None:
    texts = ["x", "down", "x", "x"]
    strict = Composition(config_of((CONTAINS_X, 1.0, 5.0), (INFRA, 1.0, 5.0)))
    assert strict(completions=texts) == [2.0, None, 2.0, 2.0]
    from dataclasses import replace

    lenient = Composition(replace(strict.config, on_null="skip"))
    assert lenient(completions=texts) == [2.0, 0.0, 2.0, 2.0]


def test_an_error_rate_over_budget_raises() -> None:
    reward = Composition(config_of((INFRA, 1.0, 5.0), max_error_rate=0.5))
    reward(completions=["down", "up", "up", "up"])  # 1 of 4: fine
    reward(completions=["down", "down", "down", "up"])  # 4 of the last 8: not over 50%
    with pytest.raises(ErrorBudgetExceeded, match="5 of the last 9 scores of 'infra'"):
        reward(completions=["down"])


def test_the_error_budget_spans_one_sample_calls() -> None:
    # verl and OpenRLHF send one sample per call: the window over recent calls still catches an outage.
    reward = Composition(config_of((INFRA, 1.0, 5.0), max_error_rate=0.5))
    for _ in range(3):
        reward(completions=["down"])
    with pytest.raises(ErrorBudgetExceeded, match="4 of the last 4"):
        reward(completions=["down"])


def test_log_metric_receives_per_term_means_and_error_counts() -> None:
    logged: dict[str, float] = {}
    Composition(config_of((CONTAINS_X, 1.0, 5.0), (INFRA, 1.0, 5.0)))(
        completions=["x", "down", "y", "x"], log_metric=lambda name, value: logged.__setitem__(name, value)
    )
    assert logged["rewardkit/contains_x/mean"] == 0.5
    assert logged["rewardkit/infra/errors"] == 1.0


def test_worker_processes_give_the_same_results_as_in_process() -> None:
    texts = [GOOD, BAD, "<think></think><answer>x</answer>", "<answer>1</answer>"] * 20
    in_process = compose(FORMAT_AND_LENGTH)
    pooled = compose(FORMAT_AND_LENGTH, workers=2)
    try:
        assert pooled(completions=texts) == in_process(completions=texts)
    finally:
        pooled.close()


@given(st.lists(completion_texts(), min_size=1, max_size=12))
def test_batch_equals_per_sample_and_is_deterministic(texts: list[str]) -> None:
    reward = compose(FORMAT_AND_LENGTH)
    batch = reward(completions=texts)
    assert batch == [reward(completions=[t])[0] for t in texts]
    assert batch == reward(completions=texts)
    lo, hi = reward.output_range()
    assert all(v is not None and lo <= v <= hi for v in batch)
