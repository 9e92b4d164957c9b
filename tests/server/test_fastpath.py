"""The plain-HTTP path for ``POST /get_reward`` (`rewardkit.server.fastpath`): what it takes, what it hands to
aiohttp, and that a client cannot tell the two apart (same status, same JSON) whatever bytes it sends.

The heads in `CLIENT_HEADS` are what real clients put on the wire: aiohttp 3.x's ``ClientSession.post(url,
json=...)`` as OpenRLHF 0.11.2 calls it (``openrlhf/utils/agent.py``, one session per request), requests'
``Session.post`` (verl 0.9.1's ``reward_loop`` remote calls and most scripts), and curl.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import time
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("aiohttp")

from aiohttp import ClientSession
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewardkit.config import parse_config
from rewardkit.server.app import create_app
from rewardkit.server.fastpath import KEEPALIVE_S, FastConnection, FastFront, FastStats, parse_head
from rewardkit.server.protocol import Inflight, ServerSettings

from ._rewards import nap_config
from ._servers import exchange, post, read_response, serving


@pytest.fixture(autouse=True, params=["asyncio", "uvloop"])
def event_loop_kind(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test on the standard loop and on uvloop (what `rewardkit serve` runs: its transports differ)."""
    if request.param == "asyncio":
        yield "asyncio"
        return
    uvloop = pytest.importorskip("uvloop")
    previous = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    try:
        yield "uvloop"
    finally:
        asyncio.set_event_loop_policy(previous)


MATH = {"name": "demo", "rewards": [{"name": "math"}, {"name": "think_format", "weight": 0.2}]}
BODY = json.dumps({"query": ["<|user|>1+1?<|assistant|><think>ok</think><answer>2</answer><|im_end|>"],
                   "prompts": ["<|user|>1+1?<|assistant|>"], "labels": ["2"]}).encode()  # fmt: skip

CLIENT_HEADS = {
    "aiohttp (OpenRLHF)": b"POST /get_reward HTTP/1.1\r\nHost: 10.0.0.7:8000\r\nAccept: */*\r\n"
                          b"Accept-Encoding: gzip, deflate, br\r\nUser-Agent: Python/3.11 aiohttp/3.14.5\r\n"
                          b"Content-Length: 12\r\nContent-Type: application/json\r\n",
    "requests": b"POST /get_reward HTTP/1.1\r\nHost: rewards-1:8000\r\nUser-Agent: python-requests/2.32.3\r\n"
                b"Accept-Encoding: gzip, deflate\r\nAccept: */*\r\nConnection: keep-alive\r\nContent-Length: 12\r\n"
                b"Content-Type: application/json\r\n",
    "curl": b"POST /get_reward HTTP/1.1\r\nHost: localhost:8000\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n"
            b"Content-Type: application/json\r\nContent-Length: 12\r\n",
}  # fmt: skip


@pytest.mark.parametrize("client", list(CLIENT_HEADS))
def test_the_heads_real_clients_send_are_taken(client: str) -> None:
    head = parse_head(CLIENT_HEADS[client].removesuffix(b"\r\n"))
    assert head is not None
    assert (head.length, head.keep_alive, head.version) == (12, True, b"HTTP/1.1")


@pytest.mark.parametrize(("head", "length", "keep_alive"), [
    (b"POST /get_reward HTTP/1.1\r\nContent-Length: 0", 0, True),
    (b"POST /get_reward HTTP/1.1\r\ncontent-length:   7   ", 7, True),  # blanks around a value are not part of it
    (b"POST /get_reward HTTP/1.1\r\nConnection: close\r\nContent-Length: 3", 3, False),
    (b"POST /get_reward HTTP/1.1\r\nConnection: Keep-Alive, CLOSE\r\nContent-Length: 3", 3, False),
    (b"POST /get_reward HTTP/1.0\r\nContent-Length: 3", 3, False),  # 1.0 closes unless told otherwise
    (b"POST /get_reward HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 3", 3, True),
    (b"POST /get_reward HTTP/1.1\r\nX-Note: caf\xc3\xa9 au lait\r\nContent-Length: 3", 3, True),  # obs-text
])  # fmt: skip
def test_plain_heads_are_read_exactly(head: bytes, length: int, keep_alive: bool) -> None:
    parsed = parse_head(head)
    assert parsed is not None
    assert (parsed.length, parsed.keep_alive) == (length, keep_alive)


