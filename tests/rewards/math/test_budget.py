"""Budgets that hold everywhere: hostile inputs, threads, the in-process compose, CPU contention, the pool."""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rewardkit import Sample, Status, compose
from rewardkit.rewards.math import MathParams, budget, score_math
from rewardkit.rewards.math.compare import Limits, check

from ._data import regression_rows

P = MathParams()
#: Every call ends within its budget plus this slack, wherever it is made from (issue 13).
SLACK_S = 1.5

#: The hangs and crashes of issue 13 and their kin, each scored against a gold of "1" (or "42").
HOSTILE = {
    "unclosed boxes 140KB": "\\boxed{" * 20_000,
    "unclosed \\( 100KB": "\\(" * 50_000,
    "1, x 20k": "1," * 20_000,
    "nested <answer> 8KB": "<answer>" * 1000 + "42" + "</answer>" * 1000,
    "unclosed <answer> 8KB": "<answer>" * 1000,
    "dollars 100KB": "$7 " * 33_000,
    "tower": "\\boxed{10^{10^{10^{10}}}}",
    "factorial": "\\boxed{(10^{10})!}",
    "braces": "\\boxed{" + "{" * 5000 + "1" + "}" * 5000 + "}",
    "100KB sum": "\\boxed{" + "1+" * 50_000 + "1}",
    "parens": "$" + "(" * 40 + "1" + ")" * 40 + "$",
    "or chain": "2 or " * 20_000 + "1",
    "anchors": "the answer is " * 10_000,
    "numbers": "12.5/3 " * 20_000,
}


def _score(completion: str) -> tuple[float | None, Status, float]:
    start = time.monotonic()
    s = score_math(Sample(completion=completion, reference="1"), P)
    return s.value, s.status, time.monotonic() - start


@pytest.mark.parametrize("completion", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_inputs_end_in_time_from_the_main_thread(completion: str) -> None:
    budget.warm_up()  # the helper's start-up is not charged to any answer
    value, status, took = _score(completion)
    assert value == 0.0 and status in (Status.OK, Status.TIMEOUT)
    assert took < P.budget_s + SLACK_S, took


def test_hostile_inputs_end_in_time_from_8_threads() -> None:
    budget.warm_up()
    towers = [f"\\boxed{{10^{{10^{{10^{{{10 + i}}}}}}}}}" for i in range(8)]
    for batch in (towers, list(HOSTILE.values())):
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(_score, batch))
        assert all(v == 0.0 for v, _s, _t in results)
        assert max(t for _v, _s, t in results) < P.budget_s + SLACK_S, [round(t, 2) for _v, _s, t in results]


def test_hostile_inputs_end_in_time_in_the_default_in_process_compose() -> None:
    budget.warm_up()
    reward = compose({"rewards": [{"name": "math"}]})
    completions = list(HOSTILE.values())
    start = time.monotonic()
    values = reward(prompts=[""] * len(completions), completions=completions, answer=["1"] * len(completions))
    assert values == [0.0] * len(completions)
    assert (time.monotonic() - start) / len(completions) < P.budget_s + SLACK_S


def test_concurrent_callers_get_their_own_helper() -> None:
    """A caller does not queue behind another one's slow request while the pool has room."""
    if budget.pool_size() < 2:
        pytest.skip("one core: the pool holds one helper")
    budget.warm_up(helpers_n=2)
    pool = budget._get_pool()
    held = pool.acquire()  # another caller's request in flight
    try:
        start = time.monotonic()
        reply = budget.call({"warmup": True}, 30.0)
        assert time.monotonic() - start < 5.0 and held.proc is not None
        assert reply["pid"] != held.proc.pid
    finally:
        pool.release(held)


def _busy() -> None:
    while True:
        pass


