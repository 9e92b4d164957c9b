"""Test-only rewards for the server tests, at module level so worker processes can unpickle them."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rewardkit import RewardSpec, Sample, Score
from rewardkit.config import CompositionConfig, Term


@dataclass(frozen=True)
class NoParams:
    pass


def nap(sample: Sample, params: NoParams) -> Score:
    """Sleeps the number of seconds the completion says ('0.5'), then scores 1; other text scores 0."""
    try:
        seconds = float(sample.text)
    except ValueError:
        return Score.ok(0.0)
    time.sleep(seconds)
    return Score.ok(1.0)


NAP = RewardSpec(name="nap", description="nap", params=NoParams, range=(0.0, 1.0), fn=nap, plugin="tests")


def nap_config(timeout_s: float = 30.0) -> CompositionConfig:
    return CompositionConfig(terms=(Term("nap", 1.0, NAP, NoParams(), None, timeout_s),), name="nap")
