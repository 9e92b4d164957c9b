"""The plain-HTTP path for OpenRLHF's one-sample ``POST /get_reward`` requests, in front of aiohttp.

Why: OpenRLHF sends one sample per request, 256 at once. At that rate the server's cost is per request,
and aiohttp's per-request machinery (a task, a request and a response object, the router, the middleware,
header multidicts, the writer) cost a front end more CPU than parsing the body and building the reply:
``benchmarks/bench_server.py`` measured the whole front end at ~470 µs of CPU per request, against ~30 µs
to parse an OpenRLHF body. On a small machine that CPU is what the latency tail waits for.

How: every accepted connection starts on `FastConnection`, a bare asyncio protocol. It answers a request
itself only when the request's head has the plain shape OpenRLHF's client (aiohttp) sends:
``POST /get_reward`` over HTTP/1.1 or 1.0, CRLF line ends, header names that are tokens, values without
control characters, exactly one ``Content-Length`` of digits, no ``Transfer-Encoding``, no ``Expect``, and a
body within ``--max-body-mb`` and what is left of ``--max-inflight-mb``. Anything else (another route or
method, a chunked body, a malformed or oversized head or body) is handed, from the first byte of that
request on, to aiohttp's own protocol for the rest of the connection (``transport.set_protocol``), which
parses, validates and answers it exactly as it did before this path existed. So this path never has to
be right about an unusual request, only to recognise a usual one; and no byte is read by both parsers, so
they cannot disagree about where a request ends (no request smuggling between them).

What both paths share (one place each, `rewardkit.server.protocol`): the memory admission (`admit`), the
body decoding (`decode_json`), OpenRLHF's parsing (`openrlhf_entries`), the mapping of failures to status
codes (`refusal`); and the `RewardService` (the core's `Scorer`, its one error budget and counters). The
reply body is the same JSON.

Connection rules: one request at a time per connection (pipelined requests wait in the buffer, which is
bounded: reading pauses past `MAX_BUFFER`); keep-alive as HTTP/1.1 and 1.0 define it; ``TCP_NODELAY`` as
aiohttp sets it; idle keep-alive connections closed after aiohttp's own keep-alive timeout; a client that
disconnects while its sample is scored cancels it. On shutdown the listening socket closes, idle
connections close, and requests in flight are answered (``Connection: close``) within the shutdown timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import time
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

from aiohttp import web

from ..evaluate import Scored
from ..integrations import openrlhf
from .protocol import Inflight, ProtocolError, ServerSettings, admit, decode_json, openrlhf_entries, refusal
from .service import RewardService

#: Longest request head taken here (aiohttp's own limit for a line or a header field is 8190 bytes).
MAX_HEAD = 8190
#: Bytes a connection may buffer beyond the request being answered before reading pauses.
MAX_BUFFER = 1 << 20
#: Seconds an idle keep-alive connection stays open (``aiohttp.web.run_app``'s ``keepalive_timeout``; the
#: server's aiohttp runner is given the same).
KEEPALIVE_S = 75.0
_SWEEP_S = 15.0

_REQUEST_LINE = re.compile(rb"POST /get_reward HTTP/1\.([01])")
_FIELD = re.compile(
    rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([\x21-\x7e\x80-\xff]*(?:[ \t]+[\x21-\x7e\x80-\xff]+)*)[ \t]*"
)
_JSON = json.JSONEncoder(ensure_ascii=False)  # json.dumps with an option builds an encoder per call
_REASONS = {200: "OK", 400: "Bad Request", 413: "Request Entity Too Large", 500: "Internal Server Error",
            503: "Service Unavailable"}  # fmt: skip


class Head:
    """What this path needs of a request head it takes: the body's length and whether to keep the connection."""

    __slots__ = ("keep_alive", "length", "version")

    def __init__(self, length: int, keep_alive: bool, version: bytes) -> None:
        self.length = length
        self.keep_alive = keep_alive
        self.version = version


def parse_head(head: bytes) -> Head | None:
    """The head (request line and fields, without the blank line) if this path takes it; None hands it on.

    Strict on purpose: anything OpenRLHF's client does not send, or that HTTP leaves to interpretation, is
    aiohttp's to judge.
    """
    ends = head.count(b"\r\n")
    if head.count(b"\r") != ends or head.count(b"\n") != ends:
        return None  # a bare CR or LF: not a line end here
    lines = head.split(b"\r\n")
    match = _REQUEST_LINE.fullmatch(lines[0])
    if match is None:
        return None
    minor = match.group(1)
    length: int | None = None
    connection = b""
    for line in lines[1:]:
        field = _FIELD.fullmatch(line)
        if field is None:
            return None  # obs-fold, a space before the colon, control characters, an empty name...
        name = field.group(1).lower()
        if name == b"content-length":
            value = field.group(2)
            if length is not None or not value.isdigit() or len(value) > 18:
                return None
            length = int(value)
        elif name in (b"transfer-encoding", b"expect", b"upgrade"):
            return None
        elif name == b"connection":
            connection = connection + b"," + field.group(2).lower()
    if length is None:
        return None
    tokens = {t.strip() for t in connection.split(b",")}
    keep_alive = b"close" not in tokens and (minor == b"1" or b"keep-alive" in tokens)
    return Head(length, keep_alive, b"HTTP/1." + minor)


