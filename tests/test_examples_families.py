"""The worked examples in examples/families/ score as each row's `expected` column says, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rewardkit.cli import cli

FAMILIES = Path(__file__).resolve().parents[1] / "examples" / "families"
NAMES = ["ifeval", "json_schema", "tool_call", "qa", "truncation"]


@pytest.mark.parametrize("name", NAMES)
def test_the_example_scores_as_documented(name: str, tmp_path: Path) -> None:
    out = tmp_path / "scored.jsonl"
    args = ["score", str(FAMILIES / f"{name}.jsonl"), "--config", str(FAMILIES / f"{name}.yaml"), "-o", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 5
    for row in rows:
        assert row["rewards"] == pytest.approx(row["expected"]), (row["id"], row["completion"])
    values = {v for row in rows for v in row["expected"].values()}
    assert len(values) >= 2  # every example shows the reward telling good from bad


def test_every_family_has_an_example_and_a_config() -> None:
    assert sorted(p.stem for p in FAMILIES.glob("*.jsonl")) == sorted(NAMES)
    assert sorted(p.stem for p in FAMILIES.glob("*.yaml")) == sorted(NAMES)