def test_verdicts_are_the_same_idle_and_under_cpu_contention() -> None:
    """One batch (regression rows, symbolic ones included) scored idle, then beside 3 busy processes."""
    rows = regression_rows()[::3]
    pairs = [(r["gold"], r["pred"]) for r in rows] + [("\\tan^2(y)+1", "\\boxed{\\sec^2(y)}"), ("0", "4 0/0")]
    limits = Limits()
    check.__globals__["_check_answer"].cache_clear()  # verdicts must be computed again, not cached

    def verdicts() -> list[tuple[bool | None, str]]:
        out = [check(g, p, limits) for g, p in pairs]
        check.__globals__["_check_answer"].cache_clear()
        return [(v.equivalent, v.status) for v in out]

    budget.warm_up()
    idle = verdicts()
    ctx = multiprocessing.get_context("fork")
    hogs = [ctx.Process(target=_busy, daemon=True) for _ in range(3)]
    for h in hogs:
        h.start()
    try:
        loaded = verdicts()
    finally:
        for h in hogs:
            h.kill()
            h.join()
    assert idle == loaded


def _helper_cpu(pid: int) -> float:
    return budget._cpu_s(pid) or 0.0


_SLOW_ENOUGH = {"gold": "x^2 - 1", "pred": "(x-1)(x+1)", "gold_bare": True, "pred_bare": True}


def _only_helper() -> int:
    os.environ["REWARDKIT_MATH_HELPERS"] = "1"
    budget.shutdown()
    budget._pool = None
    budget.warm_up()
    # sympy's first factorisation loads lazily: pay it here, not inside the 0.3 s budgets below
    budget.call({**_SLOW_ENOUGH, "gold": "x^2 - 4", "pred": "(x-2)(x+2)"}, 60.0)
    procs = budget.helpers()
    assert len(procs) == 1
    return int(procs[0].pid)


@pytest.fixture
def one_helper() -> object:
    old = os.environ.get("REWARDKIT_MATH_HELPERS")
    yield _only_helper()
    budget.shutdown()
    budget._pool = None
    if old is None:
        os.environ.pop("REWARDKIT_MATH_HELPERS", None)
    else:
        os.environ["REWARDKIT_MATH_HELPERS"] = old


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="the CPU budget reads /proc")
def test_budget_is_cpu_time_so_a_starved_helper_is_not_a_timeout(one_helper: int) -> None:
    os.kill(one_helper, signal.SIGSTOP)  # the helper gets no CPU for 0.8 s: a loaded machine, exaggerated
    resume = threading.Timer(0.8, os.kill, (one_helper, signal.SIGCONT))
    resume.start()
    start = time.monotonic()
    reply = budget.call(_SLOW_ENOUGH, 0.3)  # wall time past the budget, CPU time well within it
    resume.join()
    assert time.monotonic() - start >= 0.8
    assert reply["ok"] is True


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="the CPU budget reads /proc")
def test_a_stuck_helper_still_meets_the_wall_clock_backstop(one_helper: int) -> None:
    os.kill(one_helper, signal.SIGSTOP)  # never resumed: it is killed and replaced
    start = time.monotonic()
    with pytest.raises(budget.BudgetExceeded):
        budget.call(_SLOW_ENOUGH, 0.2)
    assert 0.2 * budget.BACKSTOP <= time.monotonic() - start < 0.2 * budget.BACKSTOP + 1.0


def test_an_overrun_is_charged_at_most_its_budget(one_helper: int) -> None:
    """A request that would run for minutes costs about its CPU budget, then the helper is replaced."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = _helper_cpu(one_helper)
    with pytest.raises(budget.BudgetExceeded):
        budget.call({"gold": "1", "pred": "10^{10^{10^{10}}}", "gold_bare": True, "pred_bare": True}, 0.5)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    spent = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime) - cpu_before
    assert spent < 0.5 + 0.5
    assert [p.pid for p in budget.helpers()] != [one_helper]  # replaced


def test_helper_warm_up_then_answers() -> None:
    """The helper parses its warm-up shapes when asked (or idle) and still answers afterwards."""
    budget.warm_up()
    reply = budget.call({"gold": "\\tan^2(y)+1", "pred": "\\sec^2(y)", "gold_bare": True, "pred_bare": True}, 10.0)
    assert reply["ok"] is True