@pytest.mark.parametrize("head", [
    b"GET /get_reward HTTP/1.1\r\nContent-Length: 3",
    b"post /get_reward HTTP/1.1\r\nContent-Length: 3",
    b"POST /score HTTP/1.1\r\nContent-Length: 3",
    b"POST /get_reward?x=1 HTTP/1.1\r\nContent-Length: 3",
    b"POST /get_reward/ HTTP/1.1\r\nContent-Length: 3",
    b"POST  /get_reward HTTP/1.1\r\nContent-Length: 3",
    b"POST /get_reward HTTP/2.0\r\nContent-Length: 3",
    b"POST /get_reward HTTP/1.1",  # no length: aiohttp decides what an empty body means
    b"POST /get_reward HTTP/1.1\r\nTransfer-Encoding: chunked",
    b"POST /get_reward HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked",  # the smuggling classic
    b"POST /get_reward HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3",
    b"POST /get_reward HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 4",
    b"POST /get_reward HTTP/1.1\r\nContent-Length: +3",
    b"POST /get_reward HTTP/1.1\r\nContent-Length: 0x3",
    b"POST /get_reward HTTP/1.1\r\nContent-Length: 3 4",
    b"POST /get_reward HTTP/1.1\r\nContent-Length: \xd9\xa3",  # an Arabic-Indic three: a digit to str.isdigit
    b"POST /get_reward HTTP/1.1\r\nContent-Length: 99999999999999999999",
    b"POST /get_reward HTTP/1.1\r\nContent-Length : 3",  # a space before the colon
    b"POST /get_reward HTTP/1.1\r\nX-A: 1\r\n folded\r\nContent-Length: 3",  # obs-fold
    b"POST /get_reward HTTP/1.1\nContent-Length: 3",  # a bare LF
    b"POST /get_reward HTTP/1.1\r\nX-A: 1\rContent-Length: 3",  # a bare CR
    b"POST /get_reward HTTP/1.1\r\nX-A: a\x00b\r\nContent-Length: 3",
    b"POST /get_reward HTTP/1.1\r\nX-A: a\x7fb\r\nContent-Length: 3",
    b"POST /get_reward HTTP/1.1\r\n: empty name\r\nContent-Length: 3",
    b"POST /get_reward HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3",
    b"POST /get_reward HTTP/1.1\r\nUpgrade: h2c\r\nContent-Length: 3",
])  # fmt: skip
def test_every_other_head_is_left_to_aiohttp(head: bytes) -> None:
    assert parse_head(head) is None


