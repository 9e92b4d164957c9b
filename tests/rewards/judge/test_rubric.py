"""The rubric judge: criteria per row or per config, weights and pitfalls, dropout, details, failures."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewardkit import Sample, Status
from rewardkit.errors import ParamError
from rewardkit.rewards.judge.rubric import Criterion, combine, kept, parse_criteria, rubric_batch

from .fake_server import Reply, chat, serve, universal
from .helpers import kind_params

pytestmark = pytest.mark.timeout(60)
RUBRIC = [
    {"name": "capital", "criterion": "mentions Canberra", "weight": 3},
    {"name": "country", "criterion": "mentions Australia", "weight": 1},
    {"name": "pitfall", "criterion": "mentions Sydney", "weight": -2},
]


def row(text: str, rubric: Any = RUBRIC) -> Sample:
    return Sample(text, "What is the capital of Australia?", columns={"rubric": rubric})


@pytest.mark.parametrize(
    ("text", "expected", "criteria"),
    [
        ("Canberra is the capital of Australia.", 1.0, {"capital": 1.0, "country": 1.0, "pitfall": 0.0}),
        ("Canberra.", 5 / 6, {"capital": 1.0, "country": 0.0, "pitfall": 0.0}),  # (3 + 0 + 2) / 6
        ("Sydney, Australia.", 1 / 6, {"capital": 0.0, "country": 1.0, "pitfall": 1.0}),  # the pitfall costs 2
        ("No idea.", 2 / 6, {"capital": 0.0, "country": 0.0, "pitfall": 0.0}),
    ],
)
def test_weighted_criteria_from_the_row(text: str, expected: float, criteria: dict[str, float]) -> None:
    with serve(universal) as judge:
        [score] = rubric_batch([row(text)], kind_params("rubric_judge", judge.url))
    assert score.status is Status.OK and score.value == pytest.approx(expected)
    assert score.details["criteria"] == criteria and score.details["weights"]["pitfall"] == -2.0
    assert len(judge.requests) == 3  # one request per criterion


def test_config_criteria_serve_rows_without_their_own_and_json_strings_parse() -> None:
    samples = [Sample("Canberra.", "q"), row("Canberra, Australia.", '["mentions Australia"]')]
    with serve(universal) as judge:
        scores = rubric_batch(samples, kind_params("rubric_judge", judge.url, criteria=["mentions Canberra"]))
    assert [s.value for s in scores] == [1.0, 1.0]
    assert list(scores[1].details["criteria"]) == ["c1"]


def test_rows_without_criteria_are_not_applicable() -> None:
    with serve(universal) as judge:
        [none, bad] = rubric_batch(
            [Sample("a", "q"), row("a", [{"weight": 1}])], kind_params("rubric_judge", judge.url)
        )
    assert none.status is Status.NOT_APPLICABLE and "no 'rubric' column" in none.reason
    assert bad.status is Status.NOT_APPLICABLE and "non-empty 'criterion'" in bad.reason
    assert judge.requests == []


def test_score_verdicts_per_criterion() -> None:
    with serve(universal) as judge:
        [score] = rubric_batch([row("Canberra.")], kind_params("rubric_judge", judge.url, verdict="score"))
    assert score.value == pytest.approx(5 / 6)
    assert "Score: N" in judge.requests[0]["messages"][1]["content"]


def test_an_unreadable_criterion_counts_as_its_worst_case() -> None:
    with serve(lambda n, r, h: Reply(body=chat("N/A"))) as judge:
        [score] = rubric_batch([row("Canberra is the capital of Australia.")], kind_params("rubric_judge", judge.url))
    # capital and country: not met; pitfall: present. The worst case, never a null.
    assert score.status is Status.OK and score.value == 0.0
    assert set(score.details["status"].values()) == {"unreadable"}


def test_an_outage_masks_the_whole_score() -> None:
    with serve(lambda n, r, h: Reply(500, "down")) as judge:
        [score] = rubric_batch([row("Canberra.")], kind_params("rubric_judge", judge.url, max_retries=0))
    assert score.status is Status.ERROR and score.value is None and "criterion" in score.reason


def test_dropout_is_per_prompt_and_seed_and_keeps_one() -> None:
    criteria = parse_criteria([f"mentions w{i}" for i in range(8)], "t")
    with serve(universal) as judge:
        p = kind_params("rubric_judge", judge.url, dropout=0.5, dropout_seed=3)
    a, b = Sample("x", "prompt one"), Sample("y", "prompt one")
    assert kept(criteria, a, p) == kept(criteria, b, p)  # every completion of a prompt sees the same criteria
    assert 0 < len(kept(criteria, a, p)) < 8
    other_seed = kind_params("rubric_judge", judge.url, dropout=0.5, dropout_seed=4)
    draws = {tuple(c.name for c in kept(criteria, Sample("x", f"p{i}"), other_seed)) for i in range(20)}
    assert len(draws) > 5  # the subset varies between prompts
    always = kind_params("rubric_judge", judge.url, dropout=0.99)
    assert len(kept(criteria, a, always)) == 1


def test_dropped_criteria_are_reported() -> None:
    rubric = [f"mentions w{i}" for i in range(6)]
    with serve(universal) as judge:
        [score] = rubric_batch([row("w0 w1 w2 w3 w4 w5", rubric)], kind_params("rubric_judge", judge.url, dropout=0.5))
    assert score.value == 1.0 and len(score.details["dropped"]) + len(score.details["criteria"]) == 6
    assert len(judge.requests) == len(score.details["criteria"])


@pytest.mark.parametrize(
    "bad",
    [["  "], [{"criterion": "x", "weight": 0}], [{"criterion": "x", "weight": True}], "not json", [{"name": "a",
     "criterion": "x"}, {"name": "a", "criterion": "y"}]],
)  # fmt: skip
def test_bad_config_criteria_are_parameter_errors(bad: Any) -> None:
    with pytest.raises(ParamError):
        kind_params("rubric_judge", "http://127.0.0.1:1/v1", criteria=bad if isinstance(bad, list) else [bad, 1])


@given(st.lists(st.tuples(st.floats(-5, 5).filter(lambda w: abs(w) > 1e-3), st.floats(0, 1)), min_size=1, max_size=8))
def test_combined_value_is_in_unit_interval_and_monotone_in_each_positive_criterion(
    pairs: list[tuple[float, float]],
) -> None:
    values = [(Criterion(f"c{i}", "t", w), s) for i, (w, s) in enumerate(pairs)]
    value = combine(values)
    assert 0.0 <= value <= 1.0
    best = combine([(c, 1.0 if c.weight > 0 else 0.0) for c, _ in values])
    assert best == pytest.approx(1.0) and value <= best + 1e-9
