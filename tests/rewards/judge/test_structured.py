"""Structured output: asked for by response_format json_schema, read from JSON, fallen back from when refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rewardkit import Sample, Status
from rewardkit.rewards.judge import judge_batch

from .fake_server import Reply, chat, grading, serve
from .test_http import math_samples, params

pytestmark = pytest.mark.timeout(60)


def guided(n: int, request: dict[str, Any], headers: dict[str, str]) -> Reply:
    """A server with guided decoding: with a schema it answers JSON of that schema, else text."""
    fmt = request.get("response_format")
    text = grading(n, request, headers).body["choices"][0]["message"]["content"]
    if fmt is None:
        return Reply(body=chat(text))
    figure = int(text.rsplit(" ", 1)[1])
    properties = fmt["json_schema"]["schema"]["properties"]
    return Reply(body=chat(json.dumps({"reasoning": text.splitlines()[0], "score": figure} if "score" in properties
                                      else {"reasoning": "r", "verdict": "yes" if figure > 5 else "no"})))  # fmt: skip


def refusing(n: int, request: dict[str, Any], headers: dict[str, str]) -> Reply:
    if "response_format" in request:
        return Reply(400, {"error": {"message": "response_format of type json_schema is not supported"}})
    return grading(n, request, headers)


def test_the_schema_is_sent_and_the_json_verdict_read() -> None:
    with serve(guided) as judge:
        scores = judge_batch(math_samples(4), params(judge.url, scale=10))
    assert [s.value for s in scores] == [0.9, 0.2, 0.9, 0.2]
    fmt = judge.requests[0]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    assert schema["required"] == ["reasoning", "score"] and schema["properties"]["score"]["maximum"] == 10


def test_yes_no_schema() -> None:
    with serve(guided) as judge:
        scores = judge_batch(math_samples(2), params(judge.url, template="yes_no"))
    assert [s.value for s in scores] == [1.0, 0.0]
    assert judge.requests[0]["response_format"]["json_schema"]["schema"]["properties"]["verdict"]["enum"] == [
        "yes",
        "no",
    ]


def test_a_server_that_refuses_it_is_asked_again_in_text() -> None:
    with serve(refusing) as judge:
        scores = judge_batch(math_samples(6), params(judge.url, concurrency=1))
    assert [s.value for s in scores] == [0.9, 0.2] * 3 and all(s.status is Status.OK for s in scores)
    with_format = [r for r in judge.requests if "response_format" in r]
    assert len(with_format) == 1 and len(judge.requests) == 7  # refused once, then remembered for the batch


def test_required_structured_output_that_is_refused_is_an_error() -> None:
    with serve(refusing) as judge:
        [score] = judge_batch([Sample("a", "q")], params(judge.url, structured="json_schema"))
    assert score.status is Status.ERROR and "refused structured output" in score.reason


def test_off_sends_no_schema() -> None:
    with serve() as judge:
        judge_batch(math_samples(1), params(judge.url, structured="off"))
    assert "response_format" not in judge.requests[0]


def test_a_server_that_ignores_the_schema_is_read_as_text() -> None:
    with serve() as judge:  # the default fake ignores response_format and answers "Score: 9"
        [score] = judge_batch(math_samples(1), params(judge.url))
    assert score.value == 0.9 and "response_format" in judge.requests[0]
