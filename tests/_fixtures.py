"""Test-only rewards, defined at module level so worker processes can unpickle them."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

from rewardkit import RewardSpec, Sample, Score, param, plugins
from rewardkit.config import CompositionConfig, Term


@contextlib.contextmanager
def registered(plugin: object, name: str) -> Iterator[None]:
    """``plugin``'s rewards registered on a fresh registry for one test; the registry is reset after."""
    plugins.reset()
    plugins.get_plugin_manager().register(plugin, name=name)
    try:
        yield
    finally:
        plugins.reset()


@dataclass(frozen=True)
class NoParams:
    pass


@dataclass(frozen=True)
class FixedParams:
    value: float = param(1.0, "the value to return")


def contains_x(sample: Sample, params: NoParams) -> Score:
    """1 when the completion contains 'x': cheap, pure, deterministic."""
    return Score.ok(1.0 if "x" in sample.text else 0.0)


def hostile(sample: Sample, params: NoParams) -> Score:
    """Misbehaves on cue: 'spin' burns CPU forever, 'die' kills its process, 'raise' raises, 'sleep' blocks."""
    text = sample.text
    if text == "spin":
        while True:
            pass
    if text == "die":
        os._exit(3)
    if text == "raise":
        raise RuntimeError("boom")
    if text == "sleep":
        time.sleep(3600)
    return Score.ok(0.5)


def infra(sample: Sample, params: NoParams) -> Score:
    """An infrastructure failure on rows whose completion says 'down'."""
    return Score.error("service unreachable") if sample.text == "down" else Score.ok(1.0)


def which_worker(sample: Sample, params: NoParams) -> Score:
    """Takes 0.2 s and says which process scored it."""
    time.sleep(0.2)
    return Score.ok(0.5, pid=os.getpid())


def out_of_range(sample: Sample, params: NoParams) -> Score:
    return Score.ok(7.0)


def _spec(name: str, fn: object, timeout_s: float = 10.0) -> RewardSpec:
    return RewardSpec(name=name, description=name, params=NoParams, range=(0.0, 1.0), fn=fn,  # type: ignore[arg-type]
                      timeout_s=timeout_s, plugin="tests")


CONTAINS_X = _spec("contains_x", contains_x)
HOSTILE = _spec("hostile", hostile)
INFRA = _spec("infra", infra)
OUT_OF_RANGE = _spec("out_of_range", out_of_range)
WHICH_WORKER = _spec("which_worker", which_worker)


def config_of(*terms: tuple[RewardSpec, float, float], max_error_rate: float = 1.0) -> CompositionConfig:
    """A composition of (spec, weight, timeout_s) terms, bypassing the registry."""
    return CompositionConfig(
        terms=tuple(Term(spec.name, weight, spec, NoParams(), None, timeout) for spec, weight, timeout in terms),
        max_error_rate=max_error_rate,
    )


def broken_task(config: CompositionConfig, payload: object, forced: object, beat: object) -> object:
    """A worker task with a bug: the pool must surface it, not hang or retry forever."""
    raise ValueError("bug in the task")


def group_sizes(samples: object, params: NoParams) -> list[Score]:
    """A grouping reward: each sample scores the size of its group (by prompt) over 10, so a split shows."""
    batch = list(samples)  # type: ignore[call-overload]
    sizes: dict[object, int] = {}
    for s in batch:
        sizes[s.prompt] = sizes.get(s.prompt, 0) + 1
    return [Score.ok(sizes[s.prompt] / 10) for s in batch]


def prompt_key(sample: Sample, params: NoParams) -> str:
    return str(sample.prompt)


GROUP_SIZES = RewardSpec(name="group_sizes", description="group size / 10", params=NoParams, range=(0.0, 1.0),
                         batch_fn=group_sizes, group_key=prompt_key, plugin="tests")
