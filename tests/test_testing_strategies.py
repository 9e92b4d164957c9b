"""rewardkit.testing: the strategies cover what they promise; the property check catches bad rewards."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from rewardkit import RewardSpec, Sample, Score, Status, registry
from rewardkit.testing import chat_completions, check_reward_properties, completions, prompts, samples


@dataclass(frozen=True)
class NoParams:
    pass


def spec(fn: Any, range_: tuple[float, float] = (0.0, 1.0)) -> RewardSpec:
    return RewardSpec(name="probe", description="test probe", params=NoParams, range=range_, fn=fn)


def _half(sample: Sample, params: Any) -> Score:
    return Score.ok(0.5)


def _too_high(sample: Sample, params: Any) -> Score:
    return Score.ok(1.5)


def _ok_without_value(sample: Sample, params: Any) -> Score:
    return Score(None, Status.OK, "forgot the value")


_counter = itertools.count()


def _stateful(sample: Sample, params: Any) -> Score:
    return Score.ok(next(_counter) % 2)


def _unserializable(sample: Sample, params: Any) -> Score:
    return Score.ok(0.0, "", parsed=object())


def _by_length_batch(batch: Any, params: Any) -> list[Score]:
    return [Score.ok(min(1.0, len(s.text) / 10)) for s in batch]


def _batch_dependent(batch: Any, params: Any) -> list[Score]:
    # Scores each sample by the batch size: what "batch equals per-sample" exists to catch.
    return [Score.ok(1.0 / len(batch)) for _ in batch]


BATCH = [Sample("<think>a</think><answer>1</answer>"), Sample("plain"), Sample("")]


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (_too_high, "outside"),  # value out of the declared range
        (_ok_without_value, "status 'ok' needs a value"),  # status and value disagree: Score itself refuses
        (_stateful, "deterministic"),  # state leaking between calls
        (_unserializable, "pickling"),  # details that cannot reach an output file
    ],
)
def test_check_catches_bad_rewards(fn: Any, message: str):
    with pytest.raises((AssertionError, ValueError), match=message):
        check_reward_properties(spec(fn), None, BATCH)


def test_check_catches_batch_dependent_batch_fn():
    bad = RewardSpec(name="probe", description="", params=NoParams, range=(0, 1), batch_fn=_batch_dependent)
    with pytest.raises(AssertionError, match="scoring each sample alone"):
        check_reward_properties(bad, None, BATCH)


def test_check_passes_good_rewards():
    assert [s.value for s in check_reward_properties(spec(_half), {}, BATCH)] == [0.5] * 3
    good = RewardSpec(name="probe", description="", params=NoParams, range=(0, 1), batch_fn=_by_length_batch)
    assert check_reward_properties(good, None, BATCH)[1].value == 0.5


def _think_format(text: str) -> Score:
    think_format = registry.get("think_format")
    assert think_format.fn is not None
    return think_format.fn(Sample(text), think_format.params())


@pytest.mark.parametrize(
    "reason",
    [
        "well formed",  # the good case
        "tags; exactly one is allowed",  # duplicated tags
        "out of order or nested",  # reordered or nested blocks
        "empty <answer> block",  # empty answer
        "text after </answer>",  # trailing junk
        "text before <think>",  # preamble
        "no <answer> tag",  # missing tag
    ],
)
def test_completions_reach_every_verdict(reason: str):
    """A property test over completions() exercises each way a format can be right or wrong."""
    found = find(
        completions(), lambda t: reason in _think_format(t).reason, settings=settings(max_examples=2000)
    )
    assert reason in _think_format(found).reason


@given(chat_completions())
def test_chat_completions_are_trl_shaped(chat: list[dict[str, Any]]):
    assert [m["role"] for m in chat] == ["assistant"] and isinstance(chat[0]["content"], str)


@given(prompts())
def test_prompts_are_none_text_or_messages(prompt: Any):
    assert prompt is None or isinstance(prompt, str) or all({"role", "content"} <= set(m) for m in prompt)


@given(samples(completion=st.just("x"), columns=st.just({"k": 1})))
def test_samples_take_the_strategies_given(sample: Sample):
    assert sample.completion == "x" and sample.columns == {"k": 1}
