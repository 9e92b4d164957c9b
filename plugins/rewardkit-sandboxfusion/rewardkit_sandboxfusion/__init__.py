"""The ``code_sandboxfusion`` reward: the ``code`` reward's formats and grading, run on SandboxFusion.

SandboxFusion (bytedance/SandboxFusion) answers ``POST /run_code`` with ``{"status": "Success" |
"Failed" | "SandboxError", "run_result": {"status": "Finished" | "TimeLimitExceeded" | "Error",
"return_code", "stdout", "stderr", "execution_time"}, "compile_result": ...}``. "Failed" means the
program failed (graded); "SandboxError" and HTTP errors are infrastructure faults (null score).
Time limits there are wall-clock: the service does not report CPU time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rewardkit import RewardSpec, hookimpl, param
from rewardkit.rewards.code import make_code_reward
from rewardkit.rewards.code.executor import Run
from rewardkit.rewards.code.remote import RawResult, RemoteExecutor, RemoteParams, ServiceError

_LANGUAGES = {"python": "python", "cpp": "cpp"}


@dataclass(frozen=True)
class SandboxFusionParams(RemoteParams):
    url: str = param("http://127.0.0.1:8080", "base URL of the SandboxFusion service")
    concurrency: int = param(8, "requests in flight at once per worker process", ge=1)


class SandboxFusionExecutor(RemoteExecutor):
    name = "sandboxfusion"

    def execute(self, client: Any, source: str, stdin: str, run: Run) -> RawResult:
        body = {"code": source, "language": _LANGUAGES[run.language], "stdin": stdin,
                "run_timeout": run.limits.wall_backstop_s, "compile_timeout": 30,
                "memory_limit_MB": run.limits.memory_mb}  # fmt: skip
        response = client.post(f"{self.url}/run_code", json=body)
        response.raise_for_status()
        data = response.json()
        if data.get("status") not in ("Success", "Failed"):
            raise ServiceError(f"status {data.get('status')!r}: {data.get('message', '')}"[:300])
        compiled = data.get("compile_result") or {}
        failed = compiled.get("status") in ("Error", "TimeLimitExceeded")
        if failed or compiled.get("return_code") not in (0, None):  # a compile error: the program's fault
            return RawResult(None, "", str(compiled.get("stderr", ""))[-2000:])
        result = data.get("run_result")
        if not isinstance(result, dict):
            raise ServiceError(f"answer without run_result: {str(data)[:200]}")
        timed_out = result.get("status") == "TimeLimitExceeded"
        return RawResult(exit_code=None if timed_out else result.get("return_code"),
                         stdout=str(result.get("stdout") or ""), stderr=str(result.get("stderr") or ""),
                         timed_out=timed_out, wall_s=float(result.get("execution_time") or 0.0))  # fmt: skip


@functools.lru_cache(maxsize=8)
def _executor(url: str, concurrency: int, retries: int, timeout_s: float) -> SandboxFusionExecutor:
    return SandboxFusionExecutor(url, concurrency, retries, timeout_s)


def executor_for(params: Any) -> SandboxFusionExecutor:
    return _executor(params.url, params.concurrency, params.retries, params.request_timeout_s)


@hookimpl
def register_rewards(register: Callable[[RewardSpec], None]) -> None:
    register(make_code_reward(
        "code_sandboxfusion",
        "Like `code`, but programs run on a SandboxFusion service (POST /run_code).",
        SandboxFusionParams, executor_for,
    ))  # fmt: skip
