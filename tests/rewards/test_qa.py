"""qa_match: SQuAD normalisation and F1, answer extraction, several golds, hedges, properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardkit import Sample, registry
from rewardkit.params import build_params
from rewardkit.rewards.qa import extract_short_answer, f1_score, gold_answers, normalize_answer, score_qa
from rewardkit.testing import check_reward_properties, completions, samples
from rewardkit.types import Status


def _p(**values: Any) -> Any:
    return build_params("qa_match", registry.get("qa_match").params, values)


def _value(text: str, gold: Any, **params: Any) -> float | None:
    return score_qa(Sample(text, reference=gold), _p(**params)).value


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("The Eiffel Tower!", "eiffel tower"),  # article and punctuation go
        ("  an   Apple a day ", "apple day"),  # every article, extra spaces
        ("U.S.A.", "usa"),
        ("Theodore", "theodore"),  # "the" only as a word
    ],
)
def test_squad_normalisation(raw: str, normal: str) -> None:
    assert normalize_answer(raw) == normal


@pytest.mark.parametrize(
    ("pred", "gold", "f1"),
    [
        ("Denver Broncos", "Denver Broncos", 1.0),
        ("the Denver Broncos team", "Denver Broncos", 0.8),  # P 2/3, R 1 (SQuAD's own example shape)
        ("Broncos", "Denver Broncos", 2 / 3),
        ("Carolina Panthers", "Denver Broncos", 0.0),
        ("the", "a", 1.0),  # both empty after normalisation
    ],
)
def test_token_f1(pred: str, gold: str, f1: float) -> None:
    assert f1_score(pred, gold) == pytest.approx(f1)


EXTRACTION = [
    ("<think>Paris? no</think><answer>Lyon</answer>", "Lyon", "answer tag"),
    ("It is \\boxed{Marie Curie}.", "Marie Curie", "boxed"),
    ("Let me think. The answer is Marie Curie. She won twice.", "Marie Curie", "answer phrase"),
    ("**Final answer: Marie Curie**", "Marie Curie", "answer phrase"),
    ("Marie Curie", "Marie Curie", "whole text"),
    ("<think>hmm</think>\nMarie Curie", "Marie Curie", "whole text"),
]


@pytest.mark.parametrize(("text", "answer", "source"), EXTRACTION)
def test_extraction_order(text: str, answer: str, source: str) -> None:
    assert extract_short_answer(text) == (answer, source)


CASES = [
    ("<answer>Paris</answer>", "Paris", "em", 1.0),
    ("<answer>paris.</answer>", "Paris", "em", 1.0),  # case and punctuation
    ("<answer>The Paris</answer>", ["Lutetia", "Paris"], "em", 1.0),  # any of several golds
    ("<answer>Paris France</answer>", "Paris", "em", 0.0),
    ("<answer>Paris France</answer>", "Paris", "f1", pytest.approx(2 / 3)),
    ("The answer is Paris.", {"text": ["Paris", "City of Paris"]}, "em", 1.0),  # SQuAD's gold shape
    ("The answer is Paris.", {"aliases": ["Paris"], "value": "Paris"}, "em", 1.0),  # TriviaQA's
    ("The answer is Paris.", '["Lyon", "Paris"]', "em", 1.0),  # a JSON list
    ("<answer>London or Paris</answer>", "Paris", "f1", 0.0),  # a hedge: never pays, not even F1
    ("<answer>either Paris or London</answer>", "Paris", "em", 0.0),
    ("<answer>Paris/London</answer>", "Paris", "f1", 0.0),
    ("<answer>not Paris</answer>", "Paris", "f1", 0.0),  # a negation
    ("<answer>Paris</answer><answer>London</answer>", "Paris", "em", 0.0),  # two different answer blocks
    ("\\boxed{Paris} or \\boxed{London}", "Paris", "em", 0.0),  # two different boxes
    ("<answer>rock or roll</answer>", "rock or roll", "em", 1.0),  # the gold itself reads "or"
    ("<answer>No</answer>", "no", "em", 1.0),  # a gold that is a negation
    ("<think>The answer is Paris", "Paris", "em", 0.0),  # unclosed reasoning: no answer
    ("I am not sure, but I would guess that it could be the capital of France which is Paris", "Paris", "f1", 0.0),
]


@pytest.mark.parametrize(("text", "gold", "metric", "value"), CASES)
def test_cases(text: str, gold: Any, metric: str, value: float) -> None:
    assert _value(text, gold, metric=metric) == value


def test_fallbacks() -> None:
    long = "I am not sure, but I would guess that it could be the capital of France which is Paris"
    assert _value(long, "Paris", metric="f1", fallback="full") == 0.0  # negated ("not sure")
    sentence = "I would guess that it could be the capital city of France which is Paris"
    assert _value(sentence, "Paris", metric="f1", fallback="full") == pytest.approx(2 / 15)
    assert _value("Paris", "Paris", fallback="none") == 0.0


def test_no_gold_does_not_apply() -> None:
    assert score_qa(Sample("Paris"), _p()).status is Status.NOT_APPLICABLE
    assert gold_answers(["", "  "]) == [] and gold_answers(42) == ["42"]


def test_spec_builders() -> None:
    spec = registry.get("qa_match")
    assert spec.family == "qa" and spec.needs_reference and spec.cost == "cheap"
    assert spec.gold_completion is not None and spec.wrong_completion is not None
    for gold in ("Paris", ["Lutetia", "Paris"], "xqzj"):
        good, bad = spec.gold_completion({}, gold, _p()), spec.wrong_completion({}, gold, _p())
        for metric in ("em", "f1"):
            assert score_qa(Sample(good, reference=gold), _p(metric=metric)).value == 1.0  # type: ignore[arg-type]
            assert score_qa(Sample(bad, reference=gold), _p(metric=metric)).value == 0.0


golds = st.one_of(st.sampled_from(["Paris", "Marie Curie", "42", "rock or roll"]),
                  st.lists(st.sampled_from(["Paris", "Lyon", "the Seine"]), min_size=1, max_size=3))  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(batch=st.lists(samples(reference=golds), min_size=1, max_size=6), metric=st.sampled_from(["em", "f1"]))
def test_properties(batch: list[Sample], metric: str) -> None:
    check_reward_properties(registry.get("qa_match"), {"metric": metric}, batch)


@settings(max_examples=60, deadline=None)
@given(text=completions(), gold=golds)
def test_em_never_exceeds_f1(text: str, gold: Any) -> None:
    em, f1 = _value(text, gold, metric="em"), _value(text, gold, metric="f1")
    assert em is not None and f1 is not None and em <= f1


_GOLDS = st.sampled_from(["Paris", "Marie Curie", "Denver Broncos"])
_OTHERS = st.sampled_from(["London", "Pierre Curie", "Carolina"])
_JOINERS = st.sampled_from([" or ", " / ", " or maybe "])
_WRAPS = st.sampled_from(["<answer>{}</answer>", "The answer is {}.", "\\boxed{{{}}}"])


@settings(max_examples=60, deadline=None)
@given(gold=_GOLDS, other=_OTHERS, joiner=_JOINERS, wrap=_WRAPS)
def test_a_hedge_including_the_gold_never_pays(gold: str, other: str, joiner: str, wrap: str) -> None:
    for answer in (gold + joiner + other, other + joiner + gold):
        assert _value(wrap.format(answer), gold, metric="f1") == 0.0
