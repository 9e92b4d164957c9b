"""Backoff schedule, Retry-After parsing, and the retry loop with its circuit breaker (no network)."""

from __future__ import annotations

import asyncio
import email.utils
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewardkit.rewards.judge.retry import (
    Breaker,
    Fatal,
    JudgeFailure,
    Retryable,
    RetryPolicy,
    call_with_retries,
    parse_retry_after,
)


@given(st.integers(0, 30), st.floats(0.001, 5), st.floats(0.01, 60), st.integers(0, 2**32))
def test_delay_grows_within_its_jitter_band(retry: int, base: float, cap: float, seed: int) -> None:
    policy = RetryPolicy(5, base, cap)
    ceiling = min(cap, base * 2.0**retry)
    assert ceiling / 2 <= policy.delay(retry, random.Random(seed)) <= ceiling


def test_jitter_spreads_clients() -> None:
    rng = random.Random(1)
    delays = {round(RetryPolicy(5, 1.0, 60).delay(3, rng), 6) for _ in range(50)}
    assert len(delays) > 40


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        ("0.5", 0.5),
        ("-2", 0.0),  # a negative delay means "now"
        (None, None),
        ("", None),
        ("soon", None),  # unreadable: fall back to our own backoff
        ("nan", None),
        (email.utils.formatdate(1000.0 + 120, usegmt=True), 120.0),  # an HTTP-date 2 minutes ahead
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=1000.0) == expected


def run(
    script: list[BaseException | str], policy: RetryPolicy, breaker: Breaker | None = None
) -> tuple[str, int, list[float]]:
    """Drive call_with_retries through scripted outcomes, recording the sleeps instead of sleeping."""
    waits: list[float] = []
    outcomes = iter(script)

    async def attempt() -> str:
        item = next(outcomes)
        if isinstance(item, BaseException):
            raise item
        return item

    async def sleep(s: float) -> None:
        waits.append(s)

    async def main() -> tuple[str, int]:
        return await call_with_retries(
            attempt, policy, breaker or Breaker(100), random.Random(0), sleep=sleep
        )

    result, attempts = asyncio.run(main())
    return result, attempts, waits


def test_retries_then_succeeds_with_growing_waits() -> None:
    result, attempts, waits = run(
        [Retryable("a"), Retryable("b"), Retryable("c"), "ok"], RetryPolicy(5, 1.0, 60)
    )
    assert (result, attempts) == ("ok", 4)
    assert 0.5 <= waits[0] <= 1 and 1 <= waits[1] <= 2 and 2 <= waits[2] <= 4


def test_retry_after_sets_a_floor_on_the_wait() -> None:
    _, _, waits = run([Retryable("429", retry_after=7.0), "ok"], RetryPolicy(3, 0.1, 60))
    assert waits == [7.0]


def test_gives_up_after_max_retries() -> None:
    with pytest.raises(JudgeFailure, match=r"c \(gave up after 3 attempts\)") as err:
        run([Retryable("a"), Retryable("b"), Retryable("c"), "never"], RetryPolicy(2, 0.1, 1))
    assert err.value.attempts == 3


def test_fatal_is_not_retried() -> None:
    with pytest.raises(JudgeFailure, match="bad request") as err:
        run([Fatal("bad request"), "never"], RetryPolicy(5, 0.1, 1))
    assert err.value.attempts == 1


def test_breaker_opens_after_transport_failures_in_a_row() -> None:
    breaker = Breaker(3)
    failures = [Retryable(f"refused {i}", transport=True) for i in range(3)]
    with pytest.raises(JudgeFailure, match=r"3 attempts in a row failed \(last: refused 2\)"):
        run([*failures, "never reached"], RetryPolicy(10, 0.01, 1), breaker)
    assert breaker.open


def test_breaker_waits_for_its_window() -> None:
    now = [0.0]
    breaker = Breaker(2, window_s=2.0, clock=lambda: now[0])
    for _ in range(5):
        breaker.record(Retryable("refused", transport=True))
    assert not breaker.open  # many failures, but all at once: maybe a restart
    now[0] = 2.5
    assert breaker.open


def test_an_http_answer_resets_the_breaker() -> None:
    breaker = Breaker(3)
    script: list[BaseException | str] = [Retryable("t", transport=True)] * 2 + [Retryable("503")]
    script += [Retryable("t", transport=True)] * 2 + ["ok"]
    assert run(script, RetryPolicy(10, 0.01, 1), breaker)[:2] == ("ok", 6)
    assert breaker.failures_in_row == 0
