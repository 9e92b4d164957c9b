"""Scoring off the event loop: concurrent requests are gathered into rounds and sent through one worker pool.

Why rounds: `WorkerPool.map` serves one caller at a time and yields in order. A dispatcher thread takes
every request waiting when it becomes free, flattens their samples, cuts them into chunks spread across
the workers and maps them in one go; each request is answered as soon as its last chunk is back. At
concurrency 32 a round carries many small requests, so a worker round trip is paid per chunk, not per
request. The workers enforce each reward's time budget by a kill, so a round always ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from ..config import CompositionConfig
from ..errors import ErrorBudgetExceeded, RewardkitError, WorkerError
from ..evaluate import Scored, evaluate_chunk
from ..runner import WorkerPool
from ..stats import Stats
from ..types import Sample

log = logging.getLogger("rewardkit.server")

_MIN_CHUNK = 8


class ServiceClosed(RewardkitError):
    """The service is shutting down and takes no new work."""


@dataclass
class _Pending:
    samples: Sequence[Sample]
    future: asyncio.Future[list[Scored]]
    loop: asyncio.AbstractEventLoop
    results: list[Scored] = field(default_factory=list)


def _settle(future: asyncio.Future[list[Scored]], value: list[Scored] | BaseException) -> None:
    if future.done():  # the client went away and the handler was cancelled
        return
    if isinstance(value, BaseException):
        future.set_exception(value)
    else:
        future.set_result(value)


class RewardService:
    """Scores sample lists for many concurrent callers; ``workers`` = 0 scores in the dispatcher thread."""

    def __init__(self, config: CompositionConfig, workers: int, max_round_samples: int = 4096) -> None:
        self.config = config
        self.workers = workers
        self.max_round_samples = max_round_samples
        self.pool: WorkerPool | None = WorkerPool(config, evaluate_chunk, workers) if workers > 0 else None
        self.served_requests = 0
        self.served_samples = 0
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="rewardkit-dispatch", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def score(self, samples: Sequence[Sample]) -> list[Scored]:
        """Every sample's result, in order; raises `ErrorBudgetExceeded` when the infrastructure failed."""
        if self._closed:
            raise ServiceClosed("the server is shutting down")
        if not samples:
            return []
        loop = asyncio.get_running_loop()
        pending = _Pending(samples, loop.create_future(), loop)
        self._queue.put(pending)
        results = await pending.future
        check_error_budget(self.config, results)
        return results

    def close(self, timeout: float = 30.0) -> None:
        """Finish the work already queued, then stop the dispatcher and the worker processes."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout)
        if self.pool is not None:
            self.pool.close()

    # -- the dispatcher thread -------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = [first], False
            size = len(first.samples)
            while size < self.max_round_samples:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
                size += len(nxt.samples)
            self._run_round(batch)
            if stop:
                return

    def _run_round(self, batch: list[_Pending]) -> None:
        owners = iter(batch)
        current = next(owners)
        try:
            for result in self._results(batch):
                while len(current.results) == len(current.samples):
                    current = next(owners)
                current.results.append(result)
                if len(current.results) == len(current.samples):
                    self._finish(current, current.results)
        except Exception as exc:
            log.error("scoring round of %d requests failed: %s", len(batch), exc)
            if isinstance(exc, WorkerError) and self.pool is not None:
                self.pool.close()  # start afresh; the next round spawns new workers
                self.pool = WorkerPool(self.config, evaluate_chunk, self.workers)
            for p in batch:
                if len(p.results) < len(p.samples):
                    self._finish(p, exc)

    def _results(self, batch: list[_Pending]) -> Iterator[Scored]:
        samples = [s for p in batch for s in p.samples]
        if self.pool is None:
            yield from evaluate_chunk(self.config, samples)
            return
        size = max(_MIN_CHUNK, -(-len(samples) // (2 * self.pool.size)))
        chunks = [samples[i : i + size] for i in range(0, len(samples), size)]
        for chunk in self.pool.map(chunks):
            yield from chunk

    def _finish(self, pending: _Pending, value: list[Scored] | BaseException) -> None:
        if not isinstance(value, BaseException):
            self.served_requests += 1
            self.served_samples += len(value)
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            pending.loop.call_soon_threadsafe(_settle, pending.future, value)


def check_error_budget(config: CompositionConfig, results: Sequence[Scored]) -> None:
    """Raise when a term's infrastructure-error rate in one request passes the config's budget."""
    if len(results) < 4:
        return
    stats = Stats()
    for r in results:
        stats.add(r)
    for path, ts in stats.terms.items():
        rate = stats.error_rate(path)
        if rate > config.max_error_rate:
            raise ErrorBudgetExceeded(
                f"{ts.errors} of {len(results)} scores of {path!r} failed for infrastructure reasons "
                f"({rate:.0%} > max_error_rate {config.max_error_rate:.0%}); check the reward's service "
                "(sandbox, judge server) in the server log"
            )
