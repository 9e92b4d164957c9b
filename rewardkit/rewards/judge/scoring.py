"""Judging a batch with the ``judge`` reward: render, deduplicate, ask (`ask`), turn answers into scores.

GRPO samples several completions per prompt and short answers repeat, so identical requests in a batch
are sent once. What each kind of answer becomes (`answer_score`), the one policy every judge kind uses:

- a readable verdict: its value, status ``ok``;
- unreadable twice (the reply arrived, the verdict did not): the reward's low value, status ``ok``,
  ``details.verdict_status = "unreadable"`` and a reason saying so (``on_unreadable: mask`` gives a null
  instead). A completion that derails its judge must not escape as a null, and since these are not
  errors they never count toward an error budget: a derailed judge never stops a run;
- cut off by ``max_tokens`` twice: masked (``error``, ``verdict_status = "truncated"``), since a limit
  too small for the judge must not turn a run's rewards into zeros;
- an outage: masked (``error``), counted by the composition's error budget.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...errors import ConfigError, ErrorBudgetExceeded
from ...types import Sample, Score, Status
from .ask import Answer, Request, ask
from .cache import Entry, cache_key
from .config import JudgeParams, ServerParams
from .openai_http import Reply
from .parse import Parsed, Unreadable, read_verdict
from .templates import Template, load_template, render

#: The outcome of one local logprob request: the score, and what to cache (if anything).
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


def api_key(params: ServerParams) -> str | None:
    if params.api_key_env is None or params.backend != "openai":
        return None
    key = os.environ.get(params.api_key_env)
    if not key:
        raise ConfigError(
            f"judge: api_key_env is {params.api_key_env!r} but that environment variable is unset or empty. "
            f"Export it (export {params.api_key_env}=...), or set api_key_env to null for a keyless server."
        )
    return key


def require_model(params: ServerParams) -> None:
    if not params.model:
        what = "the model name the server serves" if params.backend == "openai" else "a saved model's directory"
        raise ConfigError(f"the judge reward needs params.model: {what}")


def backend_factory(params: ServerParams, key: str | None) -> Callable[[], Any]:
    """A callable making the backend for one batch (an async context manager with ``complete``)."""
    if params.backend == "transformers":
        from .local_transformers import LocalChatBackend

        return lambda: LocalChatBackend(params.model, params.device)
    from .openai_http import OpenAIChatBackend

    return lambda: OpenAIChatBackend(
        params.base_url, params.model, key, params.timeout_s, params.concurrency,
        params.temperature, params.max_tokens, params.structured,
    )  # fmt: skip


def identity(params: ServerParams, verdict: str, **extra: Any) -> dict[str, Any]:
    """What besides the messages decides a verdict (the cache key's other half); never the key."""
    ident: dict[str, Any] = {
        "v": 2,
        "backend": params.backend,
        "model": params.model,
        "verdict": verdict,
        "scale": getattr(params, "scale", None),
        **extra,
    }
    if params.backend == "openai":
        ident.update(
            base_url=params.base_url.rstrip("/"), temperature=params.temperature,
            max_tokens=params.max_tokens, structured=params.structured,
        )  # fmt: skip
    elif getattr(params, "logprobs", False):
        ident["logprobs"] = True
    else:
        ident["max_tokens"] = params.max_tokens
    return ident


def score_schema(kind: str, scale: int) -> dict[str, Any]:
    """The JSON schema of a verdict: reasoning first (the judge thinks, then decides), then the figure."""
    figure: dict[str, Any] = (
        {"type": "string", "enum": ["yes", "no"]}
        if kind == "yes_no"
        else {"type": "integer", "minimum": 0, "maximum": scale}
    )
    name = "verdict" if kind == "yes_no" else "score"
    return {
        "type": "object",
        "properties": {"reasoning": {"type": "string"}, name: figure},
        "required": ["reasoning", name],
        "additionalProperties": False,
    }


def figure_of(verdict: Any, kind: str) -> str:
    if kind == "yes_no":
        return "yes" if verdict.raw else "no"
    if kind == "choice":
        return f"{verdict.value:.3g}"
    return f"{verdict.raw:.3g}/{verdict.out_of:g}"


def answer_score(answer: Answer, params: ServerParams, figure: str = "", low: float = 0.0) -> Score:
    """The policy of the module docstring, for one answer; ``figure`` describes a readable verdict."""
    common = {"verdict": answer.text[-1000:], "attempts": answer.attempts, "cached": answer.cached}
    if answer.status == "ok":
        assert answer.verdict is not None
        value = answer.verdict.value if isinstance(answer.verdict, Parsed) else low
        return Score.ok(value, f"judge said {figure}", **common)
    if answer.status == "unreadable":
        why = f"judge verdict unreadable after a stricter second request ({answer.reason})"
        if params.on_unreadable == "mask":
            return Score.error(why, verdict_status="unreadable", **common)
        return Score.ok(low, why + "; scored the low value", verdict_status="unreadable", **common)
    if answer.status == "truncated":
        return Score.error(
            f"{answer.reason} on its second try as on its first; masked (raise max_tokens if the judge "
            "needs more room)",
            verdict_status="truncated", **common,
        )  # fmt: skip
    return Score.error(answer.reason, attempts=answer.attempts)


def verdict_reader(kind: str, scale: int, quotes: Sequence[str]) -> Callable[[Reply], Parsed | Unreadable]:
    return lambda reply: read_verdict(reply.text, kind, scale, quotes)


def quotes_of(*texts: str) -> tuple[str, ...]:
    """What a verdict must not be quoted from: each graded text, raw and as the judge saw it encoded."""
    from .safety import encode

    return tuple(t for text in texts for t in (text, encode(text)))


def judge_batch(samples: Sequence[Sample], params: JudgeParams) -> list[Score]:
    require_model(params)
    template = load_template(params.template, params.verdict)
    key = api_key(params)
    redact = Redactor(key)
    scores: list[Score | None] = [None] * len(samples)
    if params.backend == "transformers" and params.logprobs:
        from .local_transformers import judge_logprobs

        final = judge_logprobs(samples, template, params, scores)
    else:
        requests = plan(samples, template, params, scores)
        answers = ask(list(requests.values()), params, backend_factory(params, key), redact)
        for req_key, request in requests.items():
            answer = answers[req_key]
            figure = figure_of(answer.verdict, template.verdict) if answer.verdict else ""
            for i in request.indices:
                scores[i] = answer_score(answer, params, figure)
        final = [s if s is not None else Score.error("judge: internal error, sample left unscored") for s in scores]
    check_budget(final, params)
    return final


def plan(
    samples: Sequence[Sample], template: Template, params: JudgeParams, scores: list[Score | None]
) -> dict[str, Request]:
    """One request per distinct prompt; rows the template cannot render get ``not_applicable`` in ``scores``."""
    ident = identity(params, template.verdict)
    schema = None if params.structured == "off" else score_schema(template.verdict, params.scale)
    requests: dict[str, Request] = {}
    for i, sample in enumerate(samples):
        messages = render(template, sample, params.scale)
        if messages is None:
            scores[i] = Score.not_applicable(f"judge template {template.name!r} shows a reference; this row has none")
            continue
        key = cache_key(ident, messages)
        reader = verdict_reader(template.verdict, params.scale, quotes_of(sample.text))
        requests.setdefault(key, Request(key, messages, reader, schema)).indices.append(i)
    return requests


def score_entry(entry: Entry, verdict: str, *, cached: bool, attempts: int) -> Score:
    figure = ("yes" if entry.raw else "no") if verdict == "yes_no" else f"{entry.raw:.3g}/{entry.out_of:g}"
    return Score.ok(
        entry.value, f"judge said {figure}", verdict=entry.verdict[-1000:], cached=cached, attempts=attempts
    )


def check_budget(scores: Sequence[Score], params: ServerParams) -> None:
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


def stable_hash(*parts: Any) -> int:
    """A hash that is the same in every process (Python's ``hash`` of a str is salted per process)."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return int.from_bytes(hashlib.sha256(blob.encode("utf-8", "surrogatepass")).digest()[:8], "big")
