"""Parameters of the judge rewards (validated by `rewardkit.params.build_params`).

`ServerParams` is what every judge kind shares (where the judge is, how it is asked, what a failure costs);
`JudgeParams` adds the ``judge`` reward's template and scale. The rubric, verifier, cascade and group
judges extend `ServerParams` in their own modules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ...params import param
from .cache import DEFAULT_PATH

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class ServerParams:
    backend: Literal["openai", "transformers"] = param(
        "openai", "'openai': any OpenAI-compatible chat-completions server; 'transformers': a local model"
    )
    base_url: str = param("http://127.0.0.1:8000/v1", "server URL up to /v1 (backend 'openai')")
    model: str = param("", "model name the server serves, or a local model directory (backend 'transformers')")
    api_key_env: str | None = param(
        None, "NAME of the environment variable holding the API key (never the key itself); null: no key"
    )
    timeout_s: float = param(60.0, "limit on one request, seconds", gt=0)
    max_retries: int = param(6, "retries on 429, 5xx, timeouts and connection errors", ge=0, le=20)
    backoff_s: float = param(0.5, "first backoff delay, doubled each retry, with jitter", ge=0)
    max_backoff_s: float = param(30.0, "cap on one delay; a longer Retry-After gives up", ge=0)
    concurrency: int = param(8, "requests in flight at once", ge=1, le=1024)
    breaker_failures: int = param(
        8,
        "connection failures in a row (no success between) after which the rest of a batch fails fast",
        ge=1,
    )
    breaker_window_s: float = param(
        2.0, "...and only once those failures span this many seconds (rides out a server restart)", ge=0
    )
    max_error_rate: float = param(
        1.0,
        "raise ErrorBudgetExceeded inside the judge when more than this fraction of a chunk fails (1.0: never; "
        "the composition's own max_error_rate, 0.5 by default, already raises after keeping the good verdicts)",
        ge=0,
        le=1,
    )
    error_budget_min_samples: int = param(4, "batches smaller than this never raise", ge=1)
    structured: Literal["auto", "json_schema", "off"] = param(
        "auto",
        "ask for a JSON verdict by response_format json_schema ('auto': fall back to text when the server "
        "refuses it; 'json_schema': a refusal is an error; 'off': never ask)",
    )
    on_unreadable: Literal["low", "mask"] = param(
        "low",
        "a reply that arrived but holds no readable verdict, twice (asked again once, more strictly): "
        "'low' scores the reward's low value (status ok, details.verdict_status 'unreadable'); 'mask': null",
    )
    temperature: float = param(0.0, "sampling temperature of the judge", ge=0)
    max_tokens: int = param(512, "most tokens the judge may write", ge=1)
    cache_path: str | None = param(DEFAULT_PATH, "sqlite verdict cache; null disables it")
    device: str = param("cpu", "backend 'transformers': torch device, e.g. 'cuda:0'")

    def __post_init__(self) -> None:
        if self.api_key_env is not None and not _ENV_NAME.fullmatch(self.api_key_env):
            # The value is not echoed: a user who pasted the key itself here must not see it in logs.
            raise ValueError(
                "api_key_env must be the name of an environment variable such as OPENAI_API_KEY, "
                "not the key itself; export the key and give its variable's name"
            )
        if self.backend == "openai" and not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url {self.base_url!r} must start with http:// or https://")


@dataclass(frozen=True)
class JudgeParams(ServerParams):
    template: str = param("rubric", "built-in 'rubric' (0..scale) or 'yes_no', or the path of a template file")
    verdict: Literal["auto", "score", "yes_no"] = param(
        "auto", "verdict format to parse; 'auto' follows the template (files default to 'score')"
    )
    scale: int = param(10, "the judge scores 0..scale; scores are divided by it", ge=1, le=1000)
    logprobs: bool = param(
        False, "backend 'transformers': score by expected value over the score tokens' probabilities"
    )
    min_score_mass: float = param(
        0.05, "logprobs: below this total probability on score tokens the verdict is an error", ge=0, le=1
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.logprobs and self.backend != "transformers":
            raise ValueError("logprobs scoring needs backend 'transformers' (chat servers give no prefill)")
        if self.logprobs and self.verdict == "yes_no":
            raise ValueError("logprobs scoring reads a 0..scale score; use verdict 'score' or 'auto'")
