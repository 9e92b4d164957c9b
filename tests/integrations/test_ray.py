"""The Ray engine against a local Ray instance: the same lines, stats and kills as local scoring."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rewardkit.config import parse_config
from rewardkit.scorefile import score_file

from .._fixtures import HOSTILE, config_of

ray = pytest.importorskip("ray")

from rewardkit.engines.ray import score_file_ray  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    # Ray's workers inherit this environment: they must import tests._fixtures like the driver does.
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), old) if p)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old


def write_rows(path: Path, n: int) -> None:
    lines = []
    for i in range(n):
        a, b = i % 17, i % 5
        answer = a + b if i % 3 else a + b + 1
        # Answers on math's exact path: a symbolic comparison has a wall-clock budget, which load can flip.
        text = f"<think>{a}+{b}</think>\\boxed{{{answer}}}" if i % 4 else f"The answer is {answer}."
        lines.append(json.dumps({"prompt": f"{a}+{b}?", "completion": text, "answer": str(a + b), "id": i}))
    lines.insert(5, "{broken json")
    path.write_text("\n".join(lines) + "\n")


def test_ray_scoring_equals_local_scoring(local_ray: Any, tmp_path: Path) -> None:
    length = {"name": "length", "weight": 0, "params": {"target": 6, "unit": "words"}}
    config = parse_config({"rewards": [{"name": "math"}, {"name": "think_format", "weight": 0.2}, length]})
    source = tmp_path / "rows.jsonl"
    write_rows(source, 120)
    errors: list[str] = []
    remote = score_file_ray(config, source, tmp_path / "ray.jsonl", details=True, chunk_lines=16,
                            on_error=lambda e: errors.append(str(e)))  # fmt: skip
    local = score_file(config, source, tmp_path / "local.jsonl", workers=2, details=True, chunk_lines=16)
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert remote.stats == local.stats and remote.stats.rows == 120
    math_stats = remote.stats.terms["math"]
    assert math_stats.timeouts == 0 and math_stats.mean is not None and 0.5 < math_stats.mean < 0.8
    assert remote.invalid == local.invalid == 1 and errors == ["line 6: invalid JSON: Expecting property name "
                                                               "enclosed in double quotes at column 2"]
    assert ray.is_initialized()  # a session the caller started is left running


def test_ray_enforces_time_budgets_like_local(local_ray: Any, tmp_path: Path) -> None:
    config = config_of((HOSTILE, 1.0, 0.5))
    source = tmp_path / "rows.jsonl"
    source.write_text("\n".join(json.dumps({"completion": c}) for c in ("fine", "spin", "fine")) + "\n")
    remote = score_file_ray(config, source, tmp_path / "ray.jsonl", actors=2, workers_per_actor=1)
    local = score_file(config, source, tmp_path / "local.jsonl", workers=1)
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert remote.kills == local.kills == 1
    assert [json.loads(x)["reward"] for x in (tmp_path / "ray.jsonl").read_text().splitlines()] == [0.5, 0.0, 0.5]
