"""Load benchmark of `rewardkit serve` as OpenRLHF drives it: one sample per ``/get_reward`` request.

    python benchmarks/bench_server.py [--concurrency 64 256] [--requests 10000] [--workers 2] [--frontends 2]
                                      [--fresh-connections] [--url http://host:port]

Starts the server on loopback with format + math (``think_format`` 0.2, ``math`` 1.0), warms it, then for
each concurrency level keeps that many requests in flight (closed loop) and prints p50/p99/max latency and
samples/s. Each request is what OpenRLHF 0.11.2's ``SingleTurnAgentExecutor`` posts: ``{"query":
[prompt + response], "prompts": [prompt], "labels": [gold]}``, the response ending in ``<|im_end|>``.
Responses are OpenAI's model-written GSM8K solutions (tests/data/math, 5,276 rows, MIT), half of them put
in ``<think>``/``<answer>`` tags. ``--fresh-connections`` opens a connection per request, as OpenRLHF's
client does (``openrlhf/utils/agent.py`` opens one aiohttp session per request and closes it once
answered); by default connections are kept alive.

The load generator is a minimal HTTP/1.1 client on a bare protocol (uvloop where installed) in its own
process, so that on a small machine the CPU goes to the server, not to the client; replies are checked
after each level, not while it is timed. Exits 1 unless every reply is a 200 with one reward and a score
in [0, 1]. ``REWARDKIT_FAST_PATH=off`` in the environment measures the server with every request going
through aiohttp (`rewardkit.server.fastpath` explains the difference).

Measured 2026-12-01 on the project's 2-core machine (the load generator on the same cores), keep-alive,
10,000 requests per level. ``--frontends 2`` (5 runs): concurrency 64 p99 24.6-29.7 ms at 3,570-4,090
samples/s; 256 p99 83.4-94.8 ms at 3,720-4,780 samples/s. The same with ``REWARDKIT_FAST_PATH=off`` (2
runs): 64 p99 47.0-49.0 ms at 2,470-2,540/s; 256 p99 142-156 ms at 2,490-2,730/s. ``--frontends 1`` (2
runs): 64 p99 37-38 ms at 2,700-2,790/s; 256 p99 124-132 ms at 3,060-3,190/s. Per request, CPU went from
~470 to ~250 µs in a front end (``/proc``); the rest is the workers (~190 µs a sample) and the generator.
``--fresh-connections`` (OpenRLHF's own pattern, 4 runs): 64 p99 38.5-48.7 ms at 2,260-3,230/s; 256 p99
135-175 ms at 2,610-3,690/s. A connection per request costs a front end ~60 µs more and the generator
~145 µs instead of ~80 (22% of the two cores, CPU a trainer on another machine would not take).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "math" / "gsm8k_model_solutions.jsonl.gz"
CONFIG = "name: bench\nrewards:\n  - {name: think_format, weight: 0.2}\n  - {name: math, weight: 1.0}\n"
TEMPLATE = "<|im_start|>system\nSolve the problem.<|im_end|>\n<|im_start|>user\nProblem {i}<|im_end|>\n" \
           "<|im_start|>assistant\n"  # fmt: skip


def bodies(limit: int) -> list[bytes]:
    """OpenRLHF-shaped request bodies, one sample each."""
    with gzip.open(DATA, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for _, line in zip(range(limit), f, strict=False)]
    out = []
    for i, row in enumerate(rows):
        prompt = TEMPLATE.format(i=i)
        if i % 2 == 0:
            reasoning = re.sub(r"\nA: .*$", "", row["pred"])
            response = f"<think>\n{reasoning}\n</think>\n<answer>{row['pred_answer']}</answer><|im_end|>"
        else:
            response = row["pred"] + "<|im_end|>"
        out.append(json.dumps({"query": [prompt + response], "prompts": [prompt], "labels": [row["gold"]]}).encode())
    return out


def request_bytes(host: str, body: bytes) -> bytes:
    """The request as aiohttp's client writes it (OpenRLHF's): keep-alive. With ``--fresh-connections`` the
    client then closes the connection itself once answered, as OpenRLHF's session-per-request does."""
    head = (f"POST /get_reward HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate\r\n"
            f"Content-Length: {len(body)}\r\nContent-Type: application/json\r\n\r\n")  # fmt: skip
    return head.encode() + body


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection of the load generator, on a bare asyncio protocol.

    Streams (``readuntil``/``readexactly``) cost the generator ~300 µs of CPU per request, and on a 2-core
    machine the generator shares the CPUs with the server; a protocol that parses only the status line and
    Content-Length costs a fraction of that, so the server, not the client, is what is measured.
    """

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = bytes(self.buffer[:end])
        match = re.search(rb"(?i)content-length:\s*(\d+)", head)
        length = int(match.group(1)) if match else 0
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        waiter, self.waiter = self.waiter, None
        waiter.set_result((int(head.split(b" ", 2)[1]), body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionError("the server closed the connection"))
        if not self.closed.done():
            self.closed.set_result(None)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


def valid(status: int, body: bytes) -> bool:
    if status != 200:
        return False
    reply = json.loads(body)
    return len(reply["rewards"]) == 1 and len(reply["scores"]) == 1 and 0.0 <= reply["scores"][0] <= 1.0


async def load(url: str, payloads: list[bytes], n: int, concurrency: int, fresh: bool) -> tuple[list[float], int]:
    """Latency of each of ``n`` requests (seconds) with ``concurrency`` in flight, and how many failed."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = [request_bytes(host, p) for p in payloads]
    latencies: list[float] = []
    replies: list[tuple[int, bytes]] = []  # checked once the level is over: the check is not the server's time
    counter = iter(range(n))
    loop = asyncio.get_running_loop()

    async def client() -> None:
        conn = None if fresh else (await loop.create_connection(_Connection, host, port))[1]
        for k in counter:
            start = time.perf_counter()
            this = conn or (await loop.create_connection(_Connection, host, port))[1]
            reply = await this.exchange(requests[k % len(requests)])
            if conn is None:
                assert this.transport is not None
                this.transport.close()
            latencies.append(time.perf_counter() - start)
            replies.append(reply)
        if conn is not None and conn.transport is not None:
            conn.transport.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies, sum(not valid(status, body) for status, body in replies)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, timeout: float = 90.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server at {url} did not come up in {timeout:.0f} s")


