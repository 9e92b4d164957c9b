"""The reward server in the test's own event loop, on a real socket, as `rewardkit serve` runs it: aiohttp's
runner behind `FastSite` (the plain-HTTP path for ``POST /get_reward``), or aiohttp's own site alone."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

from aiohttp import web

from rewardkit.server.fastpath import FastSite


@contextlib.asynccontextmanager
async def serving(app: web.Application, fast: bool = True, shutdown_timeout: float = 10.0,
                  sites: list[web.BaseSite] | None = None) -> AsyncIterator[str]:  # fmt: skip
    """The base URL of ``app`` served on loopback until the block ends (then shut down gracefully); the site
    is appended to ``sites`` when given."""
    sock = socket.create_server(("127.0.0.1", 0))
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    site = FastSite(runner, sock, shutdown_timeout) if fast else web.SockSite(runner, sock)
    await site.start()
    if sites is not None:
        sites.append(site)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()
        sock.close()


async def exchange(url: str, raw: bytes, replies: int = 1, timeout: float = 30.0) -> list[tuple[int, bytes, bytes]]:
    """Send ``raw`` bytes on one connection; read ``replies`` HTTP responses: (status, head, body) each."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(raw)
        await writer.drain()
        return [await asyncio.wait_for(read_response(reader), timeout) for _ in range(replies)]
    finally:
        writer.close()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in head.split(b"\r\n")[1:])}
    # Both paths answer with a Content-Length (aiohttp's web.Response and the plain path alike).
    return status, head, await reader.readexactly(int(fields[b"content-length"]))


def post(path: str, body: bytes, *fields: str, version: str = "1.1") -> bytes:
    """A raw request: ``POST path`` with ``body``, its Content-Length and ``fields`` (``"Name: value"``)."""
    lines = [f"POST {path} HTTP/{version}", "Host: 127.0.0.1", *fields, f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
