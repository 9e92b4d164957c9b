"""C++ behind the local executor: compile once per distinct program with g++, then run the binary.

The compiler runs in the sandbox too (Landlock, limits, own scratch), without the seccomp filter
because it forks its passes; the program then runs under the full filter, which lets it be exec'ed
but forbids fork. A compile error is the program's fault (score 0); a missing g++ is infrastructure.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from collections.abc import Callable
from typing import Any

from .executor import Limits, Outcome

COMPILE_LIMITS = Limits(cpu_s=30.0, wall_s=60.0, memory_mb=4096, output_bytes=256 << 20)
FLAGS = ("-O2", "-std=c++17", "-pipe")


class Compiler:
    """Compiles each distinct source once per executor; concurrent callers wait for the first."""

    def __init__(self, call: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self._call = call
        self._lock = threading.Lock()
        self._done: dict[str, tuple[str | None, Outcome | None]] = {}
        self._pending: dict[str, threading.Lock] = {}

    def binary(self, source: str, isolation: str) -> tuple[str | None, Outcome | None]:
        """(path of the binary, None), or (None, the outcome to report for every run of this program)."""
        key = hashlib.sha256(source.encode()).hexdigest()
        with self._lock:
            gate = self._pending.setdefault(key, threading.Lock())
        with gate:
            if key not in self._done:
                self._done[key] = self._compile(source, isolation)
            return self._done[key]

    def _compile(self, source: str, isolation: str) -> tuple[str | None, Outcome | None]:
        gxx = shutil.which("g++")
        if gxx is None:
            missing = "g++ not found: install it (apt-get install g++)"
            return None, Outcome(infra_error=missing, isolation=isolation)
        lim = COMPILE_LIMITS
        limits = {"cpu_s": lim.cpu_s, "wall_s": lim.wall_backstop_s, "memory_mb": lim.memory_mb,
                  "output_bytes": lim.output_bytes}  # fmt: skip
        reply = self._call({
            "kind": "run", "mode": "stdio", "code": "", "files": {"main.cpp": source}, "exec_path": gxx,
            "argv": [gxx, *FLAGS, "-o", "main", "main.cpp"], "allow_fork": True, "keep": "main",
            "limits": limits,
        })  # fmt: skip
        if reply.get("infra_error"):
            return None, Outcome(infra_error=str(reply["infra_error"]), isolation=isolation)
        if reply.get("exit_code") == 0 and reply.get("kept"):
            return str(reply["kept"]), None
        why = "compiler ran out of time" if reply.get("timed_out") else "compile error"
        stderr = f"{why}:\n{str(reply.get('stderr', ''))[-2000:]}"
        return None, Outcome(exit_code=reply.get("exit_code") or 1, stderr=stderr, isolation=isolation)
