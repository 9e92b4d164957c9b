"""Judging a batch: render, deduplicate, look up the cache, ask the backend, parse, store, check the budget.

GRPO samples several completions per prompt and short answers repeat, so identical requests in a batch
are sent once. HTTP requests of a batch run concurrently on an event loop of their own; when the calling
thread already runs a loop (TRL's async reward functions, notebooks), that loop is left alone and the
batch runs on a helper thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ...errors import ConfigError, ErrorBudgetExceeded
from ...types import Sample, Score, Status
from .cache import Entry, VerdictCache, cache_key
from .config import JudgeParams
from .parse import parse_verdict
from .retry import Breaker, JudgeFailure, RetryPolicy, call_with_retries
from .templates import Template, load_template, render

log = logging.getLogger("rewardkit.judge")
T = TypeVar("T")
#: The outcome of one request: the score for every sample that asked it, and what to cache (if anything).
Outcome = tuple[Score, "Entry | None"]


@dataclass
class Job:
    key: str
    messages: list[dict[str, str]]
    indices: list[int] = field(default_factory=list)


class Redactor:
    """Removes the API key from any text that leaves the backend (reasons, verdicts, logs)."""

    def __init__(self, secret: str | None) -> None:
        self.secret = secret or ""

    def __call__(self, text: str) -> str:
        return text.replace(self.secret, "[REDACTED]") if self.secret else text


def judge_batch(samples: Sequence[Sample], params: JudgeParams) -> list[Score]:
    if not params.model:
        what = (
            "the model name the server serves" if params.backend == "openai" else "a saved model's directory"
        )
        raise ConfigError(f"the judge reward needs params.model: {what}")
    template = load_template(params.template, params.verdict)
    api_key = _api_key(params)
    redact = Redactor(api_key)
    scores: list[Score | None] = [None] * len(samples)
    jobs = plan(samples, template, params, scores)
    cache = VerdictCache(params.cache_path)
    hits = cache.get_many(jobs)
    outcomes: dict[str, Outcome] = {
        key: (score_entry(entry, template.verdict, cached=True, attempts=0), None)
        for key, entry in hits.items()
    }
    todo = [job for key, job in jobs.items() if key not in hits]
    if todo:
        outcomes.update(_ask_backend(todo, template, params, api_key, redact))
    cache.put_many({key: entry for key, (_, entry) in outcomes.items() if entry is not None})
    for key, job in jobs.items():
        for i in job.indices:
            scores[i] = outcomes[key][0]
    final = [
        s if s is not None else Score.error("judge: internal error, sample left unscored") for s in scores
    ]
    check_budget(final, params)
    return final


def _api_key(params: JudgeParams) -> str | None:
    if params.api_key_env is None or params.backend != "openai":
        return None
    key = os.environ.get(params.api_key_env)
    if not key:
        raise ConfigError(
            f"judge: api_key_env is {params.api_key_env!r} but that environment variable is unset or empty. "
            f"Export it (export {params.api_key_env}=...), or set api_key_env to null for a keyless server."
        )
    return key


def identity(params: JudgeParams, verdict: str) -> dict[str, Any]:
    """What besides the messages decides a verdict (the cache key's other half); never the key."""
    ident: dict[str, Any] = {
        "v": 1,
        "backend": params.backend,
        "model": params.model,
        "verdict": verdict,
        "scale": params.scale,
    }
    if params.backend == "openai":
        ident.update(
            base_url=params.base_url.rstrip("/"), temperature=params.temperature, max_tokens=params.max_tokens
        )
    elif params.logprobs:
        ident["logprobs"] = True
    else:
        ident["max_tokens"] = params.max_tokens
    return ident


def plan(
    samples: Sequence[Sample], template: Template, params: JudgeParams, scores: list[Score | None]
) -> dict[str, Job]:
    """One job per distinct request; rows the template cannot render get ``not_applicable`` in ``scores``."""
    ident = identity(params, template.verdict)
    jobs: dict[str, Job] = {}
    for i, sample in enumerate(samples):
        messages = render(template, sample, params.scale)
        if messages is None:
            scores[i] = Score.not_applicable(
                f"judge template {template.name!r} shows a reference; this row has none"
            )
            continue
        key = cache_key(ident, messages)
        jobs.setdefault(key, Job(key, messages)).indices.append(i)
    return jobs


def score_entry(entry: Entry, verdict: str, *, cached: bool, attempts: int) -> Score:
    figure = ("yes" if entry.raw else "no") if verdict == "yes_no" else f"{entry.raw:.3g}/{entry.out_of:g}"
    return Score.ok(
        entry.value, f"judge said {figure}", verdict=entry.verdict[-1000:], cached=cached, attempts=attempts
    )


def score_verdict(
    text: str, verdict: str, scale: int, attempts: int, redact: Callable[[str], str]
) -> Outcome:
    """Parse a reply; an unreadable one is a masked error, never a 0 or a 1 (and is not cached)."""
    text = redact(text)
    parsed = parse_verdict(text, verdict, scale)
    if parsed is None:
        wanted = "'Verdict: yes|no'" if verdict == "yes_no" else f"'Score: N' (0-{scale})"
        last = text.strip().splitlines()[-1][:120] if text.strip() else ""
        reason = f"judge verdict has no readable {wanted} line; last line: {last!r}"
        return Score.error(reason, verdict=text[-1000:], attempts=attempts), None
    entry = Entry(parsed.value, parsed.raw, parsed.out_of, text)
    return score_entry(entry, verdict, cached=False, attempts=attempts), entry


def check_budget(scores: Sequence[Score], params: JudgeParams) -> None:
    applicable = [s for s in scores if s.status is not Status.NOT_APPLICABLE]
    failed = [s for s in applicable if s.status is Status.ERROR]
    if len(applicable) < params.error_budget_min_samples or not failed:
        return
    rate = len(failed) / len(applicable)
    if rate > params.max_error_rate:
        where = params.base_url if params.backend == "openai" else params.model
        raise ErrorBudgetExceeded(
            f"judge: {len(failed)} of {len(applicable)} samples failed ({rate:.0%}, more than "
            f"max_error_rate={params.max_error_rate:g}); first: {failed[0].reason}. Check that the judge at "
            f"{where} is up and serves model {params.model!r}, or raise max_error_rate (1.0 never raises)."
        )


def _ask_backend(
    todo: list[Job], template: Template, params: JudgeParams, api_key: str | None, redact: Redactor
) -> dict[str, Outcome]:
    if params.backend == "transformers":
        from .local_transformers import judge_local

        return judge_local(todo, template, params)
    return run_coroutine(lambda: _judge_http(todo, template, params, api_key, redact))


async def _judge_http(
    todo: list[Job], template: Template, params: JudgeParams, api_key: str | None, redact: Redactor
) -> dict[str, Outcome]:
    from .openai_http import OpenAIChatBackend

    policy = RetryPolicy(params.max_retries, params.backoff_s, params.max_backoff_s)
    breaker, rng, gate = (
        Breaker(params.breaker_failures, params.breaker_window_s),
        random.Random(),
        asyncio.Semaphore(params.concurrency),
    )
    async with OpenAIChatBackend(
        params.base_url,
        params.model,
        api_key,
        params.timeout_s,
        params.concurrency,
        params.temperature,
        params.max_tokens,
    ) as backend:

        async def one(job: Job) -> tuple[str, Outcome]:
            try:
                text, attempts = await call_with_retries(
                    lambda: backend.complete(job.messages), policy, breaker, rng, gate
                )
            except JudgeFailure as failure:
                return job.key, (Score.error(redact(failure.reason), attempts=failure.attempts), None)
            return job.key, score_verdict(text, template.verdict, params.scale, attempts, redact)

        outcomes = dict(await asyncio.gather(*(one(job) for job in todo)))
    failed = [score.reason for score, _ in outcomes.values() if score.status is Status.ERROR]
    if failed:  # one line per batch: a dead server must not print a line per sample
        log.warning("judge: %d of %d requests failed; first: %s", len(failed), len(todo), failed[0])
    return outcomes


def run_coroutine(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, whether or not this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with ThreadPoolExecutor(1, thread_name_prefix="rewardkit-judge") as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()
