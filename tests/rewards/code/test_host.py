# ruff: noqa: E501  (attack programs read best on one line each)
"""Every host route of issue #12, without bubblewrap and as uid 0: each program prints PWNED only if its
attack worked, and PWNED is the expected output (or it returns the expected value only then), so a 0
proves containment. After each: the scorer is alive, and innocent rows on every slot score as they should.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from rewardkit.rewards.code.sandbox import client, host, probe
from rewardkit.types import Status

from .conftest import needs_isolation
from .test_attacks import _innocents_unaffected, _score

pytestmark = needs_isolation
PWN = {"tests": [{"input": "", "output": "PWNED\n"}]}
PWN_CALL = {"test_list": ["assert attack() == 'PWNED'"]}
SCORER = os.getpid()


def _as_call(body: str) -> str:
    """The same attack from inside a function the judge calls (the split's candidate process)."""
    return "def attack():\n" + "".join(f"    {line}\n" for line in body.splitlines()) + "    return 'PWNED'"


def _zero_both_ways(body: str, **params: Any) -> None:
    stdio, call = _score([(body + "\nprint('PWNED')", PWN), (_as_call(body), PWN_CALL)], **params)
    for result in (stdio, call):
        assert result.value == 0.0, result.reason
        assert result.status in (Status.OK, Status.TIMEOUT), result.reason
    _innocents_unaffected()


PROCESS_ROUTES = [
    ("prlimit the server and the scorer", f"import os, resource\nfor pid in (os.getppid(), 1, {SCORER}):\n    resource.prlimit(pid, resource.RLIMIT_NOFILE, (3, 3))"),
    ("prlimit the server's address space", "import os, resource\nresource.prlimit(os.getppid(), resource.RLIMIT_AS, (1 << 20, 1 << 20))"),
    ("kill the server, init and the scorer", f"import os, signal\nfor pid in (os.getppid(), 1, {SCORER}):\n    os.kill(pid, signal.SIGKILL)"),
    ("kill everyone", "import os, signal\nos.kill(-1, signal.SIGKILL)"),
    ("signal the process group", "import os, signal\nos.killpg(0, signal.SIGSTOP)"),
    ("pin and deprioritise the server", "import os\nos.sched_setaffinity(os.getppid(), {0})\nos.setpriority(os.PRIO_PROCESS, os.getppid(), 19)"),
    ("ptrace the server", "import ctypes, os\nassert ctypes.CDLL(None).ptrace(16, os.getppid(), 0, 0) == 0"),
    ("read the server's memory", "import os\nopen(f'/proc/{os.getppid()}/mem', 'rb').read(1)"),
    ("pidfd of the server", "import os\nos.pidfd_open(os.getppid())"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "body"), PROCESS_ROUTES, ids=[r[0] for r in PROCESS_ROUTES])
def test_other_processes_are_out_of_reach(name: str, body: str) -> None:
    _zero_both_ways(body)
    os.kill(SCORER, 0)  # still here


def test_slot_poisoning_leaves_the_next_rows_alone() -> None:
    """The reported attack: prlimit on its own fork server, then 15 innocent rows (9 of them were null)."""
    body = "import os, resource\nfor r in (resource.RLIMIT_NPROC, resource.RLIMIT_NOFILE, resource.RLIMIT_AS, resource.RLIMIT_CPU):\n    try: resource.prlimit(1, r, (0, 0))\n    except OSError: pass\n    try: resource.prlimit(os.getppid(), r, (0, 0))\n    except OSError: pass"
    rows = [(body + "\nprint('PWNED')", PWN)] * 2 + [("print('PWNED')", PWN)] * 15
    values = [(s.value, s.status) for s in _score(rows)]
    assert values[:2] == [(1.0, Status.OK)] * 2  # its prints are its own: what matters is what follows
    assert values[2:] == [(1.0, Status.OK)] * 15, values
    _innocents_unaffected()


@pytest.fixture
def unix_listener() -> Iterator[tuple[socket.socket, str]]:
    """A root-only (0600, in a 0700 directory) pathname unix socket on the host."""
    where = tempfile.mkdtemp(prefix="rk-sock-")
    path = os.path.join(where, "s")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    os.chmod(path, 0o600)
    server.listen()
    server.settimeout(0.3)
    yield server, path
    server.close()
    shutil.rmtree(where)


def test_pathname_unix_socket(unix_listener: tuple[socket.socket, str]) -> None:
    server, path = unix_listener
    _zero_both_ways(f"import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({path!r})\ns.sendall(b'x')")
    _zero_both_ways(f"import socket\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ns.sendto(b'x', {path!r})")
    with pytest.raises(TimeoutError):
        server.accept()


def test_abstract_unix_socket() -> None:
    name = f"\0rk-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(name)
        server.listen()
        server.settimeout(0.3)
        _zero_both_ways(f"import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({name!r})\ns.sendall(b'x')")
        with pytest.raises(TimeoutError):
            server.accept()


def test_tcp_and_udp_to_the_host() -> None:
    with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        tcp.bind(("127.0.0.1", 0))
        tcp.listen()
        udp.bind(("127.0.0.1", 0))
        tcp.settimeout(0.3)
        udp.settimeout(0.3)
        tport, uport = tcp.getsockname()[1], udp.getsockname()[1]
        _zero_both_ways(f"import socket\nsocket.create_connection(('127.0.0.1', {tport}), timeout=1).sendall(b'x')")
        _zero_both_ways(f"import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.sendto(b'x', ('127.0.0.1', {uport}))")
        with pytest.raises(TimeoutError):
            tcp.accept()
        with pytest.raises(TimeoutError):
            udp.recv(16)


@pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not installed")
def test_cpp_gets_the_same_containment(unix_listener: tuple[socket.socket, str]) -> None:
    server, path = unix_listener
    src = ("#include <sys/socket.h>\n#include <sys/un.h>\n#include <sys/resource.h>\n#include <signal.h>\n#include <unistd.h>\n#include <cstring>\n#include <cstdio>\n"
           "int main() { int ok = 0; struct rlimit r = {0, 0};\n"
           f"  if (prlimit(getppid(), RLIMIT_NOFILE, &r, 0) == 0) ok = 1;\n  if (kill({SCORER}, 0) == 0 || kill(getppid(), SIGKILL) == 0) ok = 1;\n"
           f"  int s = socket(AF_UNIX, SOCK_STREAM, 0); struct sockaddr_un a; memset(&a, 0, sizeof a); a.sun_family = AF_UNIX; strcpy(a.sun_path, \"{path}\");\n"
           "  if (s >= 0 && connect(s, (struct sockaddr*)&a, sizeof a) == 0) ok = 1;\n  if (ok) printf(\"PWNED\\n\"); }\n")  # fmt: skip
    result = _score([(src, PWN)], language="cpp")[0]
    assert result.value == 0.0 and result.status is Status.OK, result.reason
    assert "seccomp" in result.details["isolation"] and "pidns" in result.details["isolation"]
    with pytest.raises(TimeoutError):
        server.accept()
    _innocents_unaffected()


def test_thread_cap() -> None:
    body = "import threading, time\nts = [threading.Thread(target=time.sleep, args=(5,), daemon=True) for _ in range(300)]\nfor t in ts:\n    t.start()"
    start = time.monotonic()
    _zero_both_ways(body)
    assert time.monotonic() - start < 20


def test_the_thread_cap_binds_every_run_and_is_fresh_each_time() -> None:
    """The fork server lives in its slot's pids cgroup and every run is born in it (no per-run move): each
    run meets the cap, and none inherits the threads of the one before (the server kills them all)."""
    fill = "import threading, time\nn = 0\ntry:\n    for _ in range(200):\n        threading.Thread(target=time.sleep, args=(3,), daemon=True).start()\n        n += 1\nexcept RuntimeError:\n    pass\n"
    stdio = (fill + "print('capped' if 0 < n < 32 else n)", {"tests": [{"input": "", "output": "capped\n"}]})
    call = (_as_call(fill + "assert 0 < n < 32, n"), PWN_CALL)
    # slot 1 alone: each run finds the cap at the same height, so no thread of a run outlived it
    results = _score([stdio, call, stdio, call], slots=1)
    if "pids32" not in results[0].details["isolation"].split("+"):
        pytest.skip("no pids cgroup on this machine")
    assert [s.value for s in results] == [1.0] * 4, [s.reason for s in results]
    _innocents_unaffected()


def test_scratch_disk_quota() -> None:
    body = "chunk = b'x' * (4 << 20 - 1)\nfor i in range(300):\n    with open(f'f{i}', 'wb') as f:\n        f.write(chunk)"
    start = time.monotonic()
    _zero_both_ways(body, output_kb=8192)
    assert time.monotonic() - start < 30


def test_a_sleeper_costs_one_wall_clock_backstop_per_row() -> None:
    row = {"tests": [{"input": str(i), "output": "x"} for i in range(6)]}
    start = time.monotonic()
    result = _score([("import time\ntime.sleep(60)", row)], wall_s=1.0, slots=1)[0]
    assert (result.value, result.status) == (0.0, Status.TIMEOUT)
    assert time.monotonic() - start < 5, "every test of the row waited for its own backstop"
    start = time.monotonic()
    call = _score([("import time\ndef sq(x):\n    time.sleep(60)", {"test_list": ["assert sq(1) == 1"] * 3})], wall_s=1.0)[0]
    assert call.value == 0.0 and call.status is Status.TIMEOUT and time.monotonic() - start < 5
    _innocents_unaffected()


def test_limits_are_reapplied_every_run() -> None:
    """A run that lowers its own limits (or its slot's, if it could) does not shrink the next run's."""
    lower = "import resource\nresource.setrlimit(resource.RLIMIT_NOFILE, (4, 4))\nresource.setrlimit(resource.RLIMIT_CPU, (1, 1))\nprint('PWNED')"
    check = "import resource\nprint('PWNED' if resource.getrlimit(resource.RLIMIT_NOFILE)[0] == 64 else 'low')"
    values = [s.value for s in _score([(lower, PWN), (check, PWN), (check, PWN)], slots=1)]
    assert values == [1.0, 1.0, 1.0]


def test_damaging_the_supervisor_scores_zero_not_null(monkeypatch: pytest.MonkeyPatch) -> None:
    """With seccomp off (so the program can reach its fork server), a program that breaks the server
    is scored as its own failure, and the scorer restarts the server for the next rows."""
    weak = dataclasses.replace(probe.probe(), seccomp=False)
    monkeypatch.setattr(probe, "probe", lambda: weak)
    monkeypatch.setattr(client, "_executors", {})
    body = "import resource, os\nresource.prlimit(1, resource.RLIMIT_NOFILE, (0, 0))\nresource.prlimit(1, resource.RLIMIT_AS, (1 << 16, 1 << 16))"
    try:
        stdio, call = _score([(body + "\nprint('PWNED')", PWN), (_as_call(body), PWN_CALL)], slots=1, allow_unisolated=True)
        for result in (stdio, call):
            assert result.value == 0.0 and result.status is not Status.ERROR, result.reason
            assert "brought its sandbox down" in result.reason + str(result.details.get("stderr")), result.reason
        after = _score([("print('PWNED')", PWN)] * 3, slots=1, allow_unisolated=True)
        assert [s.value for s in after] == [1.0] * 3
    finally:
        for executor in client._executors.values():
            executor.close()


def _dead_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def test_leftovers_of_a_killed_scorer_are_swept() -> None:
    dead = _dead_pid()
    stale = tempfile.mkdtemp(prefix=f"rewardkit-sandbox-{dead}-slot0-")
    os.makedirs(os.path.join(stale, "work", "run3"))
    cgroup = host.create_pids(f"{host.CGROUP_PREFIX}{dead}", 8)
    executor = client.LocalExecutor(1)
    try:
        assert not os.path.exists(stale)
        assert cgroup is None or not os.path.exists(cgroup)
        # a fork server killed outright: its cgroup and scratch are gone by the time a new one starts
        assert executor.run_one(client.Run(code="print(1)", mode="stdio")).stdout == "1\n"
        kept = executor.slots[0].cgroup
        killed = executor.slots[0].proc
        assert killed is not None
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
        assert executor.run_one(client.Run(code="print(2)", mode="stdio")).stdout == "2\n"
        # the slot's cgroup outlives its server (one per slot, not one per restart), and goes with the slot
        assert executor.slots[0].cgroup == kept and (kept is None or os.path.isdir(kept))
    finally:
        executor.close()
    assert kept is None or not os.path.exists(kept)


def test_isolation_is_recorded_in_every_score() -> None:
    results = _score([("print('PWNED')", PWN), ("def attack():\n    return 'PWNED'", PWN_CALL)])
    for result in results:
        layers = set(result.details["isolation"].split("+"))
        assert {"seccomp", "rlimits"} <= layers and any(x.startswith("landlock") for x in layers), layers
        if os.geteuid() == 0:
            assert {"pidns", "netns", "mntns"} <= layers and any(x.startswith("quota") for x in layers), layers
    assert "split" in results[1].details["isolation"] and "split" not in results[0].details["isolation"]
