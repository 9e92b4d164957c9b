"""The exploit file format: validation with file and line, and the $repeat / $concat shorthands."""

from __future__ import annotations

import json

import pytest

from rewardkit.audit.corpus import expand, parse_exploit
from rewardkit.errors import InputError


def test_shorthands_expand() -> None:
    assert expand({"$repeat": "ab", "times": 3}) == "ababab"
    assert expand({"$concat": ["<", {"$repeat": "{", "times": 2}, ">"]}) == "<{{>"
    assert expand({"$repeat": [1, 2], "times": 2}) == [1, 2, 1, 2]
    assert expand({"nested": [{"$repeat": "x", "times": 2}]}) == {"nested": ["xx"]}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"family": "math", "completion": "1"}, "'exploit' must be a non-empty id"),
        ({"exploit": "a", "completion": "1"}, "give 'family'"),
        ({"exploit": "a", "family": "math"}, "'completion' is missing"),
        ({"exploit": "a", "family": "math", "completion": 3}, "field 'completion'"),
        ({"exploit": "a", "family": "math", "completion": "1", "max_score": "high"}, "'max_score' must be a number"),
        ({"exploit": "a", "family": "math", "completion": "1", "control": {"x": 1}}, "needs a 'completion'"),
        ({"exploit": "a", "reward": 5, "completion": "1"}, "'reward' must be a reward name"),
        ({"exploit": "a", "family": "m", "completion": {"$repeat": "x", "times": -1}}, "'times' count >= 0"),
        ({"exploit": "a", "family": "m", "completion": {"$repeat": "xx", "times": 10**8}}, "limit"),
    ],
)
def test_bad_rows_name_the_place_and_the_fix(row: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_exploit(json.dumps(row), "mine.jsonl:7")
    assert str(info.value).startswith("mine.jsonl:7: ") and message in str(info.value)


def test_the_control_drops_the_exploits_token_ids_unless_given() -> None:
    row = {"exploit": "a", "family": "length", "completion": "x", "completion_ids": [1, 2, 3], "answer": "4",
           "control": "y"}  # fmt: skip
    e = parse_exploit(json.dumps(row), "f:1")
    assert e.sample("answer").columns == {"completion_ids": [1, 2, 3]} and e.sample("answer").reference == "4"
    assert dict(e.control_sample("answer").columns) == {}
    row["control"] = {"completion": "y", "completion_ids": [9]}
    assert dict(parse_exploit(json.dumps(row), "f:1").control_sample("answer").columns) == {"completion_ids": [9]}


def test_the_reference_follows_the_configured_column() -> None:
    e = parse_exploit(json.dumps({"exploit": "a", "family": "math", "completion": "x", "gold": "7"}), "f:1")
    assert e.sample("gold").reference == "7" and "gold" not in e.sample("gold").columns
