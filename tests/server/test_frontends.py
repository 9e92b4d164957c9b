"""`rewardkit serve --frontends N`: N HTTP processes on one port (`rewardkit.server.frontends`).

What a user relies on: every front end answers on the same port (``--port 0`` included), requests are
spread over them, SIGTERM lets each finish its requests and exit 0 with nothing left running, and a front
end that dies on its own stops the whole server with a non-zero status instead of leaving half of it up.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("aiohttp")

from rewardkit.server.frontends import workers_per_frontend
from tests.server.test_serve import CLI, REPO, post, wait_up

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="--frontends needs fork")


def start(tmp_path: Path, *flags: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    config = tmp_path / "rewards.yaml"
    config.write_text("rewards:\n  - {name: think_format, weight: 0.2}\n  - {name: math}\n")
    proc = subprocess.Popen([sys.executable, "-c", CLI, "serve", "--config", str(config), "--port", "0", *flags],
                            cwd=REPO, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})  # fmt: skip
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    for line in iter(proc.stderr.readline, b""):  # "Running on http://127.0.0.1:PORT (...)": the bound port
        found = re.search(rb"Running on (http://[\d.]+:\d+)", line)
        if found:
            url = found.group(1).decode()
            # Keep reading the server's stderr: a full pipe blocked whichever front end wrote next, and a
            # request it was answering never got its reply (1 run in 3 of one test ordering).
            reader = threading.Thread(target=_collect, args=(proc,), daemon=True)
            reader.start()
            READERS[proc.pid] = reader
            wait_up(url, proc)
            return proc, url
        assert time.monotonic() < deadline, "no 'Running on' line"
    raise AssertionError(f"the server exited ({proc.wait()}) without listening")


READERS: dict[int, threading.Thread] = {}
STDERR: dict[int, bytearray] = {}


def _collect(proc: subprocess.Popen[bytes]) -> None:
    assert proc.stderr is not None
    collected = STDERR.setdefault(proc.pid, bytearray())
    for chunk in iter(lambda: proc.stderr.read1(65536), b""):  # type: ignore[union-attr]
        collected += chunk


def stderr_after_exit(proc: subprocess.Popen[bytes]) -> bytes:
    """What the server wrote to stderr after its "Running on" line, once it has exited."""
    READERS[proc.pid].join(30)
    return bytes(STDERR.get(proc.pid, b""))


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def health(url: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{url}/health", timeout=10) as resp:  # a fresh connection each time
        return dict(json.loads(resp.read()))


@pytest.mark.parametrize(("workers", "frontends", "each"), [(2, 2, 1), (4, 2, 2), (1, 3, 1), (0, 2, 0), (5, 2, 2)])
def test_workers_are_shared_out_over_the_front_ends(workers: int, frontends: int, each: int) -> None:
    assert workers_per_frontend(workers, frontends) == each


def test_two_front_ends_share_one_port_and_both_answer(tmp_path: Path) -> None:
    proc, url = start(tmp_path, "--frontends", "2", "--workers", "2")
    try:
        seen = {health(url)["frontend"] for _ in range(40)}  # the kernel spreads connections by their port
        assert seen == {0, 1}
        query = "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n"
        body = {"query": [query + "<think>7*6</think><answer>42</answer><|im_end|>"], "prompts": [query],
                "labels": ["42"]}  # fmt: skip
        with ThreadPoolExecutor(16) as pool:
            replies = list(pool.map(lambda _: post(f"{url}/get_reward", body), range(64)))
        assert all(status == 200 and reply["rewards"] == [pytest.approx(1.2)] for status, reply in replies)
        assert health(url)["frontends"] == 2 and health(url)["workers"] == 1
    finally:
        kids = children(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    assert len(kids) == 2
    time.sleep(0.5)
    assert not [k for k in kids if Path(f"/proc/{k}").exists()], "a front end outlived the server"


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize(("choice", "frontends"), [("", "1"), ("", "2"), ("asyncio", "1"), ("asyncio", "2")])
def test_each_front_end_runs_uvloop_where_installed_unless_told_not_to(tmp_path: Path, frontends: str,
                                                                        choice: str) -> None:  # fmt: skip
    proc, url = start(tmp_path, "--frontends", frontends, "--workers", "1", env={"REWARDKIT_EVENT_LOOP": choice})
    try:
        expected = "uvloop" if _has_uvloop() and choice != "asyncio" else "asyncio"
        assert {health(url)["event_loop"] for _ in range(8)} == {expected}
        query = "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n"
        body = {"query": [query + "<think>7*6</think><answer>42</answer><|im_end|>"], "prompts": [query],
                "labels": ["42"]}  # fmt: skip
        with ThreadPoolExecutor(8) as pool:  # the lanes settle requests on this loop from their threads
            replies = list(pool.map(lambda _: post(f"{url}/get_reward", body), range(32)))
        assert all(status == 200 and reply["rewards"] == [pytest.approx(1.2)] for status, reply in replies)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2) to read a listening socket's backlog")
@pytest.mark.parametrize("frontends", ["1", "2"])
def test_the_listening_backlog_takes_a_trainer_connecting_at_once(tmp_path: Path, frontends: str) -> None:
    """256 rollouts connect at once (OpenRLHF opens a connection per request). The event loop listens again
    when the server starts: with aiohttp's default backlog of 128 the accept queue overflowed, and each SYN
    dropped cost its request a 1 s retransmit (seen as p99 ~1 s in bench_server --fresh-connections)."""
    proc, url = start(tmp_path, "--frontends", frontends, "--workers", frontends)
    try:
        port = url.rsplit(":", 1)[1]
        listing = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True)
        backlogs = [int(line.split()[2]) for line in listing.stdout.splitlines() if line.strip()]
        assert backlogs and all(b >= 1024 for b in backlogs), listing.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0


def test_a_front_end_that_dies_stops_the_server_loudly(tmp_path: Path) -> None:
    proc, _ = start(tmp_path, "--frontends", "2", "--workers", "2")
    kids = children(proc.pid)
    try:
        assert len(kids) == 2
        os.kill(kids[0], signal.SIGKILL)
        assert proc.wait(60) == 1
        assert b"exited on its own" in stderr_after_exit(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    time.sleep(0.5)
    assert not Path(f"/proc/{kids[1]}").exists(), "the surviving front end must be stopped too"


@pytest.mark.parametrize("frontends", ["1", "2"])
@pytest.mark.parametrize("holder_reuses_port", [False, True])
def test_a_taken_port_is_one_line_saying_what_to_do(tmp_path: Path, frontends: str, holder_reuses_port: bool) -> None:
    # holder_reuses_port: the port is held by another `serve --frontends` (its listeners set SO_REUSEPORT, same
    # uid). The reservation once set SO_REUSEPORT before binding, so a second server joined the first one's
    # port and the kernel split connections between a live server and a stale one (seen as a request that
    # never got an answer when --port 0 drew a port a previous test's front end still held).
    config = tmp_path / "rewards.yaml"
    config.write_text("rewards:\n  - name: think_format\n")
    with socket.socket() as taken:
        if holder_reuses_port:
            taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        command = [sys.executable, "-c", CLI, "serve", "-c", str(config), "--port", port, "--frontends", frontends]
        result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"Error: cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr
    assert "choose another --port" in result.stderr and "Traceback" not in result.stderr
