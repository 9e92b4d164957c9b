"""Scoring for the server's handlers: the core's `Scorer` and `ErrorBudget`, awaited from the event loop.

Nothing is decided here. The `Scorer`'s lanes (one killable worker process each) coalesce the samples of
every request in flight, so one-sample requests at high concurrency share round trips and a slow sample
holds back only its own lane; each reward's time budget is enforced at every batch size. One
`ErrorBudget` spans requests, so trainers sending one sample per request (OpenRLHF) are covered.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

from ..budget import ErrorBudget
from ..config import CompositionConfig
from ..evaluate import Scored
from ..integrations.openrlhf import Replies
from ..scorer import Scorer
from ..types import Sample


class RewardService:
    """Scores sample lists for many concurrent requests; ``workers`` = 0 scores in a thread, in-process."""

    def __init__(self, config: CompositionConfig, workers: int, null_reward: float = 0.0) -> None:
        self.config = config
        self.workers = workers
        self.replies = Replies(config, null_reward)  # OpenRLHF's /get_reward answers
        self.scorer = Scorer(config, workers)
        # OpenRLHF retries a 503: over budget, every request fails until the window recovers, so a lasting
        # outage stops the trainer rather than being retried into silent zeros.
        self.budget = ErrorBudget(config.max_error_rate, reset_on_raise=False)
        self.served_requests = 0
        self.served_samples = 0
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        """Parts of requests waiting for a lane."""
        return self.scorer.pending

    async def score(self, samples: Sequence[Sample]) -> list[Scored]:
        """Every sample's result, in order; raises `ErrorBudgetExceeded` when too many recent ones failed."""
        return self.record(await self.future(samples))

    def future(self, samples: Sequence[Sample]) -> asyncio.Future[list[Scored]]:
        """A future of every sample's result on the running loop; pass its result through `record`."""
        if self.workers == 0:  # in-process scoring must not block the event loop
            return asyncio.get_running_loop().run_in_executor(None, self.scorer.score, samples)
        return self.scorer.score_future(samples)

    def record(self, results: list[Scored]) -> list[Scored]:
        """Count a request's results and add them to the error budget (raises `ErrorBudgetExceeded`)."""
        with self._lock:
            self.served_requests += 1
            self.served_samples += len(results)
        self.budget.record(results)
        return results

    def close(self) -> None:
        """Finish the work already queued, then stop the lanes and their worker processes."""
        self.scorer.close()
