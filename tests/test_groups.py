"""The core's group hook: a reward that judges a prompt's completions together always sees whole groups.

TRL passes whole groups in one call (prompts x num_generations); files hold a group's rows next to each
other. Whatever the workers, chunk size or concurrency, no group is split and no two calls' groups merge.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rewardkit.compose import Composition
from rewardkit.io import line_tasks
from rewardkit.scorefile import score_file
from tests._fixtures import GROUP_SIZES, config_of


def _call(groups: dict[str, int]) -> tuple[list[str], list[str]]:
    prompts = [p for p, n in groups.items() for _ in range(n)]
    return prompts, [f"c{i}" for i in range(len(prompts))]


@pytest.mark.parametrize("workers", [0, 2])
def test_a_trainer_call_is_scored_as_whole_groups(workers: int) -> None:
    reward = Composition(config_of((GROUP_SIZES, 1.0, 30.0)), workers=workers)
    try:
        prompts, completions = _call({"a": 8, "b": 8, "c": 8, "d": 8, "e": 8})  # 40: would be split in parts
        assert reward(prompts=prompts, completions=completions) == [0.8] * 40
    finally:
        reward.close()


def test_concurrent_calls_with_the_same_prompts_do_not_merge() -> None:
    reward = Composition(config_of((GROUP_SIZES, 1.0, 30.0)), workers=1)
    try:
        futures = [reward.scorer.submit(reward.samples(*_call({"same": 4}))) for _ in range(6)]
        assert all([r.total for r in f.result(timeout=60)] == [0.4] * 4 for f in futures)
    finally:
        reward.close()


def test_a_file_is_chunked_only_where_the_group_changes(tmp_path: Path) -> None:
    rows = [{"prompt": p, "completion": f"c{i}"} for i, p in enumerate(["a"] * 5 + ["b"] * 3 + ["c"] * 6)]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = config_of((GROUP_SIZES, 1.0, 30.0))
    report = score_file(config, source, tmp_path / "out.jsonl", workers=2, chunk_lines=2)
    out = [json.loads(x)["reward"] for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert out == [0.5] * 5 + [0.3] * 3 + [0.6] * 6
    assert report.stats.rows == 14
    # and without a grouping reward, the chunk size is kept
    assert [t.count for t in line_tasks(source, 4)] == [4, 4, 4, 2]
