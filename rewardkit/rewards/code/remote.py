"""Shared machinery for remote executors (SandboxFusion, Piston plugins): same `Run`s, same grading.

A remote service only runs a program and returns its output. For ``script`` and ``call`` runs the
program sent is the harness (`sandbox/harness.py`, verbatim) followed by the request; the per-run token
arrives on the first line of stdin and the harness prints it, then its results, after the program is
done. Concurrency is bounded; only transport errors (connection refused or reset, timeouts) are retried;
anything else the service gets wrong is an infrastructure error, reported as null, never 0.
"""

from __future__ import annotations

import inspect
import json
import secrets
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ...params import param
from . import CodeParams
from .executor import Outcome, Run
from .sandbox import harness

_RUNNER = """
import json as _json, sys as _sys
_token = _sys.stdin.readline().strip()
main(_json.loads({request!r}), _token, 1, b"\\n")
"""


@dataclass(frozen=True)
class RemoteParams(CodeParams):
    """The parameters every remote sandbox shares; a provider adds its ``url`` and anything of its own."""

    concurrency: int = param(4, "requests in flight at once per worker process", ge=1)
    retries: int = param(2, "retries after a transport error (never after an answer)", ge=0)
    request_timeout_s: float = param(60.0, "HTTP timeout per request, seconds", gt=0)


class ServiceError(RuntimeError):
    """The service answered, but not with a run (bad request, internal error): not retried."""


@dataclass(frozen=True)
class RawResult:
    """What a service reports about one execution."""

    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool = False
    signal: int | None = None
    wall_s: float = 0.0


def program_for(run: Run, token: str) -> tuple[str, str]:
    """The source and stdin to send for ``run``."""
    if run.mode == "stdio":
        return run.code, run.stdin
    request = {"mode": run.mode, "code": run.code, "setup": run.setup, "tests": list(run.tests),
               "fn_name": run.fn_name, "args": list(run.args)}  # fmt: skip
    source = inspect.getsource(harness) + _RUNNER.format(request=json.dumps(request))
    return source, token + "\n"


def outcome_from(raw: RawResult, run: Run, token: str, isolation: str) -> Outcome:
    stdout, verified, results = raw.stdout, False, ()
    if run.mode != "stdio":
        at = stdout.rfind("\n" + token + "\n")
        if at >= 0:
            try:
                results = tuple(json.loads(stdout[at + len(token) + 2 :]))
                verified = True
            except (json.JSONDecodeError, TypeError):
                pass
            stdout = stdout[:at]
    return Outcome(exit_code=raw.exit_code, signal=raw.signal, timed_out=raw.timed_out, wall_s=raw.wall_s,
                   stdout=stdout, stderr=raw.stderr[-8192:], verified=verified, results=results,
                   isolation=isolation)  # fmt: skip


class RemoteExecutor:
    """Base class: subclasses set ``name`` and implement `execute` with one HTTP call."""

    name = "remote"

    def __init__(self, url: str, concurrency: int, retries: int, timeout_s: float) -> None:
        import httpx

        self.url, self.retries, self.timeout_s = url.rstrip("/"), retries, timeout_s
        self._client = httpx.Client(timeout=timeout_s, limits=httpx.Limits(max_connections=concurrency))
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"rewardkit-{self.name}")
        self._lock = threading.Lock()

    @property
    def isolation(self) -> str:
        return f"remote:{self.name}"

    def execute(self, client: Any, source: str, stdin: str, run: Run) -> RawResult:
        raise NotImplementedError

    def run_one(self, run: Run) -> Outcome:
        import httpx

        token = secrets.token_hex(16)
        source, stdin = program_for(run, token)
        for attempt in range(self.retries + 1):
            try:
                raw = self.execute(self._client, source, stdin, run)
                return outcome_from(raw, run, token, self.isolation)
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    return Outcome(infra_error=f"{self.name} at {self.url} unreachable: {exc!r}",
                                   isolation=self.isolation)  # fmt: skip
                time.sleep(min(2.0, 0.1 * 2**attempt))
            except (httpx.HTTPStatusError, ServiceError, ValueError, KeyError, TypeError) as exc:
                return Outcome(infra_error=f"{self.name} at {self.url}: {exc}", isolation=self.isolation)
        raise AssertionError("unreachable")

    def run_many(self, runs: Sequence[Run]) -> list[Outcome]:
        return list(self._pool.map(self.run_one, runs))
