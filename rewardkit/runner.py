"""A pool of worker processes that score chunks in order, with each reward's time budget enforced by a kill.

Why processes and an outside kill: a reward stuck in C code or in pure Python holding the GIL (sympy on a
power tower) cannot be interrupted from inside, and ``signal.alarm`` only works on the main thread. Each
worker publishes which (item, term) it is computing in shared memory, with no system call; the parent
watches that, measures the worker's CPU time from ``/proc`` (wall-clock verdicts flip under load), and
kills a worker that overruns. The chunk is then sent again with that (item, term) fixed to a timeout
score, so every kill makes progress and results stay deterministic and in input order.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import gc
import multiprocessing
import multiprocessing.connection
import os
import pickle
import queue
import signal
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .config import CompositionConfig
from .errors import ConfigError, WorkerError
from .evaluate import Heartbeat
from .types import Score

#: ``task(config, payload, forced, beat) -> result``: module-level, so it pickles by reference.
TaskFn = Callable[[CompositionConfig, Any, Mapping[tuple[int, int], Score], Heartbeat], Any]

_IDLE = -2
_POLL_S = 0.02
_CLK_TCK: int = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass
class _Job:
    seq: int
    payload: Any
    forced: dict[tuple[int, int], Score] = field(default_factory=dict)


@dataclass
class _Watch:
    """What the parent last saw a worker doing, to time the current (item, term)."""

    counter: int = -1
    wall: float = 0.0
    cpu: float | None = None  # read from /proc on the second look only (most computations end before it)


class _Worker:
    def __init__(self, ctx: Any, blob: bytes, task: TaskFn, one_job: bool) -> None:
        self.beat = ctx.Array("q", 4, lock=False)  # counter, seq, item, leaf
        self.beat[3] = _IDLE
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, self.beat, blob, task, one_job), daemon=False)
        self.process.start()
        child.close()
        self.jobs: collections.deque[_Job] = collections.deque()
        self.watch = _Watch()

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            with contextlib.suppress(OSError):
                self.conn.send(None)
        self.process.join(timeout=0 if kill else 2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class WorkerPool:
    """Score chunks in worker processes: ``pool.map(payloads)`` yields results in input order."""

    def __init__(self, config: CompositionConfig, task: TaskFn, workers: int | None = None,
                 one_job: bool = False) -> None:  # fmt: skip
        """``one_job``: at most one job in flight per worker (a `Scorer` lane waits for each batch anyway). The
        worker then reads its pipe in its own thread, with no reader thread: a hand-off fewer per round trip,
        and no deadlock to prevent, since nothing is sent to a worker while its result may be on the way."""
        self.config = config
        self.task = task
        self.one_job = one_job
        self.size = max(1, workers or default_workers())
        try:
            self._blob = pickle.dumps(config)
        except Exception as exc:
            raise ConfigError(
                f"this composition cannot be sent to worker processes ({exc}). Define reward functions at "
                "module level, or score in-process with workers=0."
            ) from None
        self._ctx = multiprocessing.get_context("forkserver" if sys.platform == "linux" else "spawn")
        self._workers: list[_Worker] = []
        self.kills = 0
        self.deaths = 0
        self._finalizer = weakref.finalize(self, _stop_all, self._workers)

    def map(self, payloads: Iterable[Any], ahead: int | None = None) -> Iterator[Any]:
        """Results in order; at most ``ahead`` chunks are in flight or buffered (flat memory)."""
        ahead = ahead or 3 * self.size
        self._start()
        source = iter(payloads)
        queue: collections.deque[_Job] = collections.deque()
        done: dict[int, Any] = {}
        issued = next_out = 0
        exhausted = False
        while True:
            while not exhausted and issued - next_out < ahead:
                try:
                    queue.append(_Job(issued, next(source)))
                    issued += 1
                except StopIteration:
                    exhausted = True
            self._dispatch(queue)
            while next_out in done:
                yield done.pop(next_out)
                next_out += 1
            if exhausted and next_out == issued:
                return
            self._collect(done, queue)

    def close(self) -> None:
        _stop_all(self._workers)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------------

    def _start(self) -> None:
        while len(self._workers) < self.size:
            self._workers.append(_Worker(self._ctx, self._blob, self.task, self.one_job))

    def _dispatch(self, queue: collections.deque[_Job]) -> None:
        # Two jobs per worker, so it never idles on a round trip. No deadlock: a thread in the worker always
        # drains its pipe, so the parent's send returns even while the worker is blocked sending a result.
        # With ``one_job`` there is no such thread, and never a second job.
        limit = 1 if self.one_job else 2
        for worker in self._workers:
            while queue and len(worker.jobs) < limit:
                job = queue.popleft()
                worker.jobs.append(job)
                worker.conn.send((job.seq, job.payload, job.forced))

    def _collect(self, done: dict[int, Any], queue: collections.deque[_Job]) -> None:
        busy = {w.conn: w for w in self._workers if w.jobs}
        for conn in multiprocessing.connection.wait(list(busy), timeout=_POLL_S):
            worker = busy[conn]
            try:
                seq, ok, result = worker.conn.recv()
            except (EOFError, OSError):
                self._replace(worker, queue, killed=False)
                continue
            if not ok:
                raise WorkerError(f"a worker failed on chunk {seq} (a bug in rewardkit or a reward):\n{result}")
            job = worker.jobs.popleft()
            assert job.seq == seq
            done[seq] = result
        for worker in list(self._workers):
            if worker.jobs and self._overran(worker):
                self._replace(worker, queue, killed=True)

    def _overran(self, worker: _Worker) -> bool:
        counter, leaf = worker.beat[0], worker.beat[3]
        now = time.monotonic()
        watch = worker.watch
        if counter != watch.counter:
            # No /proc read here: at thousands of one-sample round trips per second it is a system call per
            # result. The CPU baseline is taken when the same computation is seen again (at most one poll,
            # 20 ms, later), so CPU time is undercounted by at most that: a kill is late by a poll, never early.
            worker.watch = _Watch(counter, now)
            return False
        if leaf < 0:
            return False
        if watch.cpu is None:
            watch.cpu = _cpu_seconds(worker.process.pid)
        budget = self._budget(worker)
        wall = now - watch.wall
        if wall <= budget:
            return False
        cpu = _cpu_seconds(worker.process.pid) - watch.cpu
        return cpu > budget or wall > max(3 * budget, budget + 5)  # wall backstop for blocked rewards

    def _budget(self, worker: _Worker) -> float:
        leaf = self.config.leaves[worker.beat[3]]
        chunk: int = max(1, len(worker.jobs[0].payload)) if worker.beat[2] == -1 else 1
        return float(leaf.timeout_s * chunk)

    def _replace(self, worker: _Worker, queue: collections.deque[_Job], killed: bool) -> None:
        """Stop a worker, fix the (item, term) it was on, and send its jobs again to a fresh worker."""
        seq, item, leaf_index = worker.beat[1], worker.beat[2], worker.beat[3]
        worker.stop(kill=True)
        exitcode = worker.process.exitcode
        self._workers.remove(worker)
        jobs = list(worker.jobs)
        active = next((j for j in jobs if j.seq == seq), None)
        if active is not None and leaf_index >= 0:
            leaf = self.config.leaves[leaf_index]
            if killed:
                self.kills += 1
                low = None if item == -1 else leaf.output_range()[0]
                score = Score.timeout(low, f"{leaf.path} ran past its {leaf.timeout_s:g} s budget and was stopped")
            else:
                self.deaths += 1
                score = Score.error(f"the worker scoring {leaf.path} died (exit code {exitcode})")
            active.forced[(item, leaf_index)] = score
        else:
            self.deaths += 1
            if self.deaths > 10 * self.size and not killed:
                raise WorkerError(f"worker processes keep dying outside any reward (last exit code {exitcode})")
        queue.extendleft(reversed(jobs))
        self._start()


def _stop_all(workers: list[_Worker]) -> None:
    for worker in workers:
        worker.stop()
    workers.clear()


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process, from /proc (0 where /proc is missing: wall time then rules)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        return ticks / float(_CLK_TCK)
    except (OSError, IndexError, ValueError):
        return 0.0


def _die_with_parent() -> None:
    # A worker stuck in a reward would outlive a killed parent; ask the kernel to kill it with the parent.
    if sys.platform != "linux":
        return
    try:
        # CDLL(None): the libc this process already runs on. find_library("c") would run `ldconfig -p`
        # in every new worker (seen in strace on each start-up).
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def settle_heap() -> None:
    """Move every object alive now out of the garbage collector's reach, once a long-running process has
    loaded what it keeps (modules, configuration, tables).

    Why: a full collection walks every tracked object, and a process that allocates per request runs one
    every few seconds. In a server front end or a worker that walk took ~55 ms (51k objects after start-up;
    more once sympy is loaded), and every request in flight waited for it: it was the latency tail of
    `benchmarks/bench_server.py` (slow answers came in bursts 0.3-0.5 s apart). Frozen objects are never
    collected, so this runs after a collection, never between requests.
    """
    gc.collect()
    gc.freeze()


def _worker_main(conn: Any, beat: Any, blob: bytes, task: TaskFn, one_job: bool = False) -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    config = pickle.loads(blob)
    settle_heap()
    first = True
    inbox: Any
    if one_job:
        inbox = _Direct(conn)
    else:
        inbox = queue.SimpleQueue()
        threading.Thread(target=_receive, args=(conn, inbox), daemon=True).start()

    def heartbeat(item: int, leaf: int) -> None:
        beat[2] = item
        beat[3] = leaf
        beat[0] += 1

    while (message := inbox.get()) is not None:
        seq, payload, forced = message
        beat[1] = seq
        try:
            reply = (seq, True, task(config, payload, forced, heartbeat))
        except Exception:
            reply = (seq, False, traceback.format_exc())
        heartbeat(-1, _IDLE)
        conn.send(reply)
        if first:  # the first chunk imported what the rewards load lazily (sympy, parsers): keep that too
            first = False
            settle_heap()


class _Direct:
    """The worker's own reads of its pipe, for pools that send one job at a time (``one_job``)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def get(self) -> Any:
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            return None


def _receive(conn: Any, inbox: queue.SimpleQueue[Any]) -> None:
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            message = None
        inbox.put(message)
        if message is None:
            return