def _raw_requests() -> dict[str, tuple[bytes, int]]:
    """Raw requests (and how many replies each gets) that must be answered alike with and without the path."""
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (BODY[:10], BODY[10:])) + b"0\r\n\r\n"
    return {
        "plain": (post("/get_reward", BODY), 1),
        "http/1.0": (post("/get_reward", BODY, version="1.0"), 1),
        "malformed json": (post("/get_reward", b"{not json"), 1),
        "empty body": (post("/get_reward", b""), 1),
        "not the protocol": (post("/get_reward", b'{"answers": [1]}'), 1),
        "utf-16": (post("/get_reward", '{"query": ["é"]}'.encode("utf-16")), 1),
        "nested too deeply": (post("/get_reward", b"[" * 5000 + b"]" * 5000), 1),
        "lone surrogate in a label": (post("/get_reward", b'{"query": ["a"], "labels": ["\\ud800"]}'), 1),
        "chunked": (b"POST /get_reward HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked, 1),
        "score route": (post("/score", b'{"samples": [{"completion": "\\\\boxed{2}", "answer": "2"}]}'), 1),
        "pipelined mix": (post("/get_reward", BODY) + post("/get_reward", b"[1]") + post("/score", b"{}")
                          + post("/get_reward", BODY), 4),
        "query string": (post("/get_reward?debug=1", BODY), 1),
    }  # fmt: skip


def _canonical(reply: tuple[int, bytes, bytes]) -> tuple[int, Any]:
    status, _, body = reply
    return status, json.loads(body)


def test_a_client_cannot_tell_the_plain_path_from_aiohttp() -> None:
    requests = _raw_requests()

    async def answers(fast: bool) -> dict[str, list[tuple[int, Any]]]:
        async with serving(create_app(parse_config(MATH), 1), fast=fast) as url:
            out = {name: [_canonical(r) for r in await exchange(url, raw, n)] for name, (raw, n) in requests.items()}
            async with ClientSession() as session, session.get(f"{url}/health") as resp:
                out["health"] = [(resp.status, (await resp.json())["fast_path"]["requests"] > 0)]
            return out

    async def main() -> None:
        fast, plain = await answers(True), await answers(False)
        assert fast.pop("health") == [(200, True)]
        assert plain.pop("health") == [(200, False)]
        assert fast == plain
        assert fast["plain"][0][0] == 200 and fast["plain"][0][1]["rewards"] == [1.2]
        assert [status for status, _ in fast["pipelined mix"]] == [200, 400, 400, 200]

    asyncio.run(main())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=1, max_value=len(BODY) * 3), max_size=6))
def test_any_split_of_a_pipelined_stream_gets_the_same_answers(cuts: list[int]) -> None:
    stream = post("/get_reward", BODY) + post("/get_reward", b"{oops") + post("/get_reward", BODY, "Connection: close")
    points = sorted({min(c, len(stream)) for c in cuts})
    pieces = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True) if b > a]

    async def main() -> None:
        async with serving(create_app(parse_config(MATH), 1)) as url:
            host, port = url.removeprefix("http://").split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            for piece in pieces:
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(0)
            replies = [await asyncio.wait_for(read_response(reader), 30) for _ in range(3)]
            assert await asyncio.wait_for(reader.read(), 30) == b""  # "Connection: close" was honoured
            writer.close()
        assert [r[0] for r in replies] == [200, 400, 200]
        assert json.loads(replies[0][2]) == json.loads(replies[2][2])
        assert b"connection: close" in replies[2][1].lower()

    asyncio.run(main())


def test_a_connection_is_handed_to_aiohttp_mid_stream_and_keeps_working() -> None:
    async def main() -> None:
        async with serving(create_app(parse_config(MATH), 1)) as url:
            raw = (post("/get_reward", BODY) + b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                   + post("/get_reward", BODY))  # fmt: skip
            first, health, last = await exchange(url, raw, 3)
            assert first[0] == health[0] == last[0] == 200
            assert json.loads(health[2])["fast_path"] == {"requests": 1, "handed_off": 1}
            assert json.loads(first[2]) == json.loads(last[2])  # aiohttp answered the third: the same reply

    asyncio.run(main())


def test_a_client_that_resets_while_scored_is_dropped_and_frees_its_memory() -> None:
    async def main() -> None:
        async with serving(create_app(nap_config(), 1)) as url, ClientSession() as session:
            host, port = url.removeprefix("http://").split(":")
            for _ in range(3):  # the first is being scored when it leaves; the others are still queued
                _, writer = await asyncio.open_connection(host, int(port))
                writer.transport.get_extra_info("socket").setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset  # fmt: skip
                writer.write(post("/get_reward", b'{"query": ["1.0"]}'))
                await writer.drain()
                await asyncio.sleep(0.05)
                writer.close()
            await asyncio.sleep(0.1)
            async with session.get(f"{url}/health") as resp:
                assert (await resp.json())["inflight_bytes"] == 0
            start = time.monotonic()
            async with session.post(f"{url}/get_reward", json={"query": ["0.01"]}) as resp:
                assert resp.status == 200 and (await resp.json())["rewards"] == [1.0]
            assert time.monotonic() - start < 2.0  # waited for the running nap only, not for the two dropped

    asyncio.run(main())