def report(concurrency: int, latencies: list[float], failures: int, elapsed: float) -> str:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return (f"concurrency {concurrency:4d}: {len(latencies)} requests, {failures} failed, "
            f"{len(latencies) / elapsed:7.1f} samples/s, p50 {cuts[49] * 1000:6.1f} ms, "
            f"p99 {cuts[98] * 1000:6.1f} ms, max {max(latencies) * 1000:6.1f} ms")  # fmt: skip


def event_loop() -> tuple[asyncio.AbstractEventLoop, str]:
    """The generator's loop: uvloop where installed (its C transports cost the generator about half the CPU
    of asyncio's, CPU that on a small machine the server would otherwise not get)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop(), "asyncio"
    return uvloop.new_event_loop(), "uvloop"


def run(url: str, args: argparse.Namespace) -> int:
    payloads = bodies(args.rows)
    wait_ready(url)
    loop, name = event_loop()
    print(f"load generator: one process, {name} event loop", flush=True)
    loop.run_until_complete(load(url, payloads, 2 * max(args.concurrency), max(args.concurrency),
                                 args.fresh_connections))  # fmt: skip
    failed = 0
    for concurrency in args.concurrency:
        start = time.perf_counter()
        latencies, failures = loop.run_until_complete(load(url, payloads, args.requests, concurrency,
                                                           args.fresh_connections))  # fmt: skip
        print(report(concurrency, latencies, failures, time.perf_counter() - start), flush=True)
        failed += failures
    loop.close()
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--requests", type=int, default=10000, help="requests per concurrency level")
    parser.add_argument("--rows", type=int, default=400, help="GSM8K solutions to cycle through")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--frontends", type=int, default=len(os.sched_getaffinity(0)),
                        help="HTTP front-end processes (rewardkit serve --frontends; default: the cores)")
    parser.add_argument("--fresh-connections", action="store_true", help="a connection per request (OpenRLHF)")
    parser.add_argument("--url", help="benchmark a running server instead of starting one")
    args = parser.parse_args()
    if args.url:
        return run(args.url.rstrip("/"), args)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench.yaml"
        config.write_text(CONFIG)
        port = free_port()
        cmd = [sys.executable, "-m", "rewardkit.server", "--config", str(config), "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(args.workers), "--frontends", str(args.frontends)]  # fmt: skip
        server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"rewardkit serve, {args.frontends} front ends, {args.workers} workers, format + math, batch of 1, "
              f"{'a connection per request' if args.fresh_connections else 'keep-alive'}", flush=True)
        try:
            return run(f"http://127.0.0.1:{port}", args)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(60)


if __name__ == "__main__":
    sys.exit(main())