class _Date:
    """The ``Date`` header's value, formatted once a second."""

    def __init__(self) -> None:
        self.second = -1
        self.value = b""

    def now(self) -> bytes:
        second = int(time.time())
        if second != self.second:
            self.second = second
            self.value = formatdate(second, usegmt=True).encode("ascii")
        return self.value


class FastStats:
    """What the plain-HTTP path did, for ``GET /health``: requests it answered, connections it handed on."""

    def __init__(self) -> None:
        self.requests = 0
        self.handed_off = 0

    def to_json(self) -> dict[str, int]:
        return {"requests": self.requests, "handed_off": self.handed_off}


class FastFront:
    """Shared by a front end's connections: the service, limits, aiohttp's protocol factory, open connections."""

    def __init__(self, service: RewardService, settings: ServerSettings, inflight: Inflight,
                 fallback: Callable[[], asyncio.Protocol], stats: FastStats) -> None:  # fmt: skip
        self.stats = stats
        self.service = service
        self.settings = settings
        self.inflight = inflight
        self.fallback = fallback
        self.connections: set[FastConnection] = set()
        self.closing = False
        self.date = _Date()
        self.idle = asyncio.Event()  # set while no request is being answered
        self.idle.set()
        self.busy = 0

    def connection(self) -> FastConnection:
        return FastConnection(self)

    def started(self) -> None:
        self.busy += 1
        self.idle.clear()

    def finished(self) -> None:
        self.busy -= 1
        if self.busy == 0:
            self.idle.set()

    def sweep(self) -> None:
        """Close keep-alive connections idle past `KEEPALIVE_S`."""
        deadline = time.monotonic() - KEEPALIVE_S
        for conn in list(self.connections):
            if conn.pending is None and conn.last_active < deadline:
                conn.close()

    async def drain(self, timeout: float) -> None:
        """Shutdown: close idle connections, answer the requests in flight (within ``timeout``), close the rest."""
        self.closing = True
        for conn in list(self.connections):
            if conn.pending is None:
                conn.close()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.idle.wait(), timeout)
        for conn in list(self.connections):
            conn.close()


