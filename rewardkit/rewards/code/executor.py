"""The executor interface: what runs a program (local sandbox, remote service) and what comes back.

An executor takes `Run`s and returns one `Outcome` per run, in order. The grading (what counts as a
pass) happens outside, in `grade.py`, from the outcome alone, so every backend is judged the same way.

Modes:
- ``script``: run ``code``, then ``setup``, then each snippet of ``tests`` (HumanEval ``check(f)``, MBPP
  asserts); a test passes when its snippet returns. The tests run in a process of their own that calls
  into the program's process with plain data (see `sandbox/__init__.py`): one verdict per test.
- ``stdio``: run ``code`` as ``__main__`` with ``stdin``; the grader compares stdout.
- ``call``: run ``code``, call ``fn_name(*args)`` (from the judge's side, the same way) and return the
  result as plain data (APPS/TACO); the grader compares it with the expected value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Mode = Literal["script", "stdio", "call"]


@dataclass(frozen=True)
class Limits:
    cpu_s: float = 4.0
    wall_s: float = 0.0  # 0: a generous backstop derived from cpu_s (wall verdicts flip under load)
    memory_mb: int = 1024
    output_bytes: int = 4 << 20

    @property
    def wall_backstop_s(self) -> float:
        return self.wall_s if self.wall_s > 0 else 3.0 * self.cpu_s + 2.0


@dataclass(frozen=True)
class Run:
    code: str
    mode: Mode
    language: str = "python"
    setup: str = ""
    tests: tuple[str, ...] = ()
    stdin: str = ""
    fn_name: str = ""
    args: tuple[Any, ...] = ()
    limits: Limits = field(default_factory=Limits)
    row: int = -1  # runs of one row share it: once one ran past the wall clock, the others are skipped

    @property
    def split(self) -> bool:
        """Call-based: the tests run in a judge process, the program in another."""
        return self.mode in ("script", "call")


@dataclass(frozen=True)
class Outcome:
    """What happened. ``infra_error`` set means the executor failed, not the program (scored null)."""

    exit_code: int | None = None
    signal: int | None = None
    timed_out: bool = False
    cpu_s: float = 0.0
    wall_s: float = 0.0
    stdout: str = ""
    stderr: str = ""
    verified: bool = False  # the verdict was reached (the judge finished; a stdio run ended)
    results: tuple[Any, ...] = ()  # script: one bool per test; call: ({"ok", "value" | "error"},)
    infra_error: str | None = None
    isolation: str = ""

    @property
    def exited_cleanly(self) -> bool:
        return self.exit_code == 0 and self.signal is None and not self.timed_out


class Executor(Protocol):
    """Runs programs. ``isolation`` names what protects the machine (recorded in every score)."""

    name: str

    @property
    def isolation(self) -> str: ...

    def run_many(self, runs: Sequence[Run]) -> list[Outcome]: ...
