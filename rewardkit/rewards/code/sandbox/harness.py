"""Runs inside the sandboxed child (or, as source text, inside a remote sandbox): the trusted end of a run.

Success is proven positively: the harness writes the run's secret token followed by its results only
after its own code ran to the end. A program that leaves early (``sys.exit``, ``os._exit``, a signal, an
atexit or excepthook trick) leaves no token, and its run proves nothing. What the program returns to a
test passes through `plain`, so objects that compare equal to anything never reach an assert.

Standard library only: this module is also shipped verbatim to remote sandboxes.
"""

from __future__ import annotations

import builtins
import json
import os
import sys
import traceback
import types
from typing import Any

_PLAIN = (int, float, complex, str, bytes, bool, type(None), range)
_CMP = ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__len__")
_PRISTINE_BUILTINS = dict(builtins.__dict__)
_write, _exit, _dumps = os.write, os._exit, json.dumps


def plain(value: Any) -> Any:
    """``value`` rebuilt from built-in types only; raise TypeError for anything that could fake equality."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind in (list, tuple, set, frozenset):
        return kind(plain(v) for v in value)
    if kind is dict:
        return {plain(k): plain(v) for k, v in value.items()}
    if all(getattr(kind, name, None) is getattr(object, name, None) for name in _CMP):
        return value  # compares by identity only: nothing to fake
    raise TypeError(f"the solution returned a {kind.__name__}, which overrides comparison; return plain data")


def _guard(fn: Any) -> Any:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        return plain(fn(*args, **kwargs))

    guarded.__name__ = getattr(fn, "__name__", "candidate")
    return guarded


def _clean_state() -> None:
    # Hooks the program may have left to skip or rewrite the tests' own code.
    sys.settrace(None)
    sys.setprofile(None)
    sys.excepthook = sys.__excepthook__
    builtins.__dict__.update(_PRISTINE_BUILTINS)


def _solution(code: str, name: str) -> dict[str, Any]:
    ns: dict[str, Any] = {"__name__": name, "__builtins__": builtins}
    exec(compile(code, "solution.py", "exec"), ns)
    return ns


def run_script(code: str, setup: str, tests: list[str]) -> list[bool]:
    """Run the solution, then the test setup and each test in a namespace the solution never saw."""
    try:
        ns = _solution(code, "__solution__")
    except BaseException:
        traceback.print_exc()
        return [False] * len(tests)
    _clean_state()
    test_ns: dict[str, Any] = {"__name__": "__test__", "__builtins__": dict(_PRISTINE_BUILTINS)}
    for name, obj in ns.items():
        is_own = isinstance(obj, types.FunctionType) and obj.__globals__ is ns
        test_ns[name] = _guard(obj) if is_own else obj
    try:
        exec(compile(setup, "test_setup.py", "exec"), test_ns)
    except BaseException:
        traceback.print_exc()
        return [False] * len(tests)
    passed = []
    for test in tests:
        try:
            exec(compile(test, "test.py", "exec"), test_ns)
            passed.append(True)
        except BaseException:
            traceback.print_exc()
            passed.append(False)
        _clean_state()
    return passed


def run_call(code: str, fn_name: str, args: list[Any]) -> dict[str, Any]:
    """Call ``fn_name(*args)`` (a function, or a method of LeetCode's ``class Solution``)."""
    try:
        ns = _solution(code, "__solution__")
        fn = ns.get(fn_name)
        if fn is None and "Solution" in ns:
            fn = getattr(ns["Solution"](), fn_name)
        if fn is None:
            return {"ok": False, "error": f"no function named {fn_name!r}"}
        value = plain(fn(*args))
        return {"ok": True, "value": _jsonable(value)}
    except BaseException as exc:
        traceback.print_exc()
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}


def _jsonable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [_jsonable(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (complex, bytes, range)):
        return repr(value)
    return value


def run_stdio(code: str) -> int:
    """Run the program as ``__main__``; its exit status as a process would have it."""
    try:
        _solution(code, "__main__")
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


def main(request: dict[str, Any], token: str, result_fd: int, prefix: bytes = b"") -> None:
    """Run one request and end the process; the token is written last, after the program is done.

    ``prefix`` separates the token from the program's own output when both share stdout (remote runs).
    """
    mode = request["mode"]
    status = 0
    results: Any = []
    if mode == "script":
        results = run_script(request["code"], request.get("setup", ""), list(request.get("tests", ())))
    elif mode == "call":
        results = [run_call(request["code"], request["fn_name"], list(request.get("args", ())))]
    else:
        status = run_stdio(request["code"])
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            status = status or 1
    _clean_state()
    _write(result_fd, prefix + (token + "\n" + _dumps(results)).encode())
    _exit(status)
