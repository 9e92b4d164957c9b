"""Infrastructure failures are null, never 0; no isolation means refusal unless the user opts in."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import pytest

from rewardkit.params import build_params
from rewardkit.rewards.code import CodeParams, score_batch
from rewardkit.rewards.code.sandbox import client, probe
from rewardkit.types import Sample, Status

ROW = {"tests": [{"input": "", "output": "1\n"}]}


@pytest.fixture(autouse=True)
def own_executors(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Executors made by these tests are closed by them (servers stopped, directories removed)."""
    mine: dict[Any, client.LocalExecutor] = {}
    monkeypatch.setattr(client, "_executors", mine)
    yield
    for executor in mine.values():
        executor.close()


def _score(**params: Any) -> Any:
    return score_batch(
        [Sample("```python\nprint(1)\n```", columns=ROW)], build_params("code", CodeParams, params)
    )[0]


def test_refuses_without_isolation(monkeypatch: pytest.MonkeyPatch) -> None:
    bare = dataclasses.replace(probe.probe(), landlock_abi=0, seccomp=False, bwrap=None)
    monkeypatch.setattr(probe, "probe", lambda: bare)
    result = _score(slots=1)
    assert result.status is Status.ERROR and result.value is None
    assert "allow_unisolated" in result.reason
    opted_in = _score(slots=1, allow_unisolated=True)
    assert opted_in.value == 1.0
    assert not {"landlock", "seccomp"} & set(opted_in.details["isolation"].split("+"))


def test_a_server_that_cannot_start_is_an_error_not_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: client.Slot) -> None:
        raise client.SandboxUnavailable("fork server 0 did not start (test)")

    monkeypatch.setattr(client.Slot, "start", broken)
    result = _score(slots=1)
    assert result.status is Status.ERROR and result.value is None and "did not start" in result.reason


def test_forked_process_gets_its_own_executor() -> None:
    first = client.get_executor(1, False, False)
    pid = os.fork()
    if pid == 0:
        mine = client.get_executor(1, False, False)
        fresh = mine is not first
        mine.close()
        os._exit(0 if fresh else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert client.get_executor(1, False, False) is first
