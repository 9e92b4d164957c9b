"""`rewardkit serve` as a process: the command through its plugin hook, requests, graceful shutdown."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

pytest.importorskip("aiohttp")

from rewardkit.server.commands import register_commands

REPO = Path(__file__).resolve().parents[2]
CLI = (
    "from rewardkit.cli import cli\n"
    "from rewardkit.server.commands import register_commands\n"
    "if 'serve' not in cli.commands: register_commands(cli)\n"
    "cli()\n"
)
NAP_SERVER = (
    "import sys\n"
    "from rewardkit.server.app import serve\n"
    "from tests.server._rewards import nap_config\n"
    "serve(nap_config(), '127.0.0.1', int(sys.argv[1]), 1, shutdown_timeout=30)\n"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(url: str, body: Any, timeout: float = 30) -> tuple[int, Any]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "server exited"
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


def test_the_hook_adds_serve_to_a_click_group() -> None:
    @click.group()
    def group() -> None:
        pass

    register_commands(group)
    result = CliRunner().invoke(group, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--config", "--host", "--port", "--workers", "--max-body-mb", "--max-inflight-mb", "--null-reward"):
        assert option in result.output
    result = CliRunner().invoke(group, ["serve"])
    assert result.exit_code == 2 and "--config" in result.output


def test_rewardkit_serve_answers_openrlhf_and_stops_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "rewards.yaml"
    config.write_text("rewards:\n  - name: math\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-c", CLI, "serve", "--config", str(config), "--port", str(port),
                             "--workers", "1"], cwd=REPO, stderr=subprocess.PIPE)  # fmt: skip
    try:
        wait_up(url, proc)
        status, reply = post(f"{url}/get_reward", {"query": ["Q: 2+2? \\boxed{4}", "Q: 1? 5"],
                                                   "prompts": ["Q: 2+2? ", "Q: 1? "], "labels": ["4", "1"]})
        assert (status, reply["rewards"]) == (200, [1.0, 0.0])
        status, reply = post(f"{url}/get_reward", {"query": ["a"], "labels": []})
        assert status == 400 and "'labels' has 0 entries" in reply["error"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


@pytest.mark.parametrize(("yaml_workers", "flag", "expected"),
                         [("workers: 1\n", [], 1), ("workers: 1\n", ["-j", "0"], 0)])  # fmt: skip
def test_serve_honours_the_config_files_workers_key(tmp_path: Path, yaml_workers: str, flag: list[str],
                                                    expected: int) -> None:  # fmt: skip
    config = tmp_path / "rewards.yaml"
    config.write_text(yaml_workers + "rewards:\n  - name: think_format\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-c", CLI, "serve", "--config", str(config), "--port", str(port), *flag],
                            cwd=REPO, stderr=subprocess.PIPE)  # fmt: skip
    try:
        wait_up(url, proc)
        with urllib.request.urlopen(f"{url}/health", timeout=10) as resp:
            assert json.loads(resp.read())["workers"] == expected  # the flag wins over the file
        status, reply = post(f"{url}/get_reward", {"query": ["<think>a</think><answer>b</answer></s>"]})
        assert (status, reply["rewards"]) == (200, [1.0])
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


def test_sigterm_lets_requests_in_flight_finish() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-c", NAP_SERVER, str(port)], cwd=REPO, stderr=subprocess.PIPE)
    try:
        wait_up(url, proc)
        replies: list[tuple[int, Any]] = []
        client = threading.Thread(target=lambda: replies.append(post(f"{url}/score", {"samples": [
            {"completion": "1.5"}]})))  # fmt: skip
        client.start()
        time.sleep(0.5)  # the request is being scored now
        proc.send_signal(signal.SIGTERM)
        client.join(30)
        assert replies == [(200, {"results": [{"reward": 1.0, "rewards": {"nap": 1.0}}]})]
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
