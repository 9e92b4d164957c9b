"""Real problems through the split: every HumanEval canonical solution passes, broken bodies fail, and the
vendored MBPP references pass (tests/data/code: openai/human-eval, MIT; google-research mbpp, CC-BY-4.0)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rewardkit.params import build_params
from rewardkit.rewards.code import CodeParams, score_batch
from rewardkit.types import Sample, Status

from .conftest import needs_isolation

pytestmark = needs_isolation
DATA = Path(__file__).resolve().parents[2] / "data" / "code"


def _rows(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).open()]


def _values(programs: list[str], rows: list[dict[str, Any]], prompt: bool = False) -> list[tuple[float | None, Status]]:
    params = build_params("code", CodeParams, {"cpu_s": 10.0})
    samples = [Sample(f"```python\n{p}\n```", prompt=r["prompt"] if prompt else None, columns=r)
               for p, r in zip(programs, rows, strict=True)]  # fmt: skip
    return [(s.value, s.status) for s in score_batch(samples, params)]


def test_humaneval_canonical_solutions_pass_and_broken_ones_fail() -> None:
    rows = _rows("HumanEval.jsonl")
    assert len(rows) == 164
    good = _values([r["prompt"] + r["canonical_solution"] for r in rows], rows)
    failed = [r["task_id"] for r, v in zip(rows, good, strict=True) if v != (1.0, Status.OK)]
    assert failed == [], failed
    # the body alone (as base models write it) works too: the signature comes from the prompt
    body_only = _values([r["canonical_solution"] for r in rows[:20]], rows[:20], prompt=True)
    assert body_only == [(1.0, Status.OK)] * 20
    broken = _values([r["prompt"] + "    return None\n" for r in rows], rows)
    assert [r["task_id"] for r, v in zip(rows, broken, strict=True) if v[0] != 0.0] == []


def test_mbpp_references_pass() -> None:
    rows = _rows("mbpp_sample.jsonl")
    assert _values([r["code"] for r in rows], rows) == [(1.0, Status.OK)] * len(rows)
    assert [v for v, _ in _values(["def nothing():\n    pass"] * len(rows), rows)] == [0.0] * len(rows)
