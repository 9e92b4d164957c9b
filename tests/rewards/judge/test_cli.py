"""End to end: each judge kind's example config through `rewardkit score`, against the example stand-in server.

This is the README path: start ``examples/judge_server.py``, score ``examples/judge_rows.jsonl`` with
``examples/judge_<kind>.yaml``. The rows hold right answers, wrong ones and an injected wrong answer.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from rewardkit.cli import cli

pytestmark = pytest.mark.timeout(180)
ROOT = Path(__file__).resolve().parents[3]
ROWS = ROOT / "examples" / "judge_rows.jsonl"

EXPECTED = {
    # per row: capital rows (right, wrong, injected wrong, right), then 6*7 rows (right, wrong, right, no answer)
    "rubric": [1.0, 1 / 6, 0.0, 5 / 6, 1.0, 0.0, 1.0, 0.0],
    "verifier": [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0],
    "math_verifier": [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0],
    "group": [5 / 6, 1 / 6, 1 / 6, 5 / 6, 5 / 6, 1 / 6, 5 / 6, 1 / 6],
}


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = ROOT / "examples" / "judge_server.py"
    proc = subprocess.Popen([sys.executable, str(script), "--port", str(port), "--latency-s", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(10)


def config_for(kind: str, url: str, tmp_path: Path) -> Path:
    config = yaml.safe_load((ROOT / "examples" / f"judge_{kind}.yaml").read_text(encoding="utf-8"))
    config["rewards"][0]["params"]["base_url"] = url
    path = tmp_path / f"{kind}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_judge_kind_scores_the_example_rows(kind: str, server_url: str, tmp_path: Path) -> None:
    out = tmp_path / "scored.jsonl"
    args = ["score", str(ROWS), "-c", str(config_for(kind, server_url, tmp_path)), "-o", str(out), "--details"]
    result = CliRunner().invoke(cli, [*args, "-j", "0"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["reward"] for r in rows] == [pytest.approx(v) for v in EXPECTED[kind]]
    details = [next(iter(r["reward_details"].values())) for r in rows]
    assert all(d["status"] == "ok" for d in details)
    if kind == "rubric":
        assert details[0]["details"]["criteria"] == {"capital": 1.0, "country": 1.0, "pitfall": 0.0}
        assert details[1]["details"]["parts"] == {"capital": 0.0, "country": 1.0, "pitfall": 1.0}  # own series
        assert all(set(r["rewards"]) == {"rubric_judge"} for r in rows)  # parts stay out of 'rewards'
    if kind == "math_verifier":
        assert [d["details"]["source"] for d in details[4:]] == ["rule", "rule", "rule", "verifier"]
        assert details[5]["details"]["disagreement"] is False  # asked on a definite wrong, and agreed


def test_the_group_judge_in_worker_processes(server_url: str, tmp_path: Path) -> None:
    """With workers, a chunk that holds whole groups scores the same (groups are split by prompt inside it)."""
    out = tmp_path / "scored.jsonl"
    args = ["score", str(ROWS), "-c", str(config_for("group", server_url, tmp_path)), "-o", str(out), "-j", "1"]
    result = CliRunner().invoke(cli, [*args, "--chunk-lines", "8"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["reward"] for r in rows] == [pytest.approx(v) for v in EXPECTED["group"]]
