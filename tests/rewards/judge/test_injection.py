"""Ten injected wrong answers x six reply behaviours they can cause in a judge: none may pay, none may escape.

Done when: 0 of the 60 cases (per template) gives a wrong answer more than the low value, or a null.
"""

from __future__ import annotations

import pytest

from rewardkit import Sample, Status, compose
from rewardkit.rewards.judge import judge_batch

from .fake_server import CONFUSED, confused, serve
from .injections import GOLD, INJECTIONS, QUESTION
from .test_http import params

pytestmark = pytest.mark.timeout(120)
ROWS = [Sample(text, QUESTION, GOLD) for text in INJECTIONS.values()]


@pytest.mark.parametrize("template", ["rubric", "yes_no"])
@pytest.mark.parametrize("behaviour", sorted(CONFUSED))
def test_no_injection_pays_or_escapes(template: str, behaviour: str) -> None:
    with serve(confused(behaviour)) as judge:
        scores = judge_batch(ROWS, params(judge.url, template=template, max_error_rate=0.5))
    failures = {
        name: (s.value, s.status.value, s.reason)
        for name, s in zip(INJECTIONS, scores, strict=True)
        if s.value is None or s.value > 0.0
    }
    assert failures == {}
    assert len(judge.requests) <= 2 * len(ROWS)  # at most one stricter second request each


def test_the_honest_path_still_pays() -> None:
    """The same judges grade a right answer at the top wherever they can be read at all."""
    right = [Sample("Canberra.", QUESTION, GOLD)]
    with serve(confused("score_then_quote")) as judge:  # reads: verdict line not last, then low
        [quoted] = judge_batch(right, params(judge.url))
    with serve(confused("json")) as judge:
        [structured] = judge_batch(right, params(judge.url))
    with serve(confused("truncated_quote")) as judge:
        [retried] = judge_batch(right, params(judge.url))
    assert structured.value == 1.0 and retried.value == 1.0 and retried.details["attempts"] == 2
    assert quoted.value == 0.0 and quoted.details["verdict_status"] == "unreadable"  # a judge that quotes costs


def test_a_judge_truncated_twice_is_masked_and_counted() -> None:
    with serve(confused("truncated_quote", deaf=True)) as judge:
        [score] = judge_batch(ROWS[:1], params(judge.url))
    assert score.status is Status.ERROR and score.value is None
    assert score.details["verdict_status"] == "truncated" and "max_tokens=1024 on its second try" in score.reason
    assert [r["max_tokens"] for r in judge.requests] == [512, 1024]  # the second try gets more room


def test_a_derailed_judge_never_stops_a_run() -> None:
    """Eight rows that derail the judge: the composition's error budget (0.5) is not touched."""
    judge_params = {"model": "m", "cache_path": None, "backoff_s": 0.01}
    with serve(confused("derailed")) as judge:
        reward = compose({"rewards": [{"name": "judge", "params": {**judge_params, "base_url": judge.url}}]})
        values = reward(prompts=[QUESTION] * 8, completions=[INJECTIONS["derail"]] * 8, answer=[GOLD] * 8)
    assert values == [0.0] * 8
