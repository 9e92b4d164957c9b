"""Retries for judge requests: exponential backoff with jitter, Retry-After, and a circuit breaker.

A backend attempt raises `Retryable` (429, 5xx, transport errors, malformed replies) or `Fatal` (a 4xx
that retrying cannot fix, such as a bad key or an unknown model). `call_with_retries` turns the last
failure into `JudgeFailure`, which the caller scores as a masked error.

The breaker is what makes a dead server cheap: without it every sample of a batch would walk through
its own full backoff schedule, ``concurrency`` at a time. Once ``threshold`` attempts in a row have
failed at the transport level (refused, reset, timed out), with no answer in between, over at least
``window_s`` seconds, every later attempt in the batch fails at once. The window lets a server that
blinks (a restart, a load balancer switching over) be ridden out by the retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import random
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class Retryable(Exception):
    """A failure worth another attempt; ``transport`` when no HTTP answer came back at all."""

    def __init__(self, reason: str, *, retry_after: float | None = None, transport: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.transport = transport


class Fatal(Exception):
    """A failure that another attempt cannot fix."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JudgeFailure(Exception):
    """The request gave up; ``reason`` says why and ``attempts`` how many were made."""

    def __init__(self, reason: str, attempts: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int
    base_s: float
    cap_s: float

    def delay(self, retry: int, rng: random.Random) -> float:
        """Backoff before retry number ``retry`` (0-based): "equal jitter", half fixed and half random,
        so that synchronised clients spread out yet each still waits a growing minimum."""
        ceiling = min(self.cap_s, self.base_s * 2.0**retry)
        return ceiling / 2 + rng.random() * ceiling / 2


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait per a Retry-After header (seconds or HTTP-date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds) if seconds == seconds else None  # NaN reads as absent


class Breaker:
    """Counts transport failures in a row across all requests of one batch (one event loop, no lock)."""

    def __init__(self, threshold: int, window_s: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.window_s = window_s
        self.clock = clock
        self.failures_in_row = 0
        self.streak_start = 0.0
        self.last_reason = ""

    @property
    def open(self) -> bool:
        return self.failures_in_row >= self.threshold and self.clock() - self.streak_start >= self.window_s

    def record(self, exc: Retryable | None) -> None:
        if exc is None or not exc.transport:
            self.failures_in_row = 0  # the server answered: it is alive
            return
        if self.failures_in_row == 0:
            self.streak_start = self.clock()
        self.failures_in_row += 1
        self.last_reason = exc.reason


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    breaker: Breaker,
    rng: random.Random,
    gate: AbstractAsyncContextManager[object] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> tuple[T, int]:
    """Run ``attempt`` until it succeeds; return its result and the number of attempts made.

    Each attempt runs inside ``gate`` (the concurrency semaphore), which is released while backing off so
    that a waiting request never holds a slot. The breaker is checked after the gate is entered: requests
    queued behind a dead server's first failures then fail at once instead of trying in turn.
    """
    for n in range(policy.max_retries + 1):
        try:
            async with gate or contextlib.nullcontext():
                if breaker.open:
                    raise JudgeFailure(
                        f"judge server unreachable: {breaker.failures_in_row} attempts in a row failed "
                        f"(last: {breaker.last_reason}); not tried again",
                        n,
                    )
                result = await attempt()
        except Fatal as exc:
            breaker.record(None)
            raise JudgeFailure(exc.reason, n + 1) from None
        except Retryable as exc:
            breaker.record(exc)
            await _back_off(exc, n, policy, rng, sleep)
            continue
        breaker.record(None)
        return result, n + 1
    raise AssertionError("unreachable: the last attempt returns or raises")


async def _back_off(
    exc: Retryable, n: int, policy: RetryPolicy, rng: random.Random, sleep: Callable[[float], Awaitable[None]]
) -> None:
    """Sleep before retry ``n``, or raise `JudgeFailure` when no retry is left or allowed."""
    if n == policy.max_retries:
        raise JudgeFailure(f"{exc.reason} (gave up after {n + 1} attempts)", n + 1) from None
    wait = policy.delay(n, rng)
    if exc.retry_after is not None:
        if exc.retry_after > policy.cap_s:
            raise JudgeFailure(
                f"{exc.reason}; the server asked to retry after {exc.retry_after:.0f} s, more than "
                f"max_backoff_s={policy.cap_s:g} (raise it to wait that long)",
                n + 1,
            ) from None
        wait = max(wait, exc.retry_after)
    await sleep(wait)
