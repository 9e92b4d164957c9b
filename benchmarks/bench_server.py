"""Load benchmark of `rewardkit serve`: OpenRLHF-style /get_reward requests at a fixed concurrency.

    python benchmarks/bench_server.py [--requests 400] [--batch 8] [--concurrency 32] [--workers 2]

Starts the server on loopback (math + think_format, the usual GRPO pair), warms it, then sends
``--requests`` requests of ``--batch`` samples each from ``--concurrency`` clients, and prints requests/s,
samples/s and p50/p99 latency. Completions are the labelled pairs of shared/data/math/regression.jsonl
(a few simple synthetic ones when it is missing), so the math reward sees real answers, hard ones included.
Exits 1 unless every request succeeds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "math" / "regression.jsonl"
CONFIG = "name: bench\nrewards:\n  - {name: math, weight: 1.0}\n  - {name: think_format, weight: 0.2}\n"


def pairs(workload: str) -> list[tuple[str, str]]:
    if workload == "regression" and DATA.is_file():
        rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
        return [(str(r["gold"]), str(r["pred"])) for r in rows]
    return [(str(n), f"<think>adding</think> so the answer is \\boxed{{{n + n % 3}}}") for n in range(200)]


def requests(n: int, batch: int, workload: str) -> list[dict[str, list[str]]]:
    source = pairs(workload)
    out = []
    for r in range(n):
        prompts, queries, labels = [], [], []
        for k in range(batch):
            gold, pred = source[(r * batch + k) % len(source)]
            prompt = f"<|user|>Problem {r}.{k}: solve it.<|assistant|>"
            prompts.append(prompt)
            queries.append(prompt + pred)
            labels.append(gold)
        out.append({"query": queries, "prompts": prompts, "labels": labels})
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(config: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "rewardkit.server", "--config", str(config), "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(workers)]  # fmt: skip
    return subprocess.Popen(cmd, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


async def wait_ready(url: str, timeout: float = 60.0) -> None:
    import aiohttp

    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(f"{url}/health") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"the server at {url} did not come up in {timeout:.0f} s")


async def load(url: str, bodies: list[dict[str, list[str]]], concurrency: int) -> tuple[list[float], int]:
    """Latency of every request (seconds) and the number that failed."""
    import aiohttp

    latencies: list[float] = []
    failures = 0
    todo = iter(bodies)
    connector = aiohttp.TCPConnector(limit=concurrency)

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal failures
        for body in todo:
            start = time.perf_counter()
            async with session.post(f"{url}/get_reward", json=body) as resp:
                reply = await resp.json()
            latencies.append(time.perf_counter() - start)
            if resp.status != 200 or len(reply.get("rewards", ())) != len(body["query"]):
                failures += 1

    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
    return latencies, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--workload", choices=("regression", "simple"), default="regression",
                        help="regression: labelled real answer pairs; simple: short numeric answers "
                        "(shows the server's own overhead)")
    parser.add_argument("--url", help="benchmark a running server instead of starting one")
    args = parser.parse_args()
    bodies = requests(args.requests, args.batch, args.workload)
    warm = requests(2 * args.concurrency, args.batch, args.workload)
    server = None
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url
        if url is None:
            config = Path(tmp) / "bench.yaml"
            config.write_text(CONFIG)
            port = free_port()
            server = start_server(config, port, args.workers)
            url = f"http://127.0.0.1:{port}"
        try:
            asyncio.run(wait_ready(url))
            asyncio.run(load(url, warm, args.concurrency))  # helpers started, imports done
            start = time.perf_counter()
            latencies, failures = asyncio.run(load(url, bodies, args.concurrency))
            elapsed = time.perf_counter() - start
        finally:
            if server is not None:
                server.send_signal(signal.SIGTERM)
                server.wait(60)
    report(args, latencies, failures, elapsed)
    return 1 if failures else 0


def report(args: argparse.Namespace, latencies: list[float], failures: int, elapsed: float) -> None:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    print(f"{args.requests} requests x {args.batch} samples, concurrency {args.concurrency}, "
          f"{args.workers} workers, {args.workload} workload: "
          f"{args.requests - failures} ok, {failures} failed")  # fmt: skip
    print(f"  {args.requests / elapsed:8.1f} requests/s   {args.requests * args.batch / elapsed:8.1f} samples/s")
    print(f"  latency p50 {cuts[49] * 1000:7.1f} ms   p99 {cuts[98] * 1000:7.1f} ms   "
          f"max {max(latencies) * 1000:7.1f} ms")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
