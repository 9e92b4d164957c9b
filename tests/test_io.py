"""JSONL rows: validation with line numbers, output that keeps the input, atomic writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rewardkit.evaluate import Scored
from rewardkit.io import AtomicWriter, RowError, parse_row, render_line
from rewardkit.types import Score


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"not json", "invalid JSON: Expecting value at column 1"),
        (b'{"completion": "a"', "invalid JSON"),
        (b"[1, 2]", "expected a JSON object, got a list"),
        (b'{"prompt": "p"}', "field 'completion': missing"),
        (b'{"completion": 5}', "field 'completion': expected a string or a list of chat messages, got a number"),
        (b'{"completion": null}', "got null"),
        (b'{"completion": ["hi"]}', r"message \[0\] must be an object"),
        (b'{"completion": [{"role": "assistant", "content": 3}]}', r"message \[0\] 'content' must be a string"),
        (b'{"completion": "\xff"}', "not valid UTF-8"),
    ],
)
def test_invalid_rows_say_what_is_wrong_and_where(raw: bytes, message: str) -> None:
    error = parse_row(7, raw, "answer")
    assert isinstance(error, RowError)
    assert error.line == 7
    import re

    assert re.search(message, error.message), error.message


def test_a_valid_row_splits_into_completion_prompt_reference_and_columns() -> None:
    raw = json.dumps({"completion": [{"role": "assistant", "content": "hi"}], "prompt": "p", "gold": "4",
                      "task": "math", "rewards": {"old": 1}}).encode()
    sample, _ = parse_row(1, raw, "gold")  # type: ignore[misc]
    assert sample.text == "hi" and sample.prompt == "p" and sample.reference == "4"
    assert dict(sample.columns) == {"task": "math"}  # old results are not inputs


def test_rendering_keeps_the_input_bytes_and_appends_results() -> None:
    raw = b'{"completion": "caf\\u00e9",  "n": 1.50}\n'
    scored = Scored(0.5, {"a": Score.ok(0.5), "b": Score.error("down")})
    line = render_line(raw, json.loads(raw), scored, details=True)
    assert line.startswith('{"completion": "caf\\u00e9",  "n": 1.50, "rewards":')
    out = json.loads(line)
    assert out["rewards"] == {"a": 0.5, "b": None} and out["reward"] == 0.5
    assert out["reward_details"]["b"] == {"value": None, "status": "error", "reason": "down"}


def test_rendering_a_scored_line_replaces_its_old_results() -> None:
    raw = b'{"completion": "x", "rewards": {"old": 1}, "reward": 1}'
    out = json.loads(render_line(raw, json.loads(raw), Scored(None, {}), details=False))
    assert out == {"completion": "x", "rewards": {}, "reward": None}


def test_atomic_writer_leaves_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("good old content\n")
    with pytest.raises(RuntimeError), AtomicWriter(target) as writer:
        writer.write("half a fi")
        raise RuntimeError("crash")
    assert target.read_text() == "good old content\n"
    assert os.listdir(tmp_path) == ["out.jsonl"]  # no temporary left behind
    with AtomicWriter(target) as writer:
        writer.write("new\n")
    assert target.read_text() == "new\n"
    assert (target.stat().st_mode & 0o777) == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_chunk_size_adapts_to_the_rewards_cost_and_to_line_length() -> None:
    from rewardkit.io import ChunkSizer

    sizer = ChunkSizer(target_s=0.05)
    sizer.observe(64, 64 * 30e-6, 64 * 800)  # cheap rewards, short lines: big chunks
    cheap = sizer.lines
    for _ in range(5):
        sizer.observe(64, 64 * 5e-3, 64 * 800)  # costly rewards: small chunks, so a kill re-runs little
    assert cheap > 1000 and sizer.lines < 20
    long_lines = ChunkSizer(max_bytes=4 << 20)
    long_lines.observe(64, 64 * 1e-6, 64 * 200_000)  # 200 KB rows: bounded by bytes, not by time
    assert long_lines.lines * 200_000 <= 4 << 20
    fixed = ChunkSizer(100)
    fixed.observe(64, 10.0, 100)
    assert fixed.lines == 100
