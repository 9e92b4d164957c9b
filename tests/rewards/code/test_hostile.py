# ruff: noqa: E501  (the hostile programs read best on one line each)
"""Hostile programs: each tries an attack and prints a marker if it worked; the marker is the expected
output, so a score of 0 proves containment. The scorer must survive, and nothing may be left running."""

from __future__ import annotations

import os
import signal
import socket
import tempfile
import time
import uuid

import pytest

from rewardkit.types import Status

from .conftest import needs_isolation, score

pytestmark = needs_isolation


@pytest.fixture(params=[True, False], ids=["bwrap", "no-bwrap"])
def bwrap(request: pytest.FixtureRequest) -> bool:
    """Each layer must hold on its own: run the suite with and without bubblewrap's namespaces."""
    return bool(request.param)


def _row(marker: str = "PWNED") -> dict[str, object]:
    return {"tests": [{"input": "", "output": marker + "\n"}]}


HOSTILE = [
    ("fork bomb", "import os\nwhile True:\n    os.fork()\nprint('PWNED')"),
    ("fork via subprocess", "import subprocess\nsubprocess.run(['true'])\nprint('PWNED')"),
    ("multiprocessing", "import multiprocessing as m\np = m.Process(target=print)\np.start()\nprint('PWNED')"),
    ("infinite loop", "while True:\n    pass\nprint('PWNED')"),
    ("20 GB allocation", "x = bytearray(20 * 2**30)\nprint('PWNED')"),
    ("read /etc/passwd", "print('PWNED' if 'root:' in open('/etc/passwd').read() else '')"),
    ("read /etc/shadow", "print('PWNED' if open('/etc/shadow').read() else '')"),
    ("list /root", "import os\nos.listdir('/root')\nprint('PWNED')"),
    ("detached setsid child", "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(600)\nprint('PWNED')"),
    ("deep recursion", "import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1) + 1\nf(0)\nprint('PWNED')"),
    ("ptrace", "import ctypes\nassert ctypes.CDLL(None).ptrace(16, 1, 0, 0) == 0\nprint('PWNED')"),
    ("exec a shell", "import os\nos.execv('/bin/sh', ['sh', '-c', 'echo PWNED'])"),
    ("udp socket", "import socket\nsocket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nprint('PWNED')"),
    ("unshare", "import os\nos.unshare(os.CLONE_NEWUSER)\nprint('PWNED')"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "code"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_contained(name: str, code: str, bwrap: bool, no_leftovers: None) -> None:
    start = time.monotonic()
    result = score(code, _row(), bubblewrap=bwrap)
    assert result.value == 0.0, f"{name}: {result.reason}"
    assert result.status in (Status.OK, Status.TIMEOUT)
    assert time.monotonic() - start < 15, f"{name} took too long"


def test_tcp_to_loopback(bwrap: bool, no_leftovers: None) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.5)
        port = server.getsockname()[1]
        code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'x')\nprint('PWNED')"
        assert score(code, _row(), bubblewrap=bwrap).value == 0.0
        with pytest.raises(TimeoutError):
            server.accept()  # nobody connected


def test_write_outside_scratch(bwrap: bool, no_leftovers: None) -> None:
    targets = [
        os.path.join(tempfile.gettempdir(), f"rk-hostile-{uuid.uuid4().hex}"),
        f"/var/tmp/rk-{uuid.uuid4().hex}",
    ]
    code = "".join(f"open({t!r}, 'w').write('x')\n" for t in targets) + "print('PWNED')"
    assert score(code, _row(), bubblewrap=bwrap).value == 0.0
    assert not any(os.path.exists(t) for t in targets)
    # the scratch directory itself is writable
    assert score("open('f', 'w').write('ok')\nprint(open('f').read())", _row("ok")).value == 1.0


def test_kill_the_parent_and_the_scorer(bwrap: bool, no_leftovers: None) -> None:
    me = os.getpid()
    code = f"import os, signal\nfor pid in (os.getppid(), {me}, 1):\n    os.kill(pid, signal.SIGKILL)\nprint('PWNED')"
    assert score(code, _row(), bubblewrap=bwrap).value == 0.0
    assert score("print('ok')", _row("ok")).value == 1.0  # the fork server is still there


def test_huge_output(no_leftovers: None) -> None:
    code = "import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(1024):\n    sys.stdout.write(chunk)\nprint('PWNED')"
    start = time.monotonic()
    result = score(code, _row())
    assert result.value == 0.0
    assert time.monotonic() - start < 15


def test_environment_secrets(monkeypatch: pytest.MonkeyPatch, bwrap: bool, no_leftovers: None) -> None:
    secret = f"rk-secret-{uuid.uuid4().hex}"
    monkeypatch.setenv("REWARDKIT_TEST_SECRET", secret)
    # A fresh fork server started now, with the secret in this process's environment.
    from rewardkit.rewards.code.sandbox.client import LocalExecutor

    code = (
        "import glob, os\nfound = str(dict(os.environ))\n"
        "for p in glob.glob('/proc/*/environ'):\n"
        "    try:\n        found += open(p, 'rb').read().decode(errors='replace')\n"
        "    except OSError:\n        pass\n"
        f"print('PWNED' if {secret!r} in found else 'clean')"
    )
    from rewardkit.rewards.code.executor import Run

    executor = LocalExecutor(slots=1, bubblewrap=bwrap)
    try:
        outcome = executor.run_one(Run(code=code, mode="stdio"))
    finally:
        executor.close()
    assert outcome.stdout.strip() == "clean", outcome
    assert score(code, _row()).value == 0.0


def test_timeout_is_judged_on_cpu_and_scored_low(no_leftovers: None) -> None:
    result = score("while True:\n    pass", _row(""), cpu_s=0.5)
    assert result.status is Status.TIMEOUT and result.value == 0.0
    # sleeping costs no CPU: only the wall-clock backstop ends it
    result = score("import time\ntime.sleep(60)", _row(""), cpu_s=0.5, wall_s=1.0)
    assert result.value == 0.0 and "time" in result.reason


def test_scorer_survives_a_killed_server(no_leftovers: None) -> None:
    """A fork server killed from outside is restarted; the run in flight is reported, never scored 0."""
    from rewardkit.rewards.code.sandbox import client

    assert score("print('ok')", _row("ok")).value == 1.0
    for executor in client._executors.values():
        for slot in executor.slots:
            if slot.proc:
                os.kill(slot.proc.pid, signal.SIGKILL)
                slot.proc.wait()
    assert score("print('ok')", _row("ok")).value == 1.0
