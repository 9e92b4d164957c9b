"""Test-only rewards for the TRL adapter, at module level so worker processes can unpickle them."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from rewardkit import RewardSpec, Sample, Score, hookimpl


@dataclass(frozen=True)
class NoParams:
    pass


def flaky(sample: Sample, params: NoParams) -> Score:
    """An infrastructure failure on cue ('FAIL' in the completion), else 1."""
    if "FAIL" in sample.text:
        return Score.error("the sandbox is down")
    return Score.ok(1.0, "fine")


def task_is_math(sample: Sample, params: NoParams) -> Score:
    """Reads a pass-through column: 1 when the row's task column says 'math'."""
    return Score.ok(1.0 if sample.columns["task"] == "math" else 0.0, "task column read")


FLAKY = RewardSpec(name="flaky", description="fails on cue", params=NoParams, range=(0.0, 1.0), fn=flaky)
TASK = RewardSpec(name="task_is_math", description="reads the task column", params=NoParams, range=(0.0, 1.0),
                  fn=task_is_math, columns=("task",))


def _register(register):  # type: ignore[no-untyped-def]
    register(FLAKY)
    register(TASK)


PLUGIN = SimpleNamespace(register_rewards=hookimpl(_register))
