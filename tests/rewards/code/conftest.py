"""Shared helpers: score code through the real reward path, and check that nothing is left running."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from rewardkit.params import build_params
from rewardkit.rewards.code import CodeParams, score_batch
from rewardkit.rewards.code.sandbox import probe
from rewardkit.types import Sample, Score

needs_isolation = pytest.mark.skipif(
    not probe.probe().isolated, reason="this machine has no Landlock or seccomp: the local sandbox refuses"
)


def score(code: str, columns: dict[str, Any], **params: Any) -> Score:
    settings = {"cpu_s": 1.0, **params}
    sample = Sample(f"```{settings.get('language', 'python')}\n{code}\n```", columns=columns)
    return score_batch([sample], build_params("code", CodeParams, settings))[0]


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


@pytest.fixture
def no_leftovers() -> Iterator[None]:
    """Fail if the test leaves a process below this one that was not there before."""
    before = descendants(os.getpid())
    yield
    left = descendants(os.getpid()) - before
    # Fork servers started by the test are expected (and reused); anything else is a leak.
    from rewardkit.rewards.code.sandbox import client

    servers = {s.proc.pid for e in client._executors.values() for s in e.slots if s.proc}
    servers |= {d for pid in servers for d in descendants(pid) if _is_server_side(d)}
    assert left - servers == set(), f"processes left running: {sorted(left - servers)}"


def _is_server_side(pid: int) -> bool:
    # Under bubblewrap, the server runs below bwrap's own init; a program would be below the server.
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read()
    except OSError:
        return False
    return b"bwrap" in cmd or b"sandbox.server" in cmd
