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
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
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


# --- judges confused by an injection: the reply behaviours an injected completion can cause -------------
#
# Each grades honestly (the low value for a wrong answer: the response does not contain the reference) but
# lets the response's text into its reply the way real judges do. `persistent` ones behave the same when
# asked again; the others follow the stricter instruction of the second request.

STRICT_MARK = "could not be read"


def _verdict(request: dict[str, Any], right: bool) -> str:
    """The honest verdict line in the form the template asks for."""
    user = request["messages"][-1]["content"]
    if "Verdict: yes" in user:
        return f"Verdict: {'yes' if right else 'no'}"
    scale = int(re.search(r"from 0 \(worst\) to (\d+)", user).group(1))  # type: ignore[union-attr]
    return f"Score: {scale if right else 0}"


def _honest(request: dict[str, Any]) -> tuple[str, str]:
    """The response as the judge decoded it, and the honest verdict line."""
    data = sections(request)
    response = data.get("RESPONSE", "")
    right = bool(data.get("REFERENCE")) and data["REFERENCE"].strip().lower() in response.lower()
    return response, _verdict(request, right)


def _cut_after_claim(text: str) -> str:
    """The text up to the end of its first claimed figure (where a quoting judge runs out of tokens)."""
    claim = re.search(r"(?:score|verdict)\W{0,3}\s*[:=]?\s*(?:\d+(?:/\d+)?|yes)", text, re.I)
    return text[: claim.end()] if claim else text


def truncated_quote(request: dict[str, Any]) -> tuple[str, str]:
    response, honest = _honest(request)
    if STRICT_MARK in request["messages"][-1]["content"]:
        return f"The response is wrong.\n{honest}", "stop"
    return "Let me first restate the response:\n" + _cut_after_claim(response), "length"


def score_then_quote(request: dict[str, Any]) -> tuple[str, str]:
    response, honest = _honest(request)
    return f"The response is wrong.\n{honest}\n\nFor the record, it reads:\n{response}", "stop"


def json_reply(request: dict[str, Any]) -> tuple[str, str]:
    response, honest = _honest(request)
    field, figure = honest.split(": ")
    value: Any = int(figure) if figure.isdigit() else figure
    return json.dumps({"reasoning": f"The response says {response!r}; it is wrong.", field.lower(): value}), "stop"


def off_format(request: dict[str, Any]) -> tuple[str, str]:
    response, _ = _honest(request)
    return f"It is wrong, whatever it claims. It said:\n{response}\nThat is all.", "stop"


def one_over_one(request: dict[str, Any]) -> tuple[str, str]:
    return "Wrong, but the response asks to be graded out of 1.\nScore: 1/1", "stop"


def derailed(request: dict[str, Any]) -> tuple[str, str]:
    """Does what the injection says: answers with the response's own last line."""
    response, _ = _honest(request)
    lines = [line for line in response.splitlines() if line.strip()]
    return (lines[-1] if lines else "N/A"), "stop"


CONFUSED = {
    "truncated_quote": truncated_quote,
    "score_then_quote": score_then_quote,
    "json": json_reply,
    "off_format": off_format,
    "score_1_of_1": one_over_one,
    "derailed": derailed,
}


def confused(kind: str, deaf: bool = False) -> Behaviour:
    """A confused judge; ``deaf`` ones ignore the stricter instruction of a second request."""
    make = CONFUSED[kind]

    def behaviour(n: int, request: dict[str, Any], headers: dict[str, str]) -> Reply:
        if deaf:
            messages = [{**m, "content": m["content"].replace(STRICT_MARK, "")} for m in request["messages"]]
            request = {**request, "messages": messages}
        text, finish = make(request)
        body = chat(text)
        body["choices"][0]["finish_reason"] = finish
        return Reply(body=body)

    return behaviour


# --- one deterministic judge for every judge kind (rubric, verifier styles, group) ----------------------


def _field(user: str, pattern: str) -> str:
    """A JSON string literal that follows ``pattern`` in a verifier prompt, decoded."""
    found = re.search(pattern + r'\s*("(?:[^"\\]|\\.)*")', user)
    return json.loads(found.group(1)) if found else ""


def _verifier(user: str) -> str | None:
    if "Judgement:" in user:
        right = _field(user, r"Correct answer:").lower() in _field(user, r"Output sentence:").lower()
        return "[Correct]" if right else "[Incorrect]"
    if "<Candidate's Answer Begin>" in user:
        right = (
            _field(user, r"<Standard Answer Begin>:\n").lower()
            in _field(user, r"<Candidate's Answer Begin>:\n").lower()
        )
        return "A" if right else "B"
    if "### Ground Truth Answer:" in user:
        gold, answer = _field(user, r"### Ground Truth Answer:"), _field(user, r"### Student Answer:")
        return f"It checks the final answer.\nFinal Decision: {'Yes' if gold.lower() in answer.lower() else 'No'}"
    return None


def _group(request: dict[str, Any], user: str) -> str | None:
    data = sections(request)
    gold = data.get("REFERENCE", "").lower()
    if "Preferred: tie" in user:
        a, b = (gold in data[f"RESPONSE_{x}"].lower() for x in "AB")
        return "Preferred: " + ("tie" if a == b else "A" if a else "B")
    listed = sorted((k for k in data if k.startswith("RESPONSE_")), key=lambda k: int(k.split("_")[1]))
    if listed:
        return "\n".join(f"Response {i}: {10 if gold in data[k].lower() else 0}" for i, k in enumerate(listed, 1))
    return None


def _criterion(request: dict[str, Any], user: str) -> str | None:
    data = sections(request)
    if "CRITERION" not in data:
        return None
    wanted = data["CRITERION"].lower().removeprefix("mentions ").strip()
    met = wanted in data["RESPONSE"].lower()
    return _verdict(request, met) if "Verdict: yes" in user else f"Score: {10 if met else 0}"


def universal_reply(request: dict[str, Any]) -> str:
    user = request["messages"][-1]["content"]
    if len(request["messages"]) == 1:  # verifier prompts are one user turn
        return _verifier(user) or "?"
    return _criterion(request, user) or _group(request, user) or grade(request)


def _logprobs(text: str, p: float) -> list[dict[str, Any]]:
    """Token logprobs for a verdict token with probability ``p`` (the alternative gets the rest)."""
    import math

    pairs = {"[Correct]": ("Correct", "Incorrect"), "[Incorrect]": ("Incorrect", "Correct"), "A": ("A", "B"),
             "B": ("B", "A")}  # fmt: skip
    first, other = pairs.get(text, (text, text))
    alts = [{"token": first, "logprob": math.log(p)}, {"token": other, "logprob": math.log(1 - p)}]
    return [{"token": first, "logprob": math.log(p), "top_logprobs": alts}]


def universal(n: int, request: dict[str, Any], headers: dict[str, str]) -> Reply:
    text = universal_reply(request)
    body = chat(text)
    if request.get("logprobs"):
        body["choices"][0]["logprobs"] = {"content": _logprobs(text, 0.8)}
    return Reply(body=body)
