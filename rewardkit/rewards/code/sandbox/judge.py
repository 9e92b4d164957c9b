"""The trusted end of a call-based run: the test code and the verdict, in a process the candidate cannot reach.

The tests (HumanEval's ``check``, MBPP's asserts and setup, APPS' ``fn_name`` calls) run here with each
name the solution defined bound to a `Proxy`. Calling a proxy sends the arguments, as plain data, to the
candidate's process (`candidate.py`) and returns what comes back, decoded by `wire.decode`: fresh ints,
strs, lists... or an opaque `Handle` for an object that is not data (it can be passed back, called, or
asked for attributes, and compares equal only to itself). No object of the candidate's ever exists here.

Names the solution defines never shadow the builtins or the tests' own names, and a module the solution
imported is bound to the judge's own import of it (standard library only): ``math.isclose`` in a test is
always the real one. If the candidate's process ends, hangs up or sends anything malformed, every test
of the run fails: a program that ended its run proved nothing.
"""

from __future__ import annotations

import builtins
import importlib
import sys
import traceback
import types
from typing import Any, Protocol

try:
    from . import wire
except ImportError:  # run from source after wire's own text (remote grading, see `replay.py`)
    wire = types.SimpleNamespace(encode=encode, decode=decode, NotData=NotData, send=send, recv=recv)  # type: ignore[name-defined,assignment]  # noqa: F821

_BUILTIN_NAMES = frozenset(dir(builtins))
# Standard-library modules with side effects on import, never imported on a solution's say-so.
_NO_IMPORT = frozenset({"antigravity", "this", "turtle", "turtledemo", "tkinter", "idlelib", "webbrowser",
                        "pydoc", "pdb", "code", "site", "ensurepip", "venv"})  # fmt: skip


class CandidateGone(BaseException):  # a BaseException: the tests' own `except Exception` cannot swallow it
    """The candidate's process ended, hung up or broke the protocol: no test of the run can pass."""


class Link(Protocol):
    def ask(self, message: tuple[Any, ...]) -> Any: ...


class Handle:
    """An object that stayed in the candidate's process; only its number crossed."""

    __slots__ = ("_link", "_n")

    def __init__(self, n: int, link: Link) -> None:
        self._n, self._link = n, link

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _reply(self._link.ask(("call", self, args, kwargs)))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _reply(self._link.ask(("getattr", self, name)))

    def __bool__(self) -> bool:
        raise TypeError("an object returned by the solution is not data and has no truth value")

    def __repr__(self) -> str:
        return f"<object #{self._n} of the solution>"


class Proxy:
    """Stands for a callable the solution defined (function, class, lru_cache, partial, instance...)."""

    __slots__ = ("__name__", "_link")

    def __init__(self, name: str, link: Link) -> None:
        self.__name__, self._link = name, link

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _reply(self._link.ask(("call", self.__name__, args, kwargs)))

    def __repr__(self) -> str:
        return f"<solution's {self.__name__}>"


def handle_number(obj: Any) -> int:
    """`wire.encode`'s ``opaque`` on this side: only our own handles may travel back."""
    if type(obj) is Handle:
        return obj._n
    raise wire.NotData(f"a {type(obj).__name__} cannot be passed to the solution (plain data only)")


def _reply(reply: Any) -> Any:
    if type(reply) is tuple and len(reply) == 2 and reply[0] == "ok":
        return reply[1]
    if type(reply) is tuple and len(reply) == 3 and reply[0] == "raise" and type(reply[1]) is type(reply[2]) is str:
        raise _exception(reply[1], reply[2])
    raise CandidateGone("the solution's process sent a malformed answer")


def _exception(name: str, message: str) -> Exception:
    """The solution's exception as one of ours: a builtin class of that name, else RuntimeError."""
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(message)
        except Exception:
            pass
    return RuntimeError(f"{name}: {message}")


