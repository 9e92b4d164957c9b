"""A stand-in OpenAI-compatible judge server for trying the ``judge`` reward without a model.

    python examples/judge_server.py --port 8011 --fail-rate 0.4 &
    cat > judge.yaml <<'YAML'
    rewards:
      - name: judge
        params: {base_url: "http://127.0.0.1:8011/v1", model: toy, cache_path: null}
    YAML
    rewardkit score data.jsonl --config judge.yaml --details

It grades like a strict exact-match judge (Score: 9 when the response equals the reference, 2 when not,
5 without one), reading the data between the nonce markers of the built-in templates, and fails a
chosen fraction of requests with 500/502/503/429 so the retries can be watched. Loopback only.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def verdict(messages: list[dict[str, str]]) -> str:
    system, user = messages[0]["content"], messages[-1]["content"]
    found = re.search(r"<<<RESPONSE-([0-9a-f]+)>>>", system)
    if found is None:
        return "I cannot find the response markers."  # an unreadable verdict: the reward masks it
    nonce = found.group(1)
    data = dict(re.findall(rf"<<<(\w+)-{nonce}>>>\n(.*?)\n<<<END-\1-{nonce}>>>", user, re.S))
    if "REFERENCE" not in data:
        return "There is no reference to compare with.\nScore: 5"
    same = data.get("RESPONSE", "").strip() == data["REFERENCE"].strip()
    return "Matches the reference.\nScore: 9" if same else "Disagrees with the reference.\nScore: 2"


def make_handler(fail_rate: float, latency_s: float, stats: dict[str, int]) -> type[BaseHTTPRequestHandler]:
    rng, lock = random.Random(0), threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                stats["requests"] += 1
                failing = rng.random() < fail_rate
                status = rng.choice([500, 502, 503, 429]) if failing else 200
            time.sleep(latency_s)
            if status != 200:
                stats["failed"] += 1
                self._send(status, {"error": "injected failure"})
                return
            content = verdict(body["messages"])
            self._send(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]})

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument("--fail-rate", type=float, default=0.0, help="fraction of requests failed on purpose")
    parser.add_argument("--latency-s", type=float, default=0.05, help="time taken by each request")
    args = parser.parse_args()
    stats = {"requests": 0, "failed": 0}
    server = ThreadingHTTPServer(
        ("127.0.0.1", args.port), make_handler(args.fail_rate, args.latency_s, stats)
    )
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` prints the counts too
    print(f"judge stand-in on http://127.0.0.1:{args.port}/v1 (fail rate {args.fail_rate:.0%})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        print(f"served {stats['requests']} requests, failed {stats['failed']} on purpose", flush=True)


if __name__ == "__main__":
    main()
