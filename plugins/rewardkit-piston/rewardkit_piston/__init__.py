"""The ``code_piston`` reward: the ``code`` reward's formats and grading, run on Piston.

Piston (engineer-man/piston) answers ``POST /api/v2/execute`` with ``{"language", "version",
"run": {"stdout", "stderr", "code", "signal", "status"?}, "compile"?: {...}}``; a 4xx/5xx answer
carries ``{"message": ...}`` and is an infrastructure fault (null score), as are transport errors
after the retries. Piston's limits are wall-clock.
"""

from __future__ import annotations

import functools
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rewardkit import RewardSpec, hookimpl, param
from rewardkit.rewards.code import make_code_reward
from rewardkit.rewards.code.executor import Run
from rewardkit.rewards.code.remote import RawResult, RemoteExecutor, RemoteParams, ServiceError

_FILES = {"python": "main.py", "cpp": "main.cpp"}
_LANGUAGES = {"python": "python", "cpp": "c++"}


@dataclass(frozen=True)
class PistonParams(RemoteParams):
    url: str = param("http://127.0.0.1:2000", "base URL of the Piston service")
    version: str = param("*", "language version to ask Piston for ('*' = any installed)")


class PistonExecutor(RemoteExecutor):
    name = "piston"

    def __init__(self, url: str, concurrency: int, retries: int, timeout_s: float, version: str) -> None:
        super().__init__(url, concurrency, retries, timeout_s)
        self.version = version

    def execute(self, client: Any, source: str, stdin: str, run: Run) -> RawResult:
        body = {"language": _LANGUAGES[run.language], "version": self.version,
                "files": [{"name": _FILES[run.language], "content": source}], "stdin": stdin,
                "run_timeout": int(run.limits.wall_backstop_s * 1000), "compile_timeout": 30000,
                "run_memory_limit": run.limits.memory_mb << 20}  # fmt: skip
        response = client.post(f"{self.url}/api/v2/execute", json=body)
        if response.status_code >= 400:
            message = response.json().get("message", "") if response.content else ""
            raise ServiceError(f"HTTP {response.status_code}: {message}"[:300])
        data = response.json()
        compiled = data.get("compile")
        if isinstance(compiled, dict) and compiled.get("code") not in (0, None):
            return RawResult(None, "", str(compiled.get("stderr", ""))[-2000:])  # a compile error
        result = data.get("run")
        if not isinstance(result, dict):
            raise ServiceError(f"answer without 'run': {str(data)[:200]}")
        sig = _signal_number(result.get("signal"))
        timed_out = result.get("status") == "TO" or (sig == signal.SIGKILL and result.get("code") is None)
        return RawResult(exit_code=result.get("code"), stdout=str(result.get("stdout") or ""),
                         stderr=str(result.get("stderr") or ""), timed_out=timed_out, signal=sig)  # fmt: skip


def _signal_number(name: Any) -> int | None:
    if not name:
        return None
    try:
        return int(signal.Signals[str(name)])
    except KeyError:
        return int(signal.SIGKILL)


@functools.lru_cache(maxsize=8)
def _executor(url: str, concurrency: int, retries: int, timeout_s: float, version: str) -> PistonExecutor:
    return PistonExecutor(url, concurrency, retries, timeout_s, version)


def executor_for(params: Any) -> PistonExecutor:
    return _executor(params.url, params.concurrency, params.retries, params.request_timeout_s, params.version)


@hookimpl
def register_rewards(register: Callable[[RewardSpec], None]) -> None:
    register(make_code_reward(
        "code_piston",
        "Like `code`, but programs run on a Piston service (POST /api/v2/execute).",
        PistonParams, executor_for,
    ))  # fmt: skip
