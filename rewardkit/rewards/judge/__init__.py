"""The ``judge`` reward: a language model grades each completion, for tasks no rule can check.

Built for a training loop: it never hangs (per-request timeout, retries with backoff, a circuit breaker
for a dead server), never turns an outage or an unreadable verdict into a 0 or a 1 (those are masked
errors, and a batch where most fail raises `ErrorBudgetExceeded`), and never pays twice for a verdict
(a sqlite cache shared by processes). Modules:

- ``templates``: the prompts, with the completion fenced by nonce markers;
- ``parse``: reading ``Score: N`` or ``Verdict: yes|no``;
- ``retry``: backoff, Retry-After, circuit breaker;
- ``openai_http``: any OpenAI-compatible server over httpx (imported only when used);
- ``local_transformers``: a local model, optionally scored by expected value over score-token probabilities;
- ``cache``: the sqlite verdict cache; ``scoring``: the batch pipeline; ``config``: the parameters.

Importing this package is cheap: httpx, torch and transformers are imported when a batch is judged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ...hookspecs import hookimpl
from ...types import RewardSpec, Sample, Score
from .config import JudgeParams

__all__ = ["JudgeParams", "judge_batch", "register_rewards"]


def judge_batch(samples: Sequence[Sample], params: JudgeParams) -> list[Score]:
    """Judge a chunk of samples concurrently (module level, so it pickles to worker processes)."""
    from .scoring import judge_batch as run

    return run(samples, params)


@hookimpl
def register_rewards(register: Callable[[RewardSpec], None]) -> None:
    register(
        RewardSpec(
            name="judge",
            description=(
                "An LLM grades the completion (OpenAI-compatible server or local transformers model) with a "
                "rubric (0..scale) or yes/no template; unreadable verdicts and outages are masked, not 0; "
                "verdicts cached in sqlite."
            ),
            params=JudgeParams,
            range=(0.0, 1.0),
            batch_fn=judge_batch,
            # Worst case per request with the defaults: 7 attempts of 60 s plus ~32 s of backoff.
            timeout_s=600.0,
        )
    )
