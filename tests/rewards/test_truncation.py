"""truncation: stop reasons, token ids and text heuristics, in that order; properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardkit import Sample, registry
from rewardkit.errors import ConfigError
from rewardkit.params import build_params
from rewardkit.rewards.truncation import score_truncation
from rewardkit.testing import check_reward_properties, completions, samples
from rewardkit.types import Status

EOS = 2


def _p(**values: Any) -> Any:
    return build_params("truncation", registry.get("truncation").params, values)


def _score(text: str, columns: dict[str, Any] | None = None, prompt: Any = None, **params: Any) -> Any:
    return score_truncation(Sample(text, prompt, columns=columns or {}), _p(**params))


CASES = [
    ("done", {"finish_reason": "length"}, {}, -1.0, "finish_reason"),  # vLLM / OpenAI
    ("done", {"finish_reason": "stop"}, {}, 0.0, "finish_reason"),
    ("<think>unclosed", {"finish_reason": "stop"}, {}, 0.0, "finish_reason"),  # the stop reason beats heuristics
    ("done", {"stop_reason": "max_tokens"}, {}, -1.0, "finish_reason"),  # Anthropic
    ("done", {"stop_reason": 151645}, {}, 0.0, "finish_reason"),  # vLLM: the stop token that was hit
    ("done", {"completion_ids": [5, 6, EOS]}, {"eos_token_id": EOS}, 0.0, "completion_ids"),  # TRL keeps the EOS
    ("done", {"completion_ids": [5, 6, 7]}, {"eos_token_id": EOS}, -1.0, "completion_ids"),
    ("done", {"completion_ids": [5, 6, 7]}, {"eos_token_id": [EOS, 7]}, 0.0, "completion_ids"),  # several EOS ids
    ("done", {"completion_ids": [5, 6, 7]}, {"max_length": 3}, -1.0, "completion_ids"),
    ("done", {"completion_ids": [5, 6]}, {"max_length": 3}, 0.0, "completion_ids"),
    ("<think>a</think><answer>4</answer>", {}, {}, 0.0, "text"),
    ("<think>a long chain of", {}, {}, -1.0, "text"),
    ("<think>a</think><answer>4", {}, {}, -1.0, "text"),
    ("```python\nprint(1)\n", {}, {}, -1.0, "text"),
    ("```python\nprint(1)\n```", {}, {}, 0.0, "text"),
    ('<tool_call>{"name": "f", "argu', {}, {}, -1.0, "text"),
    ("</think> then <think>cut", {}, {}, -1.0, "text"),  # counts match, but the last opened block never closes
    ("<think>cut </THINK>", {}, {}, -1.0, "text"),  # a closing tag in another case closes nothing
    ("Wrap code in ``` fences.", {}, {}, 0.0, "text"),  # a fence mentioned mid-sentence is prose
    ("done", {"finish_reason": "length"}, {"penalty": 0.5}, -0.5, "finish_reason"),
]


@pytest.mark.parametrize(("text", "columns", "params", "value", "source"), CASES)
def test_cases(text: str, columns: dict[str, Any], params: dict[str, Any], value: float, source: str) -> None:
    score = _score(text, columns, **params)
    assert (score.value, score.details["source"]) == (value, source), score.reason


def test_a_prefilled_think_counts_as_opened() -> None:
    assert _score("reasoning cut off", prompt="Q: 1+1=\n<think>").value == -1.0
    assert _score("reasoning</think>2", prompt="Q: 1+1=\n<think>").value == 0.0


def test_without_evidence_and_heuristics_off_it_does_not_apply() -> None:
    assert _score("x", heuristics=False).status is Status.NOT_APPLICABLE
    assert _score("x", {"completion_ids": [1]}, heuristics=False).status is Status.NOT_APPLICABLE  # no eos, no max


def test_spec_and_params_check() -> None:
    spec = registry.get("truncation")
    assert spec.family == "truncation" and spec.cost == "cheap" and spec.output_range(_p(penalty=2.0)) == (-2.0, 0.0)
    assert spec.validate is not None
    with pytest.raises(ConfigError, match="eos_token_id"):
        spec.validate(_p(eos_token_id=[]))


reasons = st.fixed_dictionaries({}, optional={"finish_reason": st.sampled_from(["length", "stop", "weird", None]),
                                              "completion_ids": st.lists(st.integers(0, 5), max_size=8)})  # fmt: skip


param_sets = st.fixed_dictionaries({"penalty": st.sampled_from([0.0, 1.0, 3.0]),
                                    "eos_token_id": st.sampled_from([None, 2]),
                                    "max_length": st.sampled_from([None, 4])})  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(batch=st.lists(samples(columns=reasons), min_size=1, max_size=6), values=param_sets)
def test_properties(batch: list[Sample], values: dict[str, Any]) -> None:
    check_reward_properties(registry.get("truncation"), values, batch)


@settings(max_examples=60, deadline=None)
@given(text=completions(), cut=st.integers(1, 40))
def test_cutting_inside_an_open_block_is_always_caught(text: str, cut: int) -> None:
    # Whatever came before, a completion that ends inside an opened <think> or code fence reads as truncated.
    for opened in ("<think>", "\n```python\n"):  # a fence opens a line
        body = text.replace("<think>", "").replace("</think>", "").replace("`", "")
        assert _score(body + opened + "x" * cut).value == -1.0
