"""Request validation and response shapes, without a web server."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewardkit.config import parse_config
from rewardkit.evaluate import Scored
from rewardkit.server.protocol import (
    ProtocolError,
    decode_json,
    describe_config,
    get_reward_response,
    parse_get_reward,
    parse_score,
    score_response,
    strip_prompt,
)
from rewardkit.types import Score

LIMIT = 100


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"", 400, "empty"),
        (b"   \n", 400, "empty"),
        (b'{"query": [', 400, "malformed JSON"),
        (b"\xff\xfe{}", 400, "UTF-8"),
        (b"{'query': []}", 400, "malformed JSON"),  # Python literal, not JSON
    ],
)
def test_decode_json_rejects(body: bytes, status: int, fragment: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_json(body)
    assert info.value.status == status and fragment in str(info.value)


@pytest.mark.parametrize(
    ("doc", "status", "fragment"),
    [
        ([], 422, "expects a JSON object"),
        ({}, 422, "'query' is required"),
        ({"query": "one string"}, 422, "must be a list"),
        ({"query": ["a"], "prompt": ["a"]}, 422, "unknown field 'prompt'. Did you mean 'prompts'?"),
        ({"query": ["a"], "extra": 1}, 422, "unknown field 'extra'"),
        ({"query": ["a", "b"], "prompts": ["a"]}, 422, "'prompts' has 1 entries but 'query' has 2"),
        ({"query": ["a"], "labels": ["1", "2"]}, 422, "'labels' has 2 entries"),
        ({"query": [1]}, 422, "query[0] must be a string"),
        ({"query": ["abc"], "prompts": [None, 2][1:]}, 422, "prompts[0] must be a string"),
        ({"query": ["hello world"], "prompts": ["bye"]}, 422, "does not contain prompts[0]"),
        ({"query": ["x"] * (LIMIT + 1)}, 413, "limit of 100"),
    ],
)
def test_get_reward_rejects(doc: object, status: int, fragment: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_get_reward(doc, "answer", LIMIT)
    assert info.value.status == status
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("query", "prompt", "completion"),
    [
        ("Q: 1+1?\nA: 2", "Q: 1+1?\n", "A: 2"),
        ("<pad><pad><s>Q?A", "<s>Q?", "A"),  # left padding and BOS kept by the trainer's decode
        ("Q?", "Q?", ""),  # empty response
        ("Q? Q? again", "Q?", " Q? again"),  # the prompt's text repeated in the response stays there
        ("anything", "", "anything"),  # no prompt: the whole query
    ],
)
def test_get_reward_strips_the_prompt(query: str, prompt: str, completion: str) -> None:
    [sample] = parse_get_reward({"query": [query], "prompts": [prompt], "labels": ["7"]}, "answer", LIMIT)
    assert sample.completion == completion
    assert sample.prompt == prompt and sample.reference == "7"


def test_get_reward_without_prompts_or_labels() -> None:
    samples = parse_get_reward({"query": ["a", "b"]}, "answer", LIMIT)
    assert [(s.completion, s.prompt, s.reference) for s in samples] == [("a", None, None), ("b", None, None)]


@given(st.text(), st.text())
def test_strip_prompt_inverts_concatenation(prompt: str, response: str) -> None:
    assert strip_prompt(prompt + response, prompt) == response


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ({"rows": []}, "unknown field 'rows'"),
        ({"samples": {}}, "must be a list"),
        ({"samples": ["text"]}, "samples[0] must be an object"),
        ({"samples": [{"prompt": "p"}]}, "samples[0].completion: missing"),
        ({"samples": [{"completion": 3}]}, "samples[0].completion: expected a string"),
        ({"samples": [{"completion": "a"}], "details": "yes"}, "'details' must be true or false"),
    ],
)
def test_score_rejects(doc: object, fragment: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_score(doc, "answer", LIMIT)
    assert info.value.status == 422 and fragment in str(info.value)


def test_score_rows_use_the_reference_column_and_keep_other_columns() -> None:
    rows = [{"completion": [{"role": "assistant", "content": "hi"}], "gold": "1", "task": "t", "reward": 0.3}]
    [sample], details = parse_score({"samples": rows, "details": True}, "gold", LIMIT)
    assert details is True
    assert sample.reference == "1" and sample.text == "hi"
    assert dict(sample.columns) == {"task": "t"}  # an old result is not an input column


def test_get_reward_response_never_sends_null() -> None:
    results = [
        Scored(1.5, {"math": Score.ok(1.0), "fmt": Score.ok(0.5)}),
        Scored(None, {"math": Score.error("sandbox down"), "fmt": Score.ok(1.0)}),
    ]
    reply = json.loads(json.dumps(get_reward_response(results, null_reward=-1.0), allow_nan=False))
    assert reply["rewards"] == [1.5, -1.0] == reply["scores"]
    assert reply["extra_logs"]["math"] == [1.0, 0.0]
    assert reply["extra_logs"]["rewardkit/masked"] == [0.0, 1.0]
    assert reply["extra_logs"]["rewardkit/errors"] == [0.0, 1.0]


def test_score_response_keeps_null_and_details() -> None:
    reply = score_response([Scored(None, {"math": Score.error("down")})], details=True)
    [item] = reply["results"]
    assert item["reward"] is None and item["rewards"] == {"math": None}
    assert item["reward_details"]["math"]["status"] == "error"


def test_describe_config_lists_groups_and_leaves() -> None:
    config = parse_config({"rewards": [{"name": "math"}, {"id": "style", "weight": 0.5, "rewards": [
        {"name": "think_format"}, {"name": "length", "weight": 0}]}]})
    info = describe_config(config)
    assert [t["path"] for t in info["terms"]] == ["math", "style", "style.think_format", "style.length"]
    assert info["terms"][1]["reward"] is None and info["terms"][0]["range"] == [0.0, 1.0]
    assert not any(isinstance(v, float) and math.isnan(v) for v in info["output_range"])
