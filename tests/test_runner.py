"""The worker pool: order, determinism, and time budgets enforced by a kill (never signal.alarm)."""

from __future__ import annotations

import time

import pytest

from rewardkit.evaluate import evaluate_chunk
from rewardkit.runner import WorkerPool
from rewardkit.types import Sample, Status

from ._fixtures import CONTAINS_X, HOSTILE, config_of


def _chunks(texts: list[str], size: int) -> list[list[Sample]]:
    samples = [Sample(t) for t in texts]
    return [samples[i : i + size] for i in range(0, len(samples), size)]


def test_results_come_back_in_input_order_and_match_in_process() -> None:
    config = config_of((CONTAINS_X, 1.0, 10.0))
    texts = [("x" if i % 3 == 0 else "y") * (i % 7 + 1) for i in range(500)]
    with WorkerPool(config, evaluate_chunk, workers=2) as pool:
        pooled = [r for chunk in pool.map(_chunks(texts, 17)) for r in chunk]
    assert pooled == evaluate_chunk(config, [Sample(t) for t in texts])


def test_a_spinning_reward_is_killed_and_scored_as_timeout_while_the_rest_is_scored() -> None:
    config = config_of((HOSTILE, 1.0, 0.5), (CONTAINS_X, 1.0, 10.0))
    texts = ["ok", "spin", "ok", "x", "spin", "ok"]
    started = time.monotonic()
    with WorkerPool(config, evaluate_chunk, workers=2) as pool:
        results = [r for chunk in pool.map(_chunks(texts, 2)) for r in chunk]
        assert pool.kills == 2
    assert time.monotonic() - started < 10
    hostile = [r.scores["hostile"] for r in results]
    assert [s.status for s in hostile] == [Status.OK, Status.TIMEOUT, Status.OK, Status.OK, Status.TIMEOUT, Status.OK]
    assert hostile[1].value == 0.0  # the completion's own fault: the reward's low value, not null
    # The other term of the killed item was still computed, and totals stay numbers.
    assert results[1].scores["contains_x"].value == 0.0
    assert results[3].total == 1.5


def test_a_sleeping_reward_is_stopped_by_the_wall_clock_backstop() -> None:
    config = config_of((HOSTILE, 1.0, 0.3))
    with WorkerPool(config, evaluate_chunk, workers=1) as pool:
        started = time.monotonic()
        (results,) = list(pool.map(_chunks(["sleep", "ok"], 2)))
    # CPU time does not grow while sleeping, so the backstop (budget + 5 s) ends it.
    assert time.monotonic() - started < 12
    assert results[0].scores["hostile"].status is Status.TIMEOUT
    assert results[1].scores["hostile"].value == 0.5


def test_a_worker_that_dies_gives_an_error_for_that_item_only() -> None:
    config = config_of((HOSTILE, 1.0, 10.0))
    with WorkerPool(config, evaluate_chunk, workers=2) as pool:
        results = [r for chunk in pool.map(_chunks(["ok", "die", "ok", "raise"], 2)) for r in chunk]
        assert pool.deaths == 1
    died, raised = results[1].scores["hostile"], results[3].scores["hostile"]
    assert died.status is Status.ERROR and died.value is None and "exit code 3" in died.reason
    assert raised.status is Status.BUG and "RuntimeError: boom" in raised.reason  # a bug, not an outage
    assert results[1].total is None  # masked, never a silent 0
    assert [results[0].total, results[2].total] == [0.5, 0.5]


def test_an_unpicklable_reward_gets_a_clear_error() -> None:
    from dataclasses import replace

    from rewardkit.errors import ConfigError

    local = replace(CONTAINS_X, fn=lambda s, p: None)
    with pytest.raises(ConfigError, match="module level"):
        WorkerPool(config_of((local, 1.0, 1.0)), evaluate_chunk, workers=1)


def test_map_reads_its_input_lazily_so_memory_stays_flat() -> None:
    config = config_of((CONTAINS_X, 1.0, 10.0))
    pulled = 0

    def chunks():  # type: ignore[no-untyped-def]
        nonlocal pulled
        for _ in range(1000):
            pulled += 1
            yield [Sample("x")] * 4

    with WorkerPool(config, evaluate_chunk, workers=2) as pool:
        results = pool.map(chunks(), ahead=6)
        for consumed, _ in enumerate(results, start=1):
            assert pulled <= consumed + 6  # never more than `ahead` chunks read beyond what was yielded
            if consumed == 50:
                break


def test_a_bug_in_the_task_surfaces_as_a_worker_error_with_its_traceback() -> None:
    from rewardkit.errors import WorkerError

    from ._fixtures import broken_task

    with WorkerPool(config_of((CONTAINS_X, 1.0, 10.0)), broken_task, workers=1) as pool, \
            pytest.raises(WorkerError, match=r"(?s)a worker failed on chunk 0.*ValueError: bug in the task"):
        list(pool.map([[Sample("x")]]))
