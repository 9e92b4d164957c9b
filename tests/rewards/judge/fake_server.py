"""A real OpenAI-compatible HTTP server on 127.0.0.1 for the judge tests (stdlib, a thread per request).

Its behaviour is a function of the request number and the parsed request, so each test scripts exactly
the failures it needs; it counts requests and the most that were in flight at once.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict: sent as JSON; str or bytes: sent as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def chat(content: str) -> dict[str, Any]:
    """A chat-completions response carrying ``content``."""
    return {
        "id": "x",
        "object": "chat.completion",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
    }


def sections(request: dict[str, Any]) -> dict[str, str]:
    """The delimited data in a rendered judge prompt, by marker name (TASK, RESPONSE, REFERENCE)."""
    system, user = (m["content"] for m in request["messages"])
    nonce = re.search(r"<<<RESPONSE-([0-9a-f]+)>>>", system).group(1)  # type: ignore[union-attr]
    found = re.findall(rf"<<<(\w+)-{nonce}>>>\n(.*?)\n<<<END-\1-{nonce}>>>", user, re.S)
    return {name: json.loads(text) for name, text in found}  # each block is one JSON string literal


def grade(request: dict[str, Any]) -> str:
    """A deterministic judge: 9 when the response equals the reference, 2 when not, 5 with no reference."""
    data = sections(request)
    if "REFERENCE" not in data:
        return "No reference was given.\nScore: 5"
    if data["RESPONSE"].strip() == data["REFERENCE"].strip():
        return "The response matches the reference.\nScore: 9"
    return "The response disagrees with the reference.\n**Score:** 2"


def grading(n: int, request: dict[str, Any], headers: dict[str, str]) -> Reply:
    return Reply(body=chat(grade(request)))


Behaviour = Callable[[int, dict[str, Any], dict[str, str]], Reply]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 would serialise a burst of connections


class FakeJudge:
    def __init__(self, behaviour: Behaviour = grading, port: int = 0) -> None:
        self.behaviour = behaviour
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self.server = _Server(("127.0.0.1", port), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        judge = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with judge._lock:
                    n = len(judge.requests)
                    judge.requests.append(body)
                    judge.headers.append(dict(self.headers))
                    judge.in_flight += 1
                    judge.max_in_flight = max(judge.max_in_flight, judge.in_flight)
                try:
                    reply = judge.behaviour(n, body, dict(self.headers))
                    time.sleep(reply.delay)
                    self._send(reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)
                finally:
                    with judge._lock:
                        judge.in_flight -= 1

            def _send(self, reply: Reply) -> None:
                raw = reply.body
                data = (
                    json.dumps(raw).encode()
                    if isinstance(raw, dict)
                    else raw.encode()
                    if isinstance(raw, str)
                    else raw or b""
                )
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


@contextmanager
def serve(behaviour: Behaviour = grading, port: int = 0) -> Iterator[FakeJudge]:
    judge = FakeJudge(behaviour, port)
    thread = threading.Thread(target=judge.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield judge
    finally:
        judge.server.shutdown()
        judge.server.server_close()


def dead_url() -> str:
    """A loopback URL where nothing listens (the port was just bound and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