class FastConnection(asyncio.Protocol):
    """One client connection, until it closes or is handed to aiohttp."""

    def __init__(self, front: FastFront) -> None:
        self.front = front
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.pending: asyncio.Future[list[Scored]] | None = None  # the sample being scored
        self.reserved = 0  # inflight bytes held for the request being read or answered
        self.head: Head | None = None  # the request whose body is being read or answered
        self.head_end = 0
        self.paused_reading = False
        self.paused_writing = False
        self.closed = False  # closing: read no further request
        self.eof = False  # the client sends no more: close once it is answered
        self.last_active = time.monotonic()

    # -- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        # Nagle off, as aiohttp sets it: uvloop does too, but asyncio only for sockets made with proto TCP,
        # and socket.create_server makes them with proto 0. With Nagle on, a reply written after its head
        # waits for the client's delayed ACK (~40 ms) on a keep-alive connection.
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.front.connections.add(self)

    def data_received(self, data: bytes) -> None:
        self.last_active = time.monotonic()
        self.buffer += data
        if self.pending is None and not self.paused_writing:
            self._serve()
        elif len(self.buffer) > MAX_BUFFER and self.transport is not None and not self.paused_reading:
            self.paused_reading = True
            self.transport.pause_reading()

    def eof_received(self) -> bool | None:
        # The client will send no more. Answer what it asked (the transport stays open for writing), then close.
        self.eof = True
        if self.pending is None:
            self._serve()
            if self.pending is None:
                self.close()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.front.connections.discard(self)
        if self.pending is not None:
            self.pending.cancel()  # the lanes skip what nobody waits for
        self._release()

    def pause_writing(self) -> None:
        self.paused_writing = True

    def resume_writing(self) -> None:
        self.paused_writing = False
        if self.pending is None:
            self._serve()

    # -- requests --------------------------------------------------------------------------------

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _release(self) -> None:
        self.front.inflight.used -= self.reserved
        self.reserved = 0

    def _serve(self) -> None:
        """Take every complete request in the buffer, one at a time, until one is being scored."""
        while self.transport is not None and not self.closed and self.pending is None and not self.paused_writing:
            if self.head is None and not self._read_head():
                return
            head = self.head
            assert head is not None
            start = self.head_end
            if len(self.buffer) < start + head.length:
                return  # the body is still arriving (its bytes are reserved)
            body = bytes(self.buffer[start : start + head.length])
            del self.buffer[: start + head.length]
            self.head = None
            self._answer(head, body)
        if self.paused_reading and self.transport is not None and len(self.buffer) <= MAX_BUFFER:
            self.paused_reading = False
            self.transport.resume_reading()

    def _read_head(self) -> bool:
        """Whether a request head this path takes was read (its body's bytes reserved). Hands the connection
        to aiohttp when the head is one this path leaves to it."""
        end = self.buffer.find(b"\r\n\r\n", 0, MAX_HEAD + 4)
        if end < 0:
            if len(self.buffer) > MAX_HEAD:
                self._hand_off()
            return False
        if self.front.closing:
            self.close()
            return False
        head = parse_head(bytes(self.buffer[:end]))
        if head is None or head.length > self.front.settings.max_body_bytes:
            self._hand_off()
            return False
        try:
            self.reserved = admit(self.front.settings, self.front.inflight, head.length)
        except ProtocolError:
            self._hand_off()  # aiohttp's handler answers the 503, as for every other route
            return False
        self.head, self.head_end = head, end + 4
        return True

    def _hand_off(self) -> None:
        """The rest of the connection, from the first byte of the request in the buffer, is aiohttp's."""
        transport = self.transport
        if transport is None:
            return
        data = bytes(self.buffer)
        self.buffer.clear()
        self.transport = None
        self.front.connections.discard(self)
        self.front.stats.handed_off += 1
        handler = self.front.fallback()
        transport.set_protocol(handler)
        handler.connection_made(transport)
        if data:
            handler.data_received(data)
        if self.paused_reading:
            transport.resume_reading()

    def _answer(self, head: Head, body: bytes) -> None:
        service = self.front.service
        try:
            entries = openrlhf_entries(decode_json(body), service.config.reference_column, self.front.settings)
            pending = service.future(openrlhf.samples_of(entries))
        except Exception as exc:
            self._release()
            self._refuse(head, exc)
            return
        self.pending = pending
        self.front.started()
        pending.add_done_callback(lambda done: self._scored(head, entries, done))

    def _scored(self, head: Head, entries: list[Any], done: asyncio.Future[list[Scored]]) -> None:
        self.pending = None
        self.front.finished()
        self._release()
        if self.transport is None or done.cancelled():
            return
        service = self.front.service
        try:
            reply = service.replies.reply(entries, service.record(done.result()))
        except Exception as exc:
            self._refuse(head, exc)
        else:
            self._write(head, 200, reply)
            self.front.stats.requests += 1
        self._serve()
        if self.eof and self.pending is None:
            self.close()

    def _refuse(self, head: Head, exc: Exception) -> None:
        refused = refusal(exc, "POST /get_reward")
        extra = b"" if refused.retry_after is None else b"Retry-After: %g\r\n" % refused.retry_after
        self._write(head, refused.status, {"error": str(refused), "status": refused.status}, extra)
        self.front.stats.requests += 1

    def _write(self, head: Head, status: int, document: Any, extra: bytes = b"") -> None:
        transport = self.transport
        if transport is None:
            return
        self.last_active = time.monotonic()
        keep = head.keep_alive and not self.front.closing
        body = _JSON.encode(document).encode("utf-8")
        if not keep:
            connection = b"Connection: close\r\n"
        else:  # HTTP/1.1 keeps the connection unless told; 1.0 only when told
            connection = b"Connection: keep-alive\r\n" if head.version == b"HTTP/1.0" else b""
        reason = _REASONS.get(status, "Error").encode()
        transport.write(b"%s %d %s\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: %d\r\n"
                        b"Date: %s\r\n%s%s\r\n%s" % (head.version, status, reason, len(body), self.front.date.now(),
                                                     connection, extra, body))  # fmt: skip
        if not keep:
            self.close()


class FastSite(web.SockSite):
    """aiohttp's socket site with `FastConnection` as the protocol of every accepted connection."""

    def __init__(self, runner: web.AppRunner, sock: socket.socket, shutdown_timeout: float, **kwargs: Any) -> None:
        super().__init__(runner, sock, **kwargs)
        self.shutdown_timeout = shutdown_timeout
        self.front: FastFront | None = None
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        from .app import FAST_STATS, INFLIGHT, SERVICE, SETTINGS

        app = self._runner.app  # type: ignore[attr-defined]
        fallback = self._runner.server
        assert fallback is not None
        self.front = FastFront(app[SERVICE], app[SETTINGS], app[INFLIGHT], fallback, app[FAST_STATS])
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self.front.connection, sock=self._sock, backlog=self._backlog)
        self._sweeper = loop.create_task(self._sweep())

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(_SWEEP_S)
            if self.front is not None:
                self.front.sweep()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()  # no new connections
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self.front is not None:
            await self.front.drain(self.shutdown_timeout)
        await super().stop()
