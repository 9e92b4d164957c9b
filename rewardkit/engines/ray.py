"""Score a JSONL file across a Ray cluster with the same runner as ``rewardkit score`` on each node.

    from rewardkit.engines.ray import score_file_ray
    report = score_file_ray(config, "rows.jsonl", "scored.jsonl")   # ray.init(address=...) first, or not

One actor per node (by default) owns a `WorkerPool` over that node's CPUs: the same worker processes,
per-reward time budgets enforced by a kill, and the same `score_lines` task as local scoring, so a file
scores identically wherever it runs. The driver streams blocks of line chunks to the actors, at most two
blocks in flight per actor, and writes results in input order through the same atomic writer. Every node
needs rewardkit (and the rewards' own needs, e.g. bubblewrap for the code sandbox) installed, or a
``runtime_env`` given to ``ray.init``. Needs the ``ray`` extra: ``pip install 'rewardkit[ray]'``.
"""

from __future__ import annotations

import collections
import contextlib
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import CompositionConfig
from ..errors import ConfigError, WorkerError
from ..io import LinesResult, LinesTask, RowError, line_tasks, score_lines
from ..runner import WorkerPool
from ..scorefile import FileReport, write_results

#: Blocks each actor holds at once: one being scored, one queued so its pool never waits on the driver.
IN_FLIGHT_PER_ACTOR = 2
PLACEMENT_TIMEOUT_S = 120.0


class ScoringActor:
    """Lives in a Ray worker process; scores blocks of line chunks through a local `WorkerPool`."""

    def __init__(self, config: CompositionConfig, workers: int) -> None:
        self.pool = WorkerPool(config, score_lines, workers)

    def ready(self) -> tuple[str, int, int]:
        return socket.gethostname(), os.getpid(), self.pool.size

    def score(self, tasks: list[LinesTask]) -> tuple[list[LinesResult], int]:
        return list(self.pool.map(tasks)), self.pool.kills

    def close(self) -> None:
        self.pool.close()


@dataclass
class _Actor:
    handle: Any
    workers: int
    busy: int = 0
    kills: int = 0


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("--engine ray needs Ray: pip install 'rewardkit[ray]' (or pip install ray)") from None
    return ray


def _connect(ray: Any, address: str | None) -> bool:
    """Join the running Ray session, or start/join one; True when this call started it (and must end it)."""
    if ray.is_initialized():
        return False
    ray.init(address=address, include_dashboard=False, log_to_driver=False)
    return True


def _start_actors(ray: Any, config: CompositionConfig, actors: int | None,
                  workers_per_actor: int | None) -> list[_Actor]:  # fmt: skip
    """One actor per alive node over all its CPUs, or ``actors`` actors of ``workers_per_actor`` spread out."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    remote = ray.remote(ScoringActor)
    out: list[_Actor] = []
    if actors is None and workers_per_actor is None:
        for node in ray.nodes():
            cpus = int(node.get("Resources", {}).get("CPU", 0))
            if node.get("Alive") and cpus > 0:
                strategy = NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
                handle = remote.options(num_cpus=cpus, scheduling_strategy=strategy).remote(config, cpus)
                out.append(_Actor(handle, cpus))
    else:
        workers = workers_per_actor or 1
        count = actors or max(1, int(ray.cluster_resources().get("CPU", 1)) // workers)
        for _ in range(count):
            handle = remote.options(num_cpus=workers, scheduling_strategy="SPREAD").remote(config, workers)
            out.append(_Actor(handle, workers))
    if not out:
        raise ConfigError("the Ray cluster has no alive node with CPUs to score on")
    try:
        ray.get([a.handle.ready.remote() for a in out], timeout=PLACEMENT_TIMEOUT_S)
    except ray.exceptions.GetTimeoutError:
        _stop_actors(ray, out)
        raise ConfigError(
            f"Ray could not place {len(out)} scoring actors in {PLACEMENT_TIMEOUT_S:.0f} s (each asks for its "
            "workers' CPUs); free CPUs in the cluster or pass fewer actors/workers_per_actor"
        ) from None
    return out


def _stop_actors(ray: Any, actors: list[_Actor]) -> None:
    for actor in actors:
        with contextlib.suppress(Exception):  # already dead: its workers died with it (PDEATHSIG)
            ray.get(actor.handle.close.remote(), timeout=30)
        ray.kill(actor.handle)


def _blocks(tasks: Iterator[LinesTask], size: int) -> Iterator[list[LinesTask]]:
    block: list[LinesTask] = []
    for task in tasks:
        block.append(task)
        if len(block) >= size:
            yield block
            block = []
    if block:
        yield block


def _results(ray: Any, actors: list[_Actor], tasks: Iterator[LinesTask]) -> Iterator[LinesResult]:
    """Results in input order: blocks go to the least-busy actor, and come back in submission order."""
    block_size = 2 * max(a.workers for a in actors)
    blocks = _blocks(tasks, block_size)
    queue: collections.deque[tuple[_Actor, Any]] = collections.deque()
    exhausted = False
    while True:
        while not exhausted:
            actor = min(actors, key=lambda a: a.busy)
            if actor.busy >= IN_FLIGHT_PER_ACTOR:
                break
            block = next(blocks, None)
            if block is None:
                exhausted = True
                break
            actor.busy += 1
            queue.append((actor, actor.handle.score.remote(block)))
        if not queue:
            return
        actor, ref = queue.popleft()
        try:
            results, actor.kills = ray.get(ref)
        except ray.exceptions.RayError as exc:
            raise WorkerError(f"a Ray scoring actor failed: {exc}") from exc
        actor.busy -= 1
        yield from results


def score_file_ray(
    config: CompositionConfig,
    source: str | Path,
    output: str | Path | None,
    details: bool = False,
    chunk_lines: int = 256,
    on_error: Callable[[RowError], None] = lambda e: None,
    on_progress: Callable[[int], None] = lambda n: None,
    address: str | None = None,
    actors: int | None = None,
    workers_per_actor: int | None = None,
) -> FileReport:
    """`score_file` on Ray: same arguments and `FileReport`, same output bytes as local scoring.

    ``address`` is passed to ``ray.init`` when no Ray session is running (None: ``$RAY_ADDRESS`` or a new
    local instance). By default one actor per node uses all of that node's CPUs.
    """
    ray = _import_ray()
    started = time.perf_counter()
    report = FileReport()
    owns = _connect(ray, address)
    pool: list[_Actor] = []
    try:
        pool = _start_actors(ray, config, actors, workers_per_actor)
        tasks = line_tasks(source, chunk_lines, details)
        results = _results(ray, pool, tasks)
        write_results(results, output, report, on_error, on_progress)
        report.kills = sum(a.kills for a in pool)
    finally:
        _stop_actors(ray, pool)
        if owns:
            ray.shutdown()
    report.seconds = time.perf_counter() - started
    return report


__all__ = ["ScoringActor", "score_file_ray"]
