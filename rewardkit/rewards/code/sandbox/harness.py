"""Runs a stdin/stdout program inside the sandboxed child as ``__main__``.

Nothing here decides a verdict: the grader compares the program's stdout and exit status, outside the
program's process. (Call-based formats never run tests in the program's process: see `judge.py`.)
"""

from __future__ import annotations

import builtins
import os
import sys
import traceback

_exit = os._exit


def run_stdio(code: str) -> int:
    """Run the program as ``__main__``; its exit status as a process would have it."""
    try:
        exec(compile(code, "solution.py", "exec"), {"__name__": "__main__", "__builtins__": builtins})
        return 0
    except SystemExit as exc:
        if exc.code is None or exc.code == 0:
            return 0
        if not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
        return exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        return 1


def flush_and_exit(status: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            status = status or 1
    _exit(status)


def main(code: str) -> None:
    flush_and_exit(run_stdio(code))
