"""Reaping holds without seccomp: a program allowed to fork leaves `setsid` children behind, and the
fork server (a child subreaper) kills every one of them before answering."""

from __future__ import annotations

import dataclasses
import os

import pytest

from rewardkit.rewards.code.executor import Limits
from rewardkit.rewards.code.sandbox import client, probe

pytestmark = pytest.mark.skipif(os.geteuid() != 0 and not probe.probe().landlock_abi, reason="needs Landlock")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_setsid_escapees_are_reaped() -> None:
    weakened = dataclasses.replace(probe.probe(), seccomp=False)
    slot = client.Slot(0, weakened, use_bwrap=False)
    # three children each start a new session, fork a sleeper, and exit: the sleepers are orphans
    code = (
        "import os, time\nfor _ in range(3):\n    if os.fork() == 0:\n        os.setsid()\n"
        "        pid = os.fork()\n        if pid == 0:\n            time.sleep(600)\n"
        "        print(pid, flush=True)\n        os._exit(0)\ntime.sleep(0.3)\nprint(os.getpid(), flush=True)"
    )
    request = client._request(client.Run(code=code, mode="stdio", limits=Limits(cpu_s=2)))
    try:
        reply = slot.call(request)
        assert slot.proc is not None
        # in its own pid namespace the server is the only child of the process we started (pid 1 there)
        servers = _children(slot.proc.pid)
        left = [kid for server in servers for kid in _children(server)] if "pidns" in slot.layers else servers
    finally:
        slot.close()
    assert reply["exit_code"] == 0, reply
    assert left == [], f"the fork server still has children: {left}"
    sleepers = [int(p) for p in reply["stdout"].split()]
    assert len(sleepers) == 4, reply["stdout"]
    if "pidns" not in slot.layers:  # inside a pid namespace these numbers are not host pids
        assert not any(_alive(p) for p in sleepers), "a detached sleeper survived the run"


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]
