"""`Scorer`: the one way every front door scores samples, with one time-budget rule at every batch size.

- ``workers`` = 0: in the caller's thread (fastest for cheap rewards; time budgets are the rewards' own:
  the math reward bounds itself, the code sandbox kills its programs).
- ``workers`` > 0: in worker processes, each reward's ``timeout_s`` enforced by a kill from outside
  (`rewardkit.runner.WorkerPool`), whatever the batch size: one sample or ten thousand.

Why lanes, one per worker process, fed from one shared queue: `WorkerPool.map` serves one caller at a time
in input order, so a single slow sample would hold back every caller batched with it, and trainers that call
from many threads (verl's reward loop, OpenRLHF's one sample per request, TRL's async groups) would queue
behind each other. A lane takes whatever is queued, up to `MAX_BATCH` samples from many callers at once,
so one-sample calls at high concurrency pay one round trip per batch, not per sample. A lane merges only
while no other lane is idle: two threads calling one sample at a time (verl's reward loop on two cores)
would otherwise often meet in one lane's batch and be scored one after the other in one worker while the
other worker waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from .config import CompositionConfig
from .errors import RewardkitError, WorkerError
from .evaluate import Scored, evaluate_chunk
from .runner import WorkerPool
from .types import Sample

log = logging.getLogger("rewardkit")

#: Most samples a lane scores in one round trip: enough to amortise it, few enough to spread a batch.
MAX_BATCH = 64


class ScorerClosed(RewardkitError):
    """The scorer is shutting down and takes no new work."""


@dataclass
class _Call:
    """One caller's samples: answered through a thread future, or an asyncio future of the caller's loop."""

    future: Future[list[Scored]] | None
    results: list[Scored | None]
    remaining: int
    waiter: asyncio.Future[list[Scored]] | None = None
    loop: asyncio.AbstractEventLoop | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    settled: bool = False

    def done(self) -> bool:
        """Answered, failed or cancelled: its remaining parts need no scoring."""
        if self.future is not None:
            return self.future.done()
        return self.settled or (self.waiter is not None and self.waiter.done())  # a read; the loop owns it


@dataclass(frozen=True)
class _Part:
    call: _Call
    start: int
    samples: list[Sample]


class Scorer:
    """Scores sample lists for any number of concurrent callers; thread-safe."""

    def __init__(self, config: CompositionConfig, workers: int = 0) -> None:
        self.config = config
        self.workers = max(0, workers)
        self._queue: queue.SimpleQueue[_Part | None] = queue.SimpleQueue()
        self._closed = False
        self._lanes: list[threading.Thread] = []
        self._start_lock = threading.Lock()
        self._idle = 0  # lanes waiting for work; read without the lock, as a hint (see `_take`)
        self._idle_lock = threading.Lock()

    def score(self, samples: Sequence[Sample]) -> list[Scored]:
        """Every sample's result, in order."""
        if self.workers == 0:
            return evaluate_chunk(self.config, samples)
        return self.submit(samples).result()

    def submit(self, samples: Sequence[Sample]) -> Future[list[Scored]]:
        """A future of every sample's result, in order (in-process scoring completes it before returning)."""
        future: Future[list[Scored]] = Future()
        if self._closed:
            raise ScorerClosed("the scorer is shutting down; retry on another replica")
        if not samples:
            future.set_result([])
        elif self.workers == 0:
            try:
                future.set_result(evaluate_chunk(self.config, samples))
            except Exception as exc:  # a bug in rewardkit: the caller sees it, as from a worker
                future.set_exception(exc)
        else:
            self._enqueue(samples, _Call(future, [None] * len(samples), 0))
        return future

    async def score_async(self, samples: Sequence[Sample]) -> list[Scored]:
        """Every sample's result, awaited on the running event loop (``workers`` > 0).

        Why not ``asyncio.wrap_future(submit(...))``: a server answering thousands of one-sample requests a
        second pays a thread-safe wake-up and a chained future per request that way. Here a lane wakes the
        loop once per batch it scored and settles every request of that batch in one callback.
        """
        return await self.score_future(samples)

    def score_future(self, samples: Sequence[Sample]) -> asyncio.Future[list[Scored]]:
        """An asyncio future of every sample's result, in order, on the running loop (``workers`` > 0).

        For callers that answer from a done-callback instead of a coroutine (the server's plain-HTTP path
        costs no task per request that way). Cancelling it drops the samples not yet scored.
        """
        if self.workers == 0:
            raise ValueError("score_async needs worker processes (workers > 0); use submit() in a thread")
        if self._closed:
            raise ScorerClosed("the scorer is shutting down; retry on another replica")
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[list[Scored]] = loop.create_future()
        if not samples:
            waiter.set_result([])
            return waiter
        self._enqueue(samples, _Call(None, [None] * len(samples), 0, waiter, loop))
        return waiter

    def _enqueue(self, samples: Sequence[Sample], call: _Call) -> None:
        self._ensure_lanes()
        # A grouping reward judges a prompt's completions together: a call is never split.
        whole = self.config.grouping is not None
        size = len(samples) if whole else max(1, min(MAX_BATCH, -(-len(samples) // (2 * self.workers))))
        starts = range(0, len(samples), size)
        call.remaining = len(starts)
        for i in starts:
            self._queue.put(_Part(call, i, list(samples[i : i + size])))

    def close(self, timeout: float = 30.0) -> None:
        """Finish the work already queued, then stop the lanes and their worker processes."""
        if self._closed:
            return
        self._closed = True
        for _ in self._lanes:
            self._queue.put(None)
        for lane in self._lanes:
            lane.join(timeout)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    # -- lanes -------------------------------------------------------------------------------------

    def _ensure_lanes(self) -> None:
        if self._lanes:
            return
        with self._start_lock:
            while len(self._lanes) < self.workers:
                lane = threading.Thread(target=self._lane, name=f"rewardkit-lane-{len(self._lanes)}", daemon=True)
                lane.start()
                self._lanes.append(lane)

    def _take(self, first: _Part) -> tuple[list[_Part], bool]:
        """``first`` and whatever else is queued, up to `MAX_BATCH` samples; and whether to stop after."""
        parts, count = [first], len(first.samples)
        # Two calls may hold samples of one prompt text (two steps of a trainer): with a grouping reward they
        # must not meet in one batch, or their groups would merge. What is queued while another lane is idle
        # is that lane's to take: it is being woken for it.
        while count < MAX_BATCH and self.config.grouping is None and self._idle == 0:
            try:
                part = self._queue.get_nowait()
            except queue.Empty:
                break
            if part is None:
                return parts, True
            parts.append(part)
            count += len(part.samples)
        return parts, False

    def _wait_for_work(self) -> _Part | None:
        with self._idle_lock:
            self._idle += 1
        try:
            return self._queue.get()
        finally:
            with self._idle_lock:
                self._idle -= 1

    def _lane(self) -> None:
        pool = WorkerPool(self.config, evaluate_chunk, 1, one_job=True)
        try:
            stop = False
            while not stop and (first := self._wait_for_work()) is not None:
                parts, stop = self._take(first)
                parts = [p for p in parts if not p.call.done()]  # cancelled, or a part failed
                if not parts:
                    continue
                settle = _Settle()
                try:
                    batch = [s for p in parts for s in p.samples]
                    results = [r for chunk in pool.map([batch]) for r in chunk]
                except Exception as exc:
                    log.error("scoring %d samples failed: %s", sum(len(p.samples) for p in parts), exc)
                    for p in parts:
                        _fail(p.call, exc, settle)
                    settle.send()
                    if isinstance(exc, WorkerError):
                        pool.close()  # start afresh with a new worker process
                        pool = WorkerPool(self.config, evaluate_chunk, 1, one_job=True)
                    continue
                at = 0
                for p in parts:
                    _deliver(p, results[at : at + len(p.samples)], settle)
                    at += len(p.samples)
                settle.send()
        finally:
            pool.close()


class _Settle:
    """The asyncio callers a lane answers after one batch: one wake-up per event loop, not per caller."""

    def __init__(self) -> None:
        self.by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Call, list[Scored] | BaseException]]] = {}

    def add(self, call: _Call, outcome: list[Scored] | BaseException) -> None:
        assert call.loop is not None
        call.settled = True
        self.by_loop.setdefault(call.loop, []).append((call, outcome))

    def send(self) -> None:
        for loop, outcomes in self.by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop was closed: nobody is waiting any more
                loop.call_soon_threadsafe(_resolve, outcomes)
        self.by_loop.clear()


def _resolve(outcomes: list[tuple[_Call, list[Scored] | BaseException]]) -> None:
    """On the caller's loop: answer every waiter still waiting (a disconnected client's was cancelled)."""
    for call, outcome in outcomes:
        waiter = call.waiter
        if waiter is None or waiter.done():
            continue
        if isinstance(outcome, BaseException):
            waiter.set_exception(outcome)
        else:
            waiter.set_result(outcome)


def _fail(call: _Call, exc: BaseException, settle: _Settle) -> None:
    with call.lock, contextlib.suppress(Exception):
        if call.future is not None:
            if not call.future.done():
                call.future.set_exception(exc)
        elif not call.settled:
            settle.add(call, exc)


def _deliver(part: _Part, results: list[Scored], settle: _Settle) -> None:
    call = part.call
    with call.lock:
        call.results[part.start : part.start + len(results)] = results
        call.remaining -= 1
        if call.remaining != 0:
            return
        answer = [r for r in call.results if r is not None]
        if call.future is not None:
            if not call.future.done():
                call.future.set_result(answer)
        elif not call.settled:
            settle.add(call, answer)
