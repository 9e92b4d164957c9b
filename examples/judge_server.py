"""A stand-in OpenAI-compatible judge server for trying the judge rewards without a model.

    python examples/judge_server.py --port 8011 --fail-rate 0.4 &
    cat > judge.yaml <<'YAML'
    rewards:
      - name: judge
        params: {base_url: "http://127.0.0.1:8011/v1", model: toy, cache_path: null}
    YAML
    rewardkit score data.jsonl --config judge.yaml --details
    # the other judge kinds, on the bundled rows:
    for kind in rubric verifier math_verifier group; do
      rewardkit score examples/judge_rows.jsonl --config examples/judge_$kind.yaml --details -j 0
    done

It grades like a strict exact-match judge (Score: 9 when the response equals the reference, 2 when not,
5 without one), reading the JSON-encoded data between the nonce markers of the built-in templates; for
the other kinds it answers their verdict formats by the same toy rule (the reference contained in the
response): rubric criteria of the form "mentions X", the verifier styles' tokens, and pairwise or listwise
comparisons. It fails a chosen fraction of requests with 500/502/503/429 so the retries can be watched.
Loopback only.
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


def _field(user: str, label: str) -> str:
    """The JSON string literal after ``label`` in a verifier prompt, decoded."""
    found = re.search(re.escape(label) + r'\s*("(?:[^"\\]|\\.)*")', user)
    return str(json.loads(found.group(1))) if found else ""


def verifier_verdict(user: str) -> str:
    if "Judgement:" in user:  # xverify style
        right = _field(user, "Correct answer:").lower() in _field(user, "Output sentence:").lower()
        return "[Correct]" if right else "[Incorrect]"
    if "<Candidate's Answer Begin>" in user:  # compassverifier style
        gold, answer = _field(user, "<Standard Answer Begin>:"), _field(user, "<Candidate's Answer Begin>:")
        return "A" if gold.lower() in answer.lower() else "B"
    gold, answer = _field(user, "### Ground Truth Answer:"), _field(user, "### Student Answer:")
    return f"Final Decision: {'Yes' if gold and gold.lower() in answer.lower() else 'No'}"


def verdict(messages: list[dict[str, str]]) -> str:
    user = messages[-1]["content"]
    if len(messages) == 1:
        return verifier_verdict(user)
    found = re.search(r"<<<RESPONSE-([0-9a-f]+)>>>", messages[0]["content"])
    if found is None:
        return "I cannot find the response markers."  # unreadable: asked again, then the low value
    nonce = found.group(1)
    blocks = re.findall(rf"<<<(\w+)-{nonce}>>>\n(.*?)\n<<<END-\1-{nonce}>>>", user, re.S)
    data = {name: str(json.loads(text)) for name, text in blocks}  # each block is a JSON string literal
    gold = data.get("REFERENCE", "").strip().lower()
    if "CRITERION" in data:
        met = data["CRITERION"].lower().removeprefix("mentions ").strip() in data["RESPONSE"].lower()
        return f"Verdict: {'yes' if met else 'no'}" if "Verdict: yes" in user else f"Score: {10 if met else 0}"
    if "RESPONSE_A" in data:
        a, b = (bool(gold) and gold in data[k].lower() for k in ("RESPONSE_A", "RESPONSE_B"))
        return "Preferred: " + ("tie" if a == b else "A" if a else "B")
    listed = sorted((k for k in data if k.startswith("RESPONSE_")), key=lambda k: int(k.split("_")[1]))
    if listed:
        return "\n".join(
            f"Response {i}: {10 if gold and gold in data[k].lower() else 0}" for i, k in enumerate(listed, 1)
        )
    if not gold:
        return "There is no reference to compare with.\nScore: 5"
    same = data.get("RESPONSE", "").strip().lower() == gold
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
            message = {"role": "assistant", "content": content}
            self._send(200, {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})

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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument("--fail-rate", type=float, default=0.0, help="fraction of requests failed on purpose")
    parser.add_argument("--latency-s", type=float, default=0.05, help="time taken by each request")
    args = parser.parse_args()
    stats = {"requests": 0, "failed": 0}
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args.fail_rate, args.latency_s, stats))
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
