"""The reward server end to end over loopback: endpoints, 4xx errors that leave it up, limits, concurrency."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

pytest.importorskip("aiohttp")

from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer

from rewardkit.config import CompositionConfig, parse_config
from rewardkit.evaluate import evaluate_chunk
from rewardkit.integrations.openrlhf import INVALID
from rewardkit.server.app import ServerSettings, create_app
from rewardkit.stats import MASKED
from rewardkit.types import Sample

from .._fixtures import HOSTILE, INFRA, config_of
from ._rewards import nap_config
from ._servers import serving

MATH = {"name": "demo", "rewards": [{"name": "math"}, {"name": "think_format", "weight": 0.2}]}


def run(config: CompositionConfig, workers: int, test: Callable[[Any], Awaitable[None]],
        settings: ServerSettings | None = None) -> None:  # fmt: skip
    """Run ``test(client)`` against the app served by aiohttp alone, then as `rewardkit serve` serves it
    (aiohttp behind the plain-HTTP path for ``POST /get_reward``): both must answer alike."""

    async def main() -> None:
        server = TestServer(create_app(config, workers, settings), host="127.0.0.1")
        async with TestClient(server) as client:
            await test(client)
        async with serving(create_app(config, workers, settings)) as url, ClientSession(base_url=url) as session:
            await test(session)

    asyncio.run(main())


def openrlhf_body(n: int) -> dict[str, list[str]]:
    prompts = [f"<|user|>What is {i}+{i}?<|assistant|>" for i in range(n)]
    answers = [str(2 * i + (i % 2)) for i in range(n)]  # every other answer wrong
    queries = [p + f"<think>ok</think><answer>{a}</answer><|im_end|>" for p, a in zip(prompts, answers, strict=True)]
    return {"query": queries,
            "prompts": prompts, "labels": [str(2 * i) for i in range(n)]}  # fmt: skip


def test_get_reward_matches_local_scoring() -> None:
    config = parse_config(MATH)
    body = openrlhf_body(6)
    expected = evaluate_chunk(config, [
        Sample(q[len(p):].removesuffix("<|im_end|>"), p, lab)
        for q, p, lab in zip(body["query"], body["prompts"], body["labels"], strict=True)
    ])  # fmt: skip

    async def test(client: TestClient[Any, Any]) -> None:
        resp = await client.post("/get_reward", json=body)
        assert resp.status == 200, await resp.text()
        reply = await resp.json()
        assert reply["rewards"] == [r.total for r in expected]
        assert reply["rewards"][:2] == [1.2, 0.2]
        assert reply["scores"] == [pytest.approx(t / 1.2) for t in reply["rewards"]]  # the range is [0, 1.2]
        assert reply["extra_logs"]["math"] == [r.scores["math"].value for r in expected]
        assert {"math", "think_format", MASKED, INVALID, "rewardkit/math/errors"} <= set(reply["extra_logs"])

    run(config, 1, test)


BAD = [
    ("/get_reward", b"{not json", "malformed JSON"),
    ("/get_reward", b"", "empty"),
    ("/get_reward", b'{"query": ["a", "b"], "labels": ["1"]}', "'labels' has 1 entries but 'query' has 2"),
    ("/get_reward", b'{"query": ["a"], "answers": ["1"]}', "unknown field 'answers'"),
    ("/get_reward", b"[1, 2]", "expects a JSON object"),
    ("/get_reward", b'{"query": "a"}', "'query' must be a list"),
    ("/get_reward", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ("/get_reward", b'{"a":' * 20_000 + b"1" + b"}" * 20_000, "nested too deeply"),
    ("/get_reward", b'{"query": ["a"], "labels": [' + b"7" * 5000 + b"]}", "malformed JSON"),
    ("/get_reward", '{"query": ["é"]}'.encode("utf-16"), "not valid UTF-8"),
    ("/get_reward", b'{"query": ["\xff"]}', "not valid UTF-8"),
    ("/score", b'{"samples": [{"answer": "1"}]}', "samples[0].completion: missing"),
    ("/score", b'{"samples": [], "extra": true}', "unknown field 'extra'"),
    ("/score", b'{"samples": [{"completion": "\\ud800"}]}', "lone UTF-16 surrogate"),
    ("/score", b'{"samples": [{"completion": {"text": "a"}}]}', "expected a string or a list"),
    ("/score", b'{"samples": [{"completion": "a", "tests": ' + b"[" * 80 + b"]" * 80 + b"}]}", "nested more"),
]


@pytest.mark.parametrize(("path", "body", "fragment"), BAD, ids=[f"{p}-{i}" for i, (p, _, _) in enumerate(BAD)])
def test_malformed_bodies_get_400_with_a_reason_never_500(path: str, body: bytes, fragment: str) -> None:
    async def test(client: TestClient[Any, Any]) -> None:
        resp = await client.post(path, data=body, headers={"Content-Type": "application/json"})
        reply = await resp.json()
        assert (resp.status, reply["status"]) == (400, 400), (path, body[:80], reply)
        assert fragment in reply["error"]
        resp = await client.post("/get_reward", json=openrlhf_body(2))  # and the server is still up
        assert resp.status == 200 and (await resp.json())["rewards"] == [1.2, 0.2]

    run(parse_config(MATH), 0, test)


def test_unknown_routes_and_methods_are_json_errors() -> None:
    async def test(client: TestClient[Any, Any]) -> None:
        for method, path, status in (("GET", "/nowhere", 404), ("GET", "/score", 405), ("POST", "/health", 405)):
            resp = await client.request(method, path)
            assert resp.status == status and (await resp.json())["status"] == status

    run(parse_config(MATH), 0, test)


def test_request_size_is_bounded() -> None:
    settings = ServerSettings(max_body_mb=0.01, max_samples=4)

    async def test(client: TestClient[Any, Any]) -> None:
        resp = await client.post("/get_reward", json={"query": ["x" * 20_000]})
        assert resp.status == 413 and "larger than this server's limit" in (await resp.json())["error"]
        resp = await client.post("/get_reward", json={"query": ["x"] * 5})
        assert resp.status == 413 and "limit of 4" in (await resp.json())["error"]
        chunked = client.post("/score", data=_chunks(b'{"samples": [{"completion": "' + b"x" * 20_000 + b'"}]}'))
        resp = await chunked  # no Content-Length: read up to the limit, then refused
        assert resp.status == 413
        assert (await client.get("/health")).status == 200

    run(parse_config(MATH), 0, test, settings)


async def _chunks(data: bytes) -> Any:
    for i in range(0, len(data), 4096):
        yield data[i : i + 4096]


def test_memory_of_requests_in_flight_is_bounded() -> None:
    """Bodies being read, parsed or scored share --max-inflight-mb; beyond it 503 with Retry-After."""
    settings = ServerSettings(max_body_mb=1.0, max_inflight_mb=1.5)
    big = {"samples": [{"completion": "0.8", "padding": "x" * 900_000}]}

    async def test(client: TestClient[Any, Any]) -> None:
        first = asyncio.ensure_future(client.post("/score", json=big))  # naps 0.8 s holding ~0.9 MB
        await asyncio.sleep(0.3)
        resp = await client.post("/score", json=big)
        assert resp.status == 503 and resp.headers["Retry-After"] == "1"
        assert "in flight" in (await resp.json())["error"]
        resp = await client.post("/score", json={"samples": [{"completion": "0.01"}]})  # small ones still fit
        assert resp.status == 200
        assert (await first).status == 200
        health = await (await client.get("/health")).json()
        assert health["inflight_bytes"] == 0  # every reservation is given back
        assert (await client.post("/score", json=big)).status == 200

    run(nap_config(), 1, test, settings)


def test_ten_concurrent_large_bodies_stay_within_the_bound() -> None:
    settings = ServerSettings(max_body_mb=8.0, max_inflight_mb=16.0)
    body = json.dumps({"samples": [{"completion": "0.2", "padding": "x" * (6 << 20)}]}).encode()

    async def test(client: TestClient[Any, Any]) -> None:
        replies = await asyncio.gather(*(client.post("/score", data=body) for _ in range(10)))
        statuses = sorted(r.status for r in replies)
        assert statuses.count(200) >= 2 and set(statuses) <= {200, 503}
        assert statuses.count(503) >= 5  # at most two 6 MB bodies held at once under a 16 MB bound

    run(nap_config(), 1, test, settings)


def test_health_and_rewards() -> None:
    async def test(client: TestClient[Any, Any]) -> None:
        await client.post("/score", json={"samples": [{"completion": "\\boxed{1}", "answer": "1"}]})
        health = await (await client.get("/health")).json()
        assert health["status"] == "ok" and health["served_requests"] == 1 and health["workers"] == 0
        listing = await (await client.get("/rewards")).json()
        assert [t["path"] for t in listing["terms"]] == ["math", "think_format"]
        assert listing["output_range"] == [0.0, 1.2]

    run(parse_config(MATH), 0, test)


def test_score_details() -> None:
    async def test(client: TestClient[Any, Any]) -> None:
        rows = [{"completion": "\\boxed{3}", "answer": "3"}, {"completion": "no answer", "answer": ""}]
        reply = await (await client.post("/score", json={"samples": rows, "details": True})).json()
        first, second = reply["results"]
        assert first["reward"] == 1.0 and first["reward_details"]["math"]["status"] == "ok"
        assert second["rewards"]["math"] is None
        assert second["reward_details"]["math"]["status"] == "not_applicable"

    run(parse_config(MATH), 0, test)


def test_concurrent_requests_all_succeed_in_order() -> None:
    async def test(client: TestClient[Any, Any]) -> None:
        bodies = [openrlhf_body(1 + i % 8) for i in range(64)]
        gate = asyncio.Semaphore(32)

        async def one(body: dict[str, list[str]]) -> list[float]:
            async with gate:
                resp = await client.post("/get_reward", json=body)
                assert resp.status == 200
                return list((await resp.json())["rewards"])

        replies = await asyncio.gather(*(one(b) for b in bodies))
        for body, rewards in zip(bodies, replies, strict=True):
            assert rewards == [1.2 if i % 2 == 0 else 0.2 for i in range(len(body["query"]))]

    run(parse_config(MATH), 2, test)


def test_a_runaway_reward_is_killed_and_other_requests_go_on() -> None:
    config = config_of((HOSTILE, 1.0, 1.0))

    async def test(client: TestClient[Any, Any]) -> None:
        slow = asyncio.ensure_future(client.post("/score", json={
            "samples": [{"completion": "spin"}], "details": True}))  # fmt: skip
        await asyncio.sleep(0.3)
        started = time.monotonic()
        for _ in range(5):  # the second lane keeps serving while the first is stuck
            resp = await client.post("/score", json={"samples": [{"completion": "fine"}]})
            assert (await resp.json())["results"][0]["reward"] == 0.5
        assert time.monotonic() - started < 1.0
        reply = await (await slow).json()
        assert reply["results"][0]["reward_details"]["hostile"]["status"] == "timeout"

    run(config, 2, test)


def test_infrastructure_failures_past_the_budget_are_503() -> None:
    config = config_of((INFRA, 1.0, 5.0), max_error_rate=0.25)

    async def test(client: TestClient[Any, Any]) -> None:
        rows = [{"completion": "down"}] * 2 + [{"completion": "up"}] * 2
        resp = await client.post("/get_reward", json={"query": [r["completion"] for r in rows]})
        reply = await resp.json()
        assert resp.status == 503 and "max_error_rate" in reply["error"]
        resp = await client.post("/get_reward", json={"query": ["down"]})  # still over budget: 503 again
        assert resp.status == 503
        resp = await client.post("/get_reward", json={"query": ["up"] * 12})  # the window recovers
        assert resp.status == 200
        resp = await client.post("/get_reward", json={"query": ["down"] + ["up"] * 7})
        reply = await resp.json()
        assert resp.status == 200 and reply["extra_logs"][MASKED] == [1.0] + [0.0] * 7

    run(config, 0, test)


def test_a_client_that_goes_away_does_not_break_the_server() -> None:
    async def test(client: TestClient[Any, Any]) -> None:
        pending = asyncio.ensure_future(client.post("/score", json={"samples": [{"completion": "0.5"}] * 2}))
        await asyncio.sleep(0.1)
        pending.cancel()
        resp = await client.post("/score", json={"samples": [{"completion": "0.01"}]})
        assert (await resp.json())["results"][0]["reward"] == 1.0

    run(nap_config(), 1, test)
