"""A time budget for sympy work: a pool of persistent helper processes, each killed and replaced on overrun.

sympy and math-verify's parser are pure Python and may hold the GIL for minutes (``10^{10^{10^{10}}}``),
so neither a thread nor ``signal.alarm`` (main thread only) can bound them. Helpers are started on first
use (the fast path never starts one), up to `pool_size` per process (the cores this process may use), so
concurrent callers (verl and OpenRLHF call from many threads) do not queue behind one process. Each
helper answers one JSON line per request and is killed when a request overruns; a replacement is started
at once so its imports overlap other work. The budget is the helper's CPU time (``/proc/<pid>/stat``),
not wall-clock time, so a verdict does not flip to timeout when the machine is loaded; a wall-clock
backstop of `BACKSTOP` times the budget still bounds a helper that is starved or stuck (and is the only
bound where ``/proc`` is missing). Works the same from the main thread, worker threads, asyncio tasks and
pool processes (a forked child never reuses its parent's helpers).
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import threading
import time
from typing import Any

#: Starting the helper imports sympy and math-verify; that is not charged to any one answer.
STARTUP_S = 120.0
#: Wall-clock limit of one request, as a multiple of its CPU budget.
BACKSTOP = 5.0
#: How often the helper's CPU time is read while a request runs.
POLL_S = 0.02
_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01


class HelperError(RuntimeError):
    """The helper process could not be started or answered garbage (an infrastructure fault)."""


class BudgetExceeded(Exception):
    """A request ran past its budget; the helper was killed."""


class _Helper:
    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready = False
        self.buffer = b""

    def _start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rewardkit.rewards.math.helper"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        self.ready, self.buffer = False, b""

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def _readline(self, deadline: float) -> bytes | None:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                raise HelperError("the math helper process exited unexpectedly")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def _ensure_ready(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        if not self.ready:
            if self._readline(time.monotonic() + STARTUP_S) != b"ready":
                self.kill()
                raise HelperError(f"the math helper did not start in {STARTUP_S:.0f} s ({sys.executable})")
            self.ready = True

    def call(self, request: dict[str, Any], budget_s: float) -> dict[str, Any]:
        """One request; the caller holds this helper alone (see `_Pool`)."""
        self._ensure_ready()
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request).encode() + b"\n")
        self.proc.stdin.flush()
        line = self._await_reply(budget_s)
        if line is None:
            self.kill()
            self._start()  # the replacement imports while the caller moves on
            raise BudgetExceeded(f"symbolic comparison ran past its {budget_s:g} s budget")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def _await_reply(self, budget_s: float) -> bytes | None:
        """The reply line, or None once the helper has used ``budget_s`` of CPU (or the backstop passed)."""
        assert self.proc is not None
        start = _cpu_s(self.proc.pid)
        backstop = time.monotonic() + BACKSTOP * budget_s if start is not None else time.monotonic() + budget_s
        while True:
            line = self._readline(min(backstop, time.monotonic() + POLL_S))
            if line is not None:
                return line
            now = _cpu_s(self.proc.pid)
            if time.monotonic() >= backstop or (start is not None and now is not None and now - start > budget_s):
                return None


def _cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux ``/proc``), or None where that cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) * _TICK_S


def pool_size() -> int:
    """Helpers per process: ``REWARDKIT_MATH_HELPERS`` if set, else the cores this process may run on."""
    env = os.environ.get("REWARDKIT_MATH_HELPERS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class _Pool:
    """Up to `pool_size` helpers; a caller takes an idle one, starts one while under the size, or waits."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.size = pool_size()
        self.idle: list[_Helper] = []
        self.all: list[_Helper] = []
        self.cond = threading.Condition()

    def acquire(self) -> _Helper:
        with self.cond:
            while not self.idle and len(self.all) >= self.size:
                self.cond.wait()
            if self.idle:
                return self.idle.pop()
            helper = _Helper()
            self.all.append(helper)
            return helper

    def release(self, helper: _Helper) -> None:
        with self.cond:
            self.idle.append(helper)
            self.cond.notify()

    def discard(self, helper: _Helper) -> None:
        """A helper whose start failed: its slot goes back to the pool."""
        with self.cond:
            helper.kill()
            self.all.remove(helper)
            self.cond.notify()


_pool: _Pool | None = None
_guard = threading.Lock()


def _get_pool() -> _Pool:
    global _pool
    with _guard:
        if _pool is None or _pool.pid != os.getpid():
            _pool = _Pool()  # after fork, the parent's helpers (and their pipes) stay the parent's
        return _pool


def call(request: dict[str, Any], budget_s: float) -> dict[str, Any]:
    """Send one request to an idle helper of this process; raise `BudgetExceeded` past ``budget_s``."""
    pool = _get_pool()
    helper = pool.acquire()
    try:
        reply = helper.call(request, budget_s)
    except HelperError:
        pool.discard(helper)
        raise
    except BaseException:
        pool.release(helper)
        raise
    pool.release(helper)
    return reply


def helpers() -> list[Any]:
    """The live helper processes of this process (``subprocess.Popen``), for tests and diagnostics."""
    pool = _pool
    if pool is None or pool.pid != os.getpid():
        return []
    return [h.proc for h in list(pool.all) if h.proc is not None]


def warm_up(timeout_s: float = STARTUP_S, helpers_n: int = 1) -> None:
    """Start ``helpers_n`` helpers and let each finish warming its parser (see `helper`) now."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max(1, helpers_n)) as ex:
        list(ex.map(lambda _: call({"warmup": True}, timeout_s), range(max(1, helpers_n))))


def shutdown() -> None:
    """Stop this process's helpers (also run at exit)."""
    if _pool is not None and _pool.pid == os.getpid():
        for helper in list(_pool.all):
            helper.kill()


atexit.register(shutdown)
