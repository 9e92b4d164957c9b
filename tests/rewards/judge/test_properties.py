"""The properties every reward must have (rewardkit.testing), checked on the judge against a live server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardkit import Sample, Status
from rewardkit.rewards.judge import judge_batch
from rewardkit.testing import check_reward_properties, samples

from .fake_server import FakeJudge, Reply, chat, grading, serve
from .test_http import params

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def judge() -> Iterator[FakeJudge]:
    with serve() as server:
        yield server


@settings(max_examples=25)
@given(batch=st.lists(samples(), min_size=1, max_size=6))
def test_reward_properties_hold(judge: FakeJudge, batch: list[Sample]) -> None:
    from rewardkit import registry

    results = check_reward_properties(registry.get("judge"), params(judge.url), batch)
    for sample, score in zip(batch, results, strict=True):
        has_ref = sample.reference is not None and str(sample.reference).strip() != ""
        assert score.status is Status.OK and (score.value in (0.9, 0.2) if has_ref else score.value == 0.5)


@settings(max_examples=25)
@given(text=st.text(max_size=200), noise=st.sampled_from(["", " ", "\n", "  \n\n"]))
def test_prose_before_the_final_score_line_does_not_change_it(
    judge: FakeJudge, text: str, noise: str
) -> None:
    judge.behaviour = lambda n, r, h: Reply(body=chat(f"{noise}{text}\nScore: 6{noise}"))
    try:
        [score] = judge_batch([Sample("a", "q")], params(judge.url))
    finally:
        judge.behaviour = grading
    assert score.value == pytest.approx(0.6)
