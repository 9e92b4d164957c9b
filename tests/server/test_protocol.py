"""Request validation and response shapes, without a web server: every malformed body is a 400 with a reason."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewardkit.config import parse_config
from rewardkit.errors import InputError
from rewardkit.evaluate import Scored
from rewardkit.integrations.openrlhf import INVALID, Replies, parse_request, response_of
from rewardkit.server.protocol import (
    MAX_DEPTH,
    ProtocolError,
    check_document,
    decode_json,
    describe_config,
    parse_score,
    score_response,
)
from rewardkit.stats import MASKED
from rewardkit.types import Sample, Score

LIMIT = 100
MATH = parse_config({"rewards": [{"name": "math"}, {"name": "think_format", "weight": 0.2}]})


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b'{"query": [', "malformed JSON"),
        (b"\xff\xfe{}", "UTF-8"),  # a UTF-16 BOM: json.loads(bytes) would guess UTF-16 and accept it
        ('{"query": ["é"]}'.encode("utf-16"), "UTF-8"),
        (b'{"query": ["\xc3"]}', "UTF-8"),  # a truncated multi-byte sequence
        (b"{'query': []}", "malformed JSON"),  # Python literal, not JSON
        (b'{"labels": [' + b"9" * 5000 + b"]}", "malformed JSON"),  # past Python's int digit limit
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"a":' * 20_000 + b"1" + b"}" * 20_000, "nested too deeply"),
        (b"NaN", None),  # valid for Python's json; the shape checks refuse it next
    ],
)
def test_decode_json_rejects_with_400(body: bytes, fragment: str | None) -> None:
    if fragment is None:
        assert math.isnan(decode_json(body))
        return
    with pytest.raises(ProtocolError) as info:
        decode_json(body)
    assert info.value.status == 400 and fragment in str(info.value)


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ({"samples": [{"completion": "\ud800"}]}, "samples[0].completion: a lone UTF-16 surrogate"),
        ({"samples": [{"completion": "ok", "x\udfff": 1}]}, "lone UTF-16 surrogate"),
        ({"samples": [{"completion": "ok", "deep": json.loads("[" * 70 + "]" * 70)}]}, "nested more than 64"),
    ],
)
def test_check_document(doc: Any, fragment: str) -> None:
    with pytest.raises(ProtocolError) as info:
        check_document(doc["samples"], "samples")
    assert info.value.status == 400 and fragment in str(info.value)
    with pytest.raises(ProtocolError):
        parse_score(doc, "answer", LIMIT)


def test_depth_limit_is_exact() -> None:
    check_document(json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH), "doc")
    with pytest.raises(ProtocolError):
        check_document(json.loads("[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2)), "doc")


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ([], "expects a JSON object"),
        ({}, "'query' is required"),
        ({"query": "one string"}, "must be a list"),
        ({"query": ["a"], "prompt": ["a"]}, "unknown field 'prompt'. Did you mean 'prompts'?"),
        ({"query": ["a"], "extra": 1}, "unknown field 'extra'"),
        ({"query": ["a", "b"], "prompts": ["a"]}, "'prompts' has 1 entries but 'query' has 2"),
        ({"query": ["a"], "labels": ["1", "2"]}, "'labels' has 2 entries"),
        ({"query": ["a"], "labels": {"0": "1"}}, "'labels' must be a list"),
        ({"query": ["x"] * (LIMIT + 1)}, "limit of 100"),
    ],
)
def test_get_reward_refuses_what_is_not_the_protocol(doc: Any, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        parse_request(doc, "answer", LIMIT)
    assert fragment in str(info.value)


def test_get_reward_rows_go_through_the_core_row_builder() -> None:
    doc = {"query": ["<s>Q?<think>a</think><answer>2</answer><|im_end|>", "Q? 3</s>", "no prompt here"],
           "prompts": ["Q?", "Q?", "Q?"], "labels": ["2", '{"answer": "3", "task": "t"}', "1"]}  # fmt: skip
    first, second, third = parse_request(doc, "answer", LIMIT)
    assert isinstance(first, Sample) and first.completion == "<think>a</think><answer>2</answer>"
    assert (first.prompt, first.reference) == ("Q?", "2")
    assert isinstance(second, Sample) and second.completion == " 3" and second.reference == "3"
    assert dict(second.columns) == {"task": "t"}
    assert isinstance(third, str) and "does not contain its prompt" in third


@given(st.text(), st.text())
def test_response_of_inverts_concatenation(prompt: str, response: str) -> None:
    assert response_of(prompt + response, prompt) == response


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.sampled_from(["query", "prompts", "labels", "x"]), JSON, max_size=4))
def test_any_document_is_answered_or_refused_with_a_reason(doc: dict[str, Any]) -> None:
    """Attacker's property: no JSON document gets past parsing with anything but InputError."""
    try:
        entries = parse_request(doc, "answer", LIMIT)
    except InputError:
        return
    samples = [e for e in entries if isinstance(e, Sample)]
    reply = Replies(MATH).reply(entries, [Scored(0.0, {"math": Score.ok(0.0)})] * len(samples))
    json.dumps(reply, allow_nan=False)
    assert len(reply["rewards"]) == len(entries) == len(reply["extra_logs"][INVALID])


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ({"rows": []}, "unknown field 'rows'"),
        ({"samples": {}}, "'samples' is required (a list"),
        ({"samples": ["text"]}, "samples[0] must be an object"),
        ({"samples": [{"prompt": "p"}]}, "samples[0].completion: missing"),
        ({"samples": [{"completion": 3}]}, "samples[0].completion: expected a string"),
        ({"samples": [{"completion": [{"role": 1}]}]}, "samples[0].completion: message [0]"),
        ({"samples": [{"completion": "a"}], "details": "yes"}, "'details' must be true or false"),
    ],
)
def test_score_rejects_with_400(doc: object, fragment: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_score(doc, "answer", LIMIT)
    assert info.value.status == 400 and fragment in str(info.value)


def test_score_rows_use_the_reference_column_and_keep_other_columns() -> None:
    rows = [{"completion": [{"role": "assistant", "content": "hi"}], "gold": "1", "task": "t", "reward": 0.3},
            {"completion": "<answer>2</answer><|eot_id|>", "gold": "2"}]  # fmt: skip
    [sample, plain], details = parse_score({"samples": rows, "details": True}, "gold", LIMIT)
    assert details is True
    assert sample.reference == "1" and sample.text == "hi"
    assert dict(sample.columns) == {"task": "t"}  # an old result is not an input column
    assert plain.completion == "<answer>2</answer>"  # the core strips trailing special tokens


def test_replies_never_send_null() -> None:
    entries: list[Sample | str] = [Sample("a"), Sample("b"), "the query must be a string, got int"]
    results = [
        Scored(1.2, {"math": Score.ok(1.0), "think_format": Score.ok(1.0)}),
        Scored(None, {"math": Score.error("sandbox down"), "think_format": Score.ok(1.0)}),
    ]
    reply = json.loads(json.dumps(Replies(MATH, null_reward=-1.0).reply(entries, results), allow_nan=False))
    assert reply["rewards"] == [1.2, -1.0, -1.0] and reply["scores"] == [1.0, 0.0, 0.0]
    logs = reply["extra_logs"]
    assert logs["math"] == [1.0, 0.0, 0.0] and logs[MASKED] == [0.0, 1.0, 0.0] and logs[INVALID] == [0, 0, 1]
    assert logs["rewardkit/math/errors"] == [0.0, 1.0, 0.0]
    assert all(len(v) == 3 for v in logs.values())


def test_score_response_keeps_null_and_details() -> None:
    reply = score_response([Scored(None, {"math": Score.error("down")})], details=True)
    [item] = reply["results"]
    assert item["reward"] is None and item["rewards"] == {"math": None}
    assert item["reward_details"]["math"]["status"] == "error"


def test_describe_config_lists_groups_and_leaves() -> None:
    config = parse_config({"rewards": [{"name": "math"}, {"id": "style", "weight": 0.5, "rewards": [
        {"name": "think_format"}, {"name": "length", "weight": 0}]}]})  # fmt: skip
    info = describe_config(config, workers=2)
    assert [t["path"] for t in info["terms"]] == ["math", "style", "style.think_format", "style.length"]
    assert info["terms"][1]["reward"] is None and info["terms"][0]["range"] == [0.0, 1.0]
    assert info["time_budgets_enforced"] is True
    assert not any(isinstance(v, float) and math.isnan(v) for v in info["output_range"])
