"""Shared machinery for remote executors (SandboxFusion, Piston plugins): same `Run`s, same grading.

A remote service only runs a program and returns its output, so nothing it prints can be a verdict.
stdin/stdout runs are compared here, as locally. Call-based runs (HumanEval, MBPP, APPS ``fn_name``)
send the program with `candidate.run_calls` and a list of calls; the service prints the answers as
plain data, and the tests run here against them (`sandbox/replay.py`, in a fresh local interpreter
with CPU and memory limits), in as many rounds as the tests need (usually two). The tests never leave
this machine; what the program prints is only ever data, worth no more than returning it.
Concurrency is bounded; only transport errors (connection refused or reset, timeouts) are retried;
anything else the service gets wrong is an infrastructure error, reported as null, never 0.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ...params import param
from . import CodeParams
from .executor import Outcome, Run
from .sandbox import candidate, judge, replay, wire

MAX_ROUNDS = 4
_FUTURE = re.compile(r"^from __future__ import annotations\n", re.M)


def _source(*modules: Any) -> str:
    """Modules' text run as one script: their ``from . import`` fall back to the names defined above."""
    return "\n".join(_FUTURE.sub("", inspect.getsource(m)) for m in modules)


_CANDIDATE_SOURCE = _source(wire, candidate)
_REPLAY_SOURCE = _source(wire, judge, replay) + "\nmain()\n"


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


def program_for(run: Run, frames: Sequence[str] = ()) -> tuple[str, str]:
    """The source and stdin to send for ``run`` (with these calls, for a call-based run)."""
    if run.mode == "stdio":
        return run.code, run.stdin
    return _CANDIDATE_SOURCE + f"\nrun_calls({run.code!r}, {list(frames)!r})\n", ""


def _answers(stdout: str, frames: Sequence[str]) -> tuple[str | None, dict[str, str]]:
    """(names frame, {call frame: answer frame}) from what the program printed; (None, {}) if nothing
    usable: an early exit, a crash, or output that is not our data."""
    at = stdout.rfind(candidate.MARKER)
    if at < 0:
        return None, {}
    try:
        printed = wire.decode(stdout[at + len(candidate.MARKER) :].strip().encode("ascii"))
    except (wire.NotData, UnicodeEncodeError):
        return None, {}
    if type(printed) is tuple and len(printed) == 3 and printed[0] == "ready" and type(printed[1]) is str:
        got = printed[2]
        if type(got) is list and len(got) == len(frames) and all(type(a) is str for a in got):
            return printed[1], dict(zip(frames, got, strict=True))
    return None, {}


def _limits(cpu_s: int, memory_mb: int) -> Any:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))

    return apply


def judge_locally(job: dict[str, Any], cpu_s: float) -> dict[str, Any] | None:
    """One replay pass in a fresh interpreter under limits; None if it did not finish (the program's
    answers made the tests too slow or too big: nothing passes)."""
    cpu = max(2, int(cpu_s) + 2)
    try:
        done = subprocess.run([os.path.realpath(sys.executable), "-I", "-S", "-c", _REPLAY_SOURCE],
                              input=json.dumps(job), capture_output=True, text=True, timeout=3 * cpu + 5,
                              preexec_fn=_limits(cpu, 2048), env={})  # fmt: skip
    except subprocess.TimeoutExpired:
        return None
    try:
        out = json.loads(done.stdout) if done.returncode == 0 else None
    except json.JSONDecodeError:
        return None
    return out if isinstance(out, dict) else None


def _tests_job(run: Run) -> dict[str, Any]:
    return {"mode": run.mode, "setup": run.setup, "tests": list(run.tests), "fn_name": run.fn_name,
            "args": list(run.args)}  # fmt: skip


def outcome_from(raw: RawResult, isolation: str) -> Outcome:
    return Outcome(exit_code=raw.exit_code, signal=raw.signal, timed_out=raw.timed_out, wall_s=raw.wall_s,
                   stdout=raw.stdout, stderr=raw.stderr[-8192:], verified=True, isolation=isolation)  # fmt: skip


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

    def _execute(self, source: str, stdin: str, run: Run) -> RawResult | Outcome:
        """One execution; an `Outcome` with ``infra_error`` when the service failed us."""
        import httpx

        for attempt in range(self.retries + 1):
            try:
                return self.execute(self._client, source, stdin, run)
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    return Outcome(infra_error=f"{self.name} at {self.url} unreachable: {exc!r}",
                                   isolation=self.isolation)  # fmt: skip
                time.sleep(min(2.0, 0.1 * 2**attempt))
            except (httpx.HTTPStatusError, ServiceError, ValueError, KeyError, TypeError) as exc:
                return Outcome(infra_error=f"{self.name} at {self.url}: {exc}", isolation=self.isolation)
        raise AssertionError("unreachable")

    def run_one(self, run: Run) -> Outcome:
        if not run.split:
            raw = self._execute(*program_for(run), run)
            return raw if isinstance(raw, Outcome) else outcome_from(raw, self.isolation)
        return self._run_split(run)

    def _run_split(self, run: Run) -> Outcome:
        """Rounds of: the tests here (discovering or replaying), the program there with the calls so far."""
        job = _tests_job(run)
        frames: list[str] = []
        if run.mode == "call":
            frames = [wire.encode(("call", run.fn_name, tuple(run.args), {})).decode("ascii")]
        else:
            found = judge_locally({**job, "discover": True, "names": None}, run.limits.cpu_s)
            frames = list(found["needed"]) if found else []
        raw = RawResult(None, "", "")
        for _ in range(MAX_ROUNDS):
            got = self._execute(*program_for(run, frames), run)
            if isinstance(got, Outcome):
                return got
            raw = got
            names, answers = _answers(raw.stdout, frames)
            if names is None:  # the program ended, crashed or printed garbage: nothing passes
                return self._finished(raw, run, None)
            verdict = judge_locally({**job, "names": names, "answers": answers}, run.limits.cpu_s)
            if verdict is None or not verdict.get("needed"):
                return self._finished(raw, run, verdict)
            frames += [f for f in verdict["needed"] if f not in frames]
        return self._finished(raw, run, None, "the tests needed more rounds than allowed")

    def _finished(self, raw: RawResult, run: Run, verdict: dict[str, Any] | None, why: str = "") -> Outcome:
        results: tuple[Any, ...] = ()
        if verdict is not None and not verdict.get("gone"):
            results = tuple(verdict.get("results") or verdict.get("passed") or ())
        stdout = raw.stdout[: raw.stdout.rfind(candidate.MARKER)] if candidate.MARKER in raw.stdout else raw.stdout
        stderr = (raw.stderr[-4000:] + "\n" + str((verdict or {}).get("why", "")) + why).strip()
        ok_exit = raw.exit_code == 0 and not raw.timed_out
        return Outcome(exit_code=0 if ok_exit else raw.exit_code, signal=raw.signal, timed_out=raw.timed_out,
                       wall_s=raw.wall_s, stdout=stdout, stderr=stderr, verified=verdict is not None,
                       results=results, isolation=self.isolation + "+split")  # fmt: skip

    def run_many(self, runs: Sequence[Run]) -> list[Outcome]:
        return list(self._pool.map(self.run_one, runs))