def test_a_client_that_half_closes_still_gets_its_answer() -> None:
    async def main() -> None:
        async with serving(create_app(nap_config(), 1)) as url:
            host, port = url.removeprefix("http://").split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(post("/get_reward", b'{"query": ["0.2"]}'))
            writer.write_eof()  # sent everything; still reading
            status, _, body = await asyncio.wait_for(read_response(reader), 30)
            assert status == 200 and json.loads(body)["rewards"] == [1.0]
            assert await asyncio.wait_for(reader.read(), 30) == b""  # then the server closes
            writer.close()

    asyncio.run(main())


def test_shutdown_answers_the_requests_in_flight_and_closes() -> None:
    async def main() -> None:
        async with serving(create_app(nap_config(), 1), shutdown_timeout=10) as url:
            host, port = url.removeprefix("http://").split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            idle_reader, _ = await asyncio.open_connection(host, int(port))
            writer.write(post("/get_reward", b'{"query": ["0.5"]}'))
            await writer.drain()
            await asyncio.sleep(0.1)
        # The block's end shut the server down, and waited for the request in flight to be answered.
        status, head, body = await asyncio.wait_for(read_response(reader), 30)
        assert status == 200 and json.loads(body)["rewards"] == [1.0]
        assert b"connection: close" in head.lower()
        assert await asyncio.wait_for(idle_reader.read(), 30) == b""  # an idle keep-alive connection is closed

    asyncio.run(main())


def test_a_body_past_the_limits_is_aiohttps_to_refuse() -> None:
    settings_ = ServerSettings(max_body_mb=0.001)

    async def main() -> None:
        async with serving(create_app(parse_config(MATH), 1, settings_)) as url:
            [(status, _, body)] = await exchange(url, post("/get_reward", b'{"query": ["' + b"x" * 4000 + b'"]}'))
            assert status == 413 and "--max-body-mb" in json.loads(body)["error"]

    asyncio.run(main())


class _Transport:
    def __init__(self) -> None:
        self.closed = False

    def get_extra_info(self, name: str) -> None:
        return None

    def close(self) -> None:
        self.closed = True


def test_idle_keep_alive_connections_are_closed_and_busy_ones_kept() -> None:
    async def main() -> None:
        front = FastFront(None, ServerSettings(), Inflight(1 << 20), lambda: asyncio.Protocol(), FastStats())  # type: ignore[arg-type]
        idle, busy, fresh = (FastConnection(front) for _ in range(3))
        for conn in (idle, busy, fresh):
            conn.connection_made(_Transport())  # type: ignore[arg-type]
        idle.last_active = busy.last_active = time.monotonic() - KEEPALIVE_S - 1
        busy.pending = asyncio.get_running_loop().create_future()  # a sample being scored
        front.sweep()
        assert [c.transport.closed for c in (idle, busy, fresh)] == [True, False, False]  # type: ignore[union-attr]

    asyncio.run(main())


def test_every_connection_it_answers_has_nagle_off() -> None:
    """With Nagle on, a reply would wait for the client's delayed ACK (~40 ms) on a keep-alive connection;
    asyncio leaves it on for the sockets `rewardkit serve` listens on (made with proto 0)."""

    async def main() -> None:
        sites: list[Any] = []
        async with serving(create_app(parse_config(MATH), 1), sites=sites) as url:
            host, port = url.removeprefix("http://").split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(post("/get_reward", BODY))
            assert (await asyncio.wait_for(read_response(reader), 30))[0] == 200
            [conn] = sites[0].front.connections
            sock = conn.transport.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
            writer.close()

    asyncio.run(main())
