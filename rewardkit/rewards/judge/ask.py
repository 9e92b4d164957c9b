"""The request engine every judge kind shares: cache, concurrency, retries, and what a bad reply costs.

Each `Request` carries its rendered messages, the reader that turns a reply into a verdict (`parse`), and
optionally a JSON schema for structured output. One request is tried like this:

1. transport failures (429, 5xx, timeouts, refused connections) are retried with backoff (`retry`);
2. a reply cut off by ``max_tokens`` (``finish_reason == "length"``) or one the reader cannot vouch for
   is asked once more, with `templates.STRICT_RETRY` appended and twice the token allowance;
3. after that second try the answer is ``truncated`` (the caller masks it: most often the judge's own
   limit) or ``unreadable`` (the caller scores the low value: most often the completion derailing it).

Only readable verdicts are cached. The engine runs on its own event loop (`run_coroutine`), from any
thread, whether or not the caller already runs a loop.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, Protocol, TypeVar

from .cache import Entry, VerdictCache
from .config import ServerParams
from .openai_http import Reply
from .parse import Parsed, Unreadable
from .retry import Breaker, JudgeFailure, RetryPolicy, call_with_retries
from .templates import stricter

log = logging.getLogger("rewardkit.judge")
T = TypeVar("T")


class Ranked(NamedTuple):
    """A verdict on several responses at once (a listwise group judge): one value in [0, 1] each."""

    values: tuple[float, ...]


Verdict = Parsed | Ranked
Reader = Callable[[Reply], "Verdict | Unreadable"]


@dataclass
class Request:
    key: str
    messages: list[dict[str, str]]
    read: Reader
    schema: dict[str, Any] | None = None
    top_logprobs: int = 0
    reread: bool = False  # on a cache hit, read the cached text again (verdicts with several values)
    indices: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Answer:
    status: Literal["ok", "unreadable", "truncated", "error"]
    verdict: Verdict | None
    text: str
    reason: str
    attempts: int
    cached: bool = False


class Backend(Protocol):
    async def complete(
        self,
        messages: list[dict[str, str]],
        schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
        top_logprobs: int = 0,
    ) -> Reply: ...


def ask(
    requests: Sequence[Request],
    params: ServerParams,
    make_backend: Callable[[], Any],
    redact: Callable[[str], str],
) -> dict[str, Answer]:
    """Answers by request key: from the cache where it has them, else from the backend."""
    cache = VerdictCache(params.cache_path)
    by_key = {r.key: r for r in requests}
    hits = cache.get_many(by_key)
    answers = {key: _from_cache(by_key[key], entry) for key, entry in hits.items()}
    todo = [r for key, r in by_key.items() if key not in hits]
    if todo:
        fresh = run_coroutine(lambda: _ask_all(todo, params, make_backend, redact))
        answers.update(fresh)
        cache.put_many({key: _entry(a) for key, a in fresh.items() if a.status == "ok" and a.verdict})
    return answers


def _from_cache(request: Request, entry: Entry) -> Answer:
    verdict: Verdict | Unreadable = (
        request.read(Reply(entry.verdict)) if request.reread else Parsed(entry.value, entry.raw, entry.out_of)
    )
    if isinstance(verdict, Unreadable):  # cannot happen for a text that was read before; stay safe
        return Answer("unreadable", None, entry.verdict, verdict.reason, 0, cached=True)
    return Answer("ok", verdict, entry.verdict, "", 0, cached=True)


def _entry(answer: Answer) -> Entry:
    verdict = answer.verdict
    if isinstance(verdict, Ranked):
        mean = sum(verdict.values) / max(len(verdict.values), 1)
        return Entry(mean, 0.0, 0.0, answer.text)
    assert verdict is not None
    return Entry(verdict.value, verdict.raw, verdict.out_of, answer.text)


async def _ask_all(
    todo: list[Request], params: ServerParams, make_backend: Callable[[], Any], redact: Callable[[str], str]
) -> dict[str, Answer]:
    policy = RetryPolicy(params.max_retries, params.backoff_s, params.max_backoff_s)
    breaker = Breaker(params.breaker_failures, params.breaker_window_s)
    rng, gate = random.Random(), asyncio.Semaphore(params.concurrency)
    async with make_backend() as backend:

        async def one(request: Request) -> tuple[str, Answer]:
            return request.key, await _ask_one(request, backend, params, policy, breaker, rng, gate, redact)

        answers = dict(await asyncio.gather(*(one(r) for r in todo)))
    _log_batch(answers, len(todo))
    return answers


async def _ask_one(
    request: Request,
    backend: Backend,
    params: ServerParams,
    policy: RetryPolicy,
    breaker: Breaker,
    rng: random.Random,
    gate: asyncio.Semaphore,
    redact: Callable[[str], str],
) -> Answer:
    messages, max_tokens, total = request.messages, params.max_tokens, 0
    status: Literal["unreadable", "truncated"] = "unreadable"
    reason, text = "", ""
    for _round in range(2):
        attempt = functools.partial(backend.complete, messages, request.schema, max_tokens, request.top_logprobs)
        try:
            reply, attempts = await call_with_retries(attempt, policy, breaker, rng, gate)
        except JudgeFailure as failure:
            return Answer("error", None, "", redact(failure.reason), total + failure.attempts)
        total += attempts
        text = redact(reply.text)
        if reply.finish_reason == "length":
            status, reason = "truncated", f"the judge's reply was cut off at max_tokens={max_tokens}"
        else:
            verdict = request.read(Reply(text, reply.finish_reason, reply.logprobs))
            if not isinstance(verdict, Unreadable):
                return Answer("ok", verdict, text, "", total)
            status, reason = "unreadable", verdict.reason
        messages, max_tokens = stricter(request.messages), max_tokens * 2
    return Answer(status, None, text, reason, total)


def _log_batch(answers: dict[str, Answer], sent: int) -> None:
    """One line per batch and kind of failure: a dead server must not print a line per sample."""
    for status in ("error", "truncated", "unreadable"):
        bad = [a.reason for a in answers.values() if a.status == status]
        if bad:
            log.warning("judge: %d of %d requests %s; first: %s", len(bad), sent, status, bad[0])


def run_coroutine(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, whether or not this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with ThreadPoolExecutor(1, thread_name_prefix="rewardkit-judge") as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()
