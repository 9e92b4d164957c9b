"""Scoring off the event loop: requests are cut into chunks that lanes, one per worker process, take in turn.

Why lanes rather than one pool for all: `WorkerPool.map` serves one caller at a time and yields in input
order, so a single slow sample (a sympy timeout, a program running to its CPU limit) would hold back every
request batched with it. Each lane owns a one-process `WorkerPool` (the same runner as ``rewardkit score``,
with each reward's time budget enforced by a kill) and a thread feeding it from one shared queue of chunks.
A big request is spread over every lane; a slow chunk delays only its own request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..config import CompositionConfig
from ..errors import ErrorBudgetExceeded, RewardkitError, WorkerError
from ..evaluate import Scored, evaluate_chunk
from ..runner import WorkerPool
from ..stats import Stats
from ..types import Sample

log = logging.getLogger("rewardkit.server")

#: Largest chunk a lane takes at once: small enough to spread a batch, big enough to amortise a round trip.
MAX_CHUNK = 16


class ServiceClosed(RewardkitError):
    """The service is shutting down and takes no new work."""


@dataclass
class _Request:
    future: asyncio.Future[list[Scored]]
    loop: asyncio.AbstractEventLoop
    results: list[Scored | None]
    remaining: int
    lock: threading.Lock = field(default_factory=threading.Lock)

    def settle(self, value: list[Scored] | BaseException) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            self.loop.call_soon_threadsafe(_settle, self.future, value)


@dataclass(frozen=True)
class _Chunk:
    request: _Request
    start: int
    samples: list[Sample]


def _settle(future: asyncio.Future[list[Scored]], value: list[Scored] | BaseException) -> None:
    if future.done():  # the client went away and the handler was cancelled, or a chunk failed first
        return
    if isinstance(value, BaseException):
        future.set_exception(value)
    else:
        future.set_result(value)


class RewardService:
    """Scores sample lists for many concurrent callers; ``workers`` = 0 scores in one thread, in-process."""

    def __init__(self, config: CompositionConfig, workers: int) -> None:
        self.config = config
        self.workers = workers
        self.served_requests = 0
        self.served_samples = 0
        self._queue: queue.Queue[_Chunk | None] = queue.Queue()
        self._closed = False
        self._counter_lock = threading.Lock()
        self._lanes = [
            threading.Thread(target=self._lane, name=f"rewardkit-lane-{i}", daemon=True)
            for i in range(max(1, workers))
        ]
        for lane in self._lanes:
            lane.start()

    @property
    def pending(self) -> int:
        """Chunks waiting for a lane."""
        return self._queue.qsize()

    async def score(self, samples: Sequence[Sample]) -> list[Scored]:
        """Every sample's result, in order; raises `ErrorBudgetExceeded` when the infrastructure failed."""
        if self._closed:
            raise ServiceClosed("the server is shutting down; retry on another replica")
        if not samples:
            return []
        loop = asyncio.get_running_loop()
        size = max(1, min(MAX_CHUNK, -(-len(samples) // len(self._lanes))))
        starts = range(0, len(samples), size)
        request = _Request(loop.create_future(), loop, [None] * len(samples), len(starts))
        for i in starts:
            self._queue.put(_Chunk(request, i, list(samples[i : i + size])))
        results = await request.future
        check_error_budget(self.config, results)
        return results

    def close(self, timeout: float = 30.0) -> None:
        """Finish the chunks already queued, then stop the lanes and their worker processes."""
        if self._closed:
            return
        self._closed = True
        for _ in self._lanes:
            self._queue.put(None)
        for lane in self._lanes:
            lane.join(timeout)

    # -- the lanes ----------------------------------------------------------------------------------

    def _lane(self) -> None:
        pool = WorkerPool(self.config, evaluate_chunk, 1) if self.workers > 0 else None
        try:
            while (chunk := self._queue.get()) is not None:
                if chunk.request.future.done():
                    continue  # cancelled by its client, or another chunk of it failed
                try:
                    results = self._score_chunk(pool, chunk.samples)
                except Exception as exc:
                    log.error("scoring %d samples failed: %s", len(chunk.samples), exc)
                    chunk.request.settle(exc)
                    if isinstance(exc, WorkerError) and pool is not None:
                        pool.close()  # start afresh with a new worker process
                        pool = WorkerPool(self.config, evaluate_chunk, 1)
                    continue
                self._deliver(chunk, results)
        finally:
            if pool is not None:
                pool.close()

    def _score_chunk(self, pool: WorkerPool | None, samples: list[Sample]) -> list[Scored]:
        if pool is None:
            return evaluate_chunk(self.config, samples)
        return [r for part in pool.map([samples]) for r in part]

    def _deliver(self, chunk: _Chunk, results: list[Scored]) -> None:
        request = chunk.request
        with request.lock:
            request.results[chunk.start : chunk.start + len(results)] = results
            request.remaining -= 1
            done = request.remaining == 0
        if done:
            final = [r for r in request.results if r is not None]
            with self._counter_lock:
                self.served_requests += 1
                self.served_samples += len(final)
            request.settle(final)


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
