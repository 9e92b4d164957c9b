"""The untrusted end of a call-based run: it holds the solution and answers calls, nothing more.

Everything in this process belongs to the candidate, this module included (it can be patched, its frames
walked, its memory read). So it decides nothing: it runs the solution, tells the judge which names the
solution defined, and answers each ``("call", target, args, kwargs)`` with ``("ok", value)`` or
``("raise", exception name, message)``, all through `wire`. A value that is not plain data goes out as an
opaque handle. Whatever this process sends, the judge only ever holds plain data.

Standard library only: shipped, after `wire`, to remote sandboxes (see `run_calls`).
"""

from __future__ import annotations

import builtins
import collections
import sys
import traceback
import types
from typing import Any

try:
    from . import wire
except ImportError:  # shipped as source after wire's own text: its names are globals here
    wire = types.SimpleNamespace(encode=encode, decode=decode, NotData=NotData)  # type: ignore[name-defined,assignment]  # noqa: F821

_DATA_GLOBAL_LIMIT = 64 << 10  # module-level data larger than this is not offered to the tests
MARKER = "\n--rewardkit-calls--\n"


def solution(code: str) -> dict[str, Any]:
    ns: dict[str, Any] = {"__name__": "__solution__", "__builtins__": builtins}
    exec(compile(code, "solution.py", "exec"), ns)
    return ns


def describe(ns: dict[str, Any]) -> dict[str, Any]:
    """What the solution defined: ``"callable"``, ``("module", name)`` or ``("data", value)`` per name."""
    out: dict[str, Any] = {}
    for name, obj in list(ns.items()):
        if type(name) is not str or name.startswith("__"):
            continue
        if type(obj) is types.ModuleType:
            out[name] = ("module", str(getattr(obj, "__name__", "")))
        elif callable(obj):
            out[name] = "callable"
        else:
            try:
                if len(wire.encode(obj)) <= _DATA_GLOBAL_LIMIT:
                    out[name] = ("data", obj)
            except Exception:
                continue
    return out


def _honest(v: Any, depth: int = 0) -> Any:
    """Common standard-library containers as the plain data they stand for (a convenience for honest
    programs, not a defence: whatever this returns is still only data to the judge)."""
    kind = type(v)
    if depth > 64:
        return v
    if kind is list or kind is tuple or (isinstance(v, tuple) and hasattr(kind, "_fields")):
        items = [_honest(x, depth + 1) for x in v]
        return items if kind is list else tuple(items)
    if kind in (dict, collections.OrderedDict, collections.defaultdict, collections.Counter):
        return {_honest(k, depth + 1): _honest(x, depth + 1) for k, x in dict.items(v)}
    if kind is set or kind is frozenset:
        return kind(_honest(x, depth + 1) for x in v)
    return v


class Answerer:
    def __init__(self, ns: dict[str, Any]) -> None:
        self.ns = ns
        self.objects: list[Any] = []

    def _number(self, obj: Any) -> int:
        self.objects.append(obj)
        return len(self.objects) - 1

    def _resolve(self, target: Any) -> Any:
        if type(target) is not str:
            return target  # an object handed out earlier, passed back by the judge
        fn = self.ns.get(target)
        if fn is None and "Solution" in self.ns:  # LeetCode style: a method of class Solution
            fn = getattr(self.ns["Solution"](), target)
        if fn is None:
            raise NameError(f"the solution defines no {target!r}")
        return fn

    def answer(self, message: Any) -> Any:
        try:
            if message[0] == "getattr":
                return ("ok", getattr(message[1], message[2]))
            _, target, args, kwargs = message
            return ("ok", self._resolve(target)(*args, **kwargs))
        except BaseException as exc:
            traceback.print_exc()
            return ("raise", type(exc).__name__, _text(exc))

    def encode(self, reply: Any) -> bytes:
        try:
            return bytes(wire.encode(reply))
        except wire.NotData:
            try:
                return bytes(wire.encode(_honest(reply), opaque=self._number))
            except wire.NotData as exc:
                return bytes(wire.encode(("raise", "TypeError", f"the solution returned {exc}")))

    def decode(self, raw: bytes) -> Any:
        return wire.decode(raw, handle=self.objects.__getitem__)


def _text(exc: BaseException) -> str:
    try:
        return str(exc)[:300]
    except BaseException:
        return ""


def serve(code: str, inbox: int, outbox: int) -> None:
    """Local split run: report the solution's names, then answer calls until the judge hangs up."""
    try:
        ns = solution(code)
    except BaseException as exc:
        traceback.print_exc()
        wire.send(outbox, wire.encode(("failed", f"{type(exc).__name__}: {_text(exc)}")))
        return
    me = Answerer(ns)
    wire.send(outbox, me.encode(("ready", describe(ns))))
    while True:
        raw = wire.recv(inbox)
        if raw is None:
            return
        wire.send(outbox, me.encode(me.answer(me.decode(raw))))


def run_calls(code: str, frames: list[str]) -> None:
    """Remote run: answer a known list of calls (each one frame of `wire` text, decoded only when its
    turn comes, so it may name objects handed out by the calls before it), then print the answers after
    `MARKER`: ``("ready", names frame, [answer frames])`` or ``("failed", why)``."""
    try:
        ns = solution(code)
    except BaseException as exc:
        traceback.print_exc()
        out = wire.encode(("failed", f"{type(exc).__name__}: {_text(exc)}"))
    else:
        me = Answerer(ns)
        names = me.encode(describe(ns)).decode("ascii")
        answers = [me.encode(me.answer(me.decode(frame.encode("ascii")))).decode("ascii") for frame in frames]
        out = wire.encode(("ready", names, answers))
    sys.stdout.flush()
    sys.stdout.write(MARKER + bytes(out).decode("ascii") + "\n")
    sys.stdout.flush()