def bind(names: Any, link: Link) -> dict[str, Any]:
    """The test namespace: the solution's names as proxies, small data and re-imported modules."""
    ns: dict[str, Any] = {"__name__": "__test__", "__builtins__": builtins}
    if type(names) is not dict:
        return ns
    for name, kind in names.items():
        if type(name) is not str or not name.isidentifier() or name in _BUILTIN_NAMES or name.startswith("__"):
            continue
        if kind == "callable":
            ns[name] = Proxy(name, link)
        elif type(kind) is tuple and len(kind) == 2 and kind[0] == "data":
            ns[name] = kind[1]
        elif type(kind) is tuple and len(kind) == 2 and kind[0] == "module" and type(kind[1]) is str:
            module = _stdlib_module(kind[1])
            if module is not None:
                ns[name] = module
    return ns


def _stdlib_module(name: str) -> Any:
    top = name.split(".")[0]
    if top not in sys.stdlib_module_names or top in _NO_IMPORT or not all(p.isidentifier() for p in name.split(".")):
        return None
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def _why() -> str:
    return "".join(traceback.format_exc(limit=-3))[-1500:]


def run_tests(setup: str, tests: list[str], names: Any, link: Link) -> tuple[list[bool], bool, str]:
    """(one verdict per test, whether the candidate went away, the first failure's traceback)."""
    ns = bind(names, link)
    why = ""
    try:
        exec(compile(setup, "test_setup.py", "exec"), ns)
    except CandidateGone:
        return [False] * len(tests), True, "the program ended during the test setup"
    except BaseException:
        return [False] * len(tests), False, _why()
    passed: list[bool] = []
    for test in tests:
        try:
            exec(compile(test, "test.py", "exec"), ns)
            passed.append(True)
        except CandidateGone as exc:
            return [False] * len(tests), True, str(exc)
        except BaseException:
            why = why or _why()
            passed.append(False)
    return passed, False, why


def run_call(fn_name: str, args: list[Any], link: Link) -> dict[str, Any]:
    """APPS/TACO: call ``fn_name(*args)``; the value is compared with the expected one by the grader."""
    try:
        value = Proxy(fn_name, link)(*args)
    except CandidateGone:
        raise
    except BaseException as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
    if type(value) is Handle:
        return {"ok": False, "error": "the solution returned an object that is not data"}
    return {"ok": True, "value": jsonable(value)}


def jsonable(value: Any) -> Any:
    """Plain data as JSON for the grader (tuples as lists, sets sorted when they can be)."""
    if type(value) in (list, tuple):
        return [jsonable(v) for v in value]
    if type(value) in (set, frozenset):
        items = [jsonable(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if type(value) is dict:
        return {str(k): jsonable(v) for k, v in value.items()}
    if type(value) in (complex, bytes):
        return repr(value)
    return value


class PipeLink:
    """The local link: one frame out to the candidate's process, one frame back, per question."""

    def __init__(self, to_candidate: int, from_candidate: int) -> None:
        self.out, self.inp, self.gone = to_candidate, from_candidate, False

    def _read(self) -> Any:
        try:
            raw = wire.recv(self.inp)
            if raw is None:
                raise CandidateGone("the program ended while being tested")
            return wire.decode(raw, handle=lambda n: Handle(n, self))
        except wire.NotData as exc:
            raise CandidateGone(f"the program sent something that is not data ({exc})") from None
        except OSError as exc:
            raise CandidateGone(f"the program's channel broke ({exc})") from None

    def hello(self) -> Any:
        """The candidate's first frame: ``("ready", names)`` or ``("failed", why)``."""
        return self._read()

    def ask(self, message: tuple[Any, ...]) -> Any:
        if self.gone:
            raise CandidateGone("the program is gone")
        frame = wire.encode(message, opaque=handle_number)  # NotData: the test's own fault, raised
        try:
            wire.send(self.out, frame)
            return self._read()
        except CandidateGone:
            self.gone = True
            raise
        except OSError as exc:
            self.gone = True
            raise CandidateGone(f"the program's channel broke ({exc})") from None
