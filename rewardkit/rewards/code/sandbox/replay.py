"""Call-based grading on a remote sandbox: the program runs there, the tests run here, data in between.

A remote service runs one program and returns its output; it cannot hold a conversation. So the tests
are replayed against recorded answers, on our side, in rounds:
1. discovery: the tests run with every assert relaxed (``assert x`` becomes ``x``, errors ignored) and
   every call answered by `PENDING`, to collect the calls they make;
2. the service runs the program once with that list (`candidate.run_calls`) and prints the answers as
   `wire` data; a program can print anything, but printing data is no more than returning it;
3. the tests run for real against the recorded answers; a call not seen before (its arguments came from
   an earlier answer) ends the pass with `NeedMore`, and another round starts with the longer list.
The verdict is computed here only, from decoded plain data. The program never receives the tests.

Standard library only: run from source in a fresh interpreter (see `remote.py`), fed JSON on stdin.
"""

from __future__ import annotations

import ast
import builtins
import json
import sys
import types
from typing import Any

try:
    from . import judge, wire
except ImportError:  # run from source, after wire's and judge's text
    wire = types.SimpleNamespace(encode=encode, decode=decode, NotData=NotData)  # type: ignore[name-defined,assignment]  # noqa: F821
    judge = types.SimpleNamespace(CandidateGone=CandidateGone, Handle=Handle, handle_number=handle_number,  # type: ignore[name-defined,assignment]  # noqa: F821
                                  run_tests=run_tests, run_call=run_call, bind=bind)  # type: ignore[name-defined]  # noqa: F821


class NeedMore(judge.CandidateGone):
    """A call whose answer is not recorded yet."""


class _Pending:
    """Stands for an answer not known yet, during discovery: absorbs whatever the tests do with it."""

    def __getattr__(self, name: str) -> Any:
        return self

    def __call__(self, *a: Any, **k: Any) -> Any:
        return self

    def __getitem__(self, key: Any) -> Any:
        return self

    def __iter__(self) -> Any:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return True

    def __index__(self) -> int:
        return 0

    def __float__(self) -> float:
        return 0.0

    __int__ = __index__
    __hash__ = object.__hash__


def _absorb(self: Any, *args: Any) -> Any:
    return self


for _op in ("eq", "ne", "lt", "le", "gt", "ge", "add", "radd", "sub", "rsub", "mul", "rmul", "truediv",
            "rtruediv", "floordiv", "rfloordiv", "mod", "rmod", "pow", "rpow", "neg", "pos", "abs", "and",
            "rand", "or", "ror", "xor", "rxor", "round", "contains", "invert"):  # fmt: skip
    setattr(_Pending, f"__{_op}__", _absorb)
PENDING = _Pending()


class TableLink:
    """Answers from the recorded table; an unknown call is noted, then answered by PENDING or NeedMore."""

    def __init__(self, answers: dict[str, str], discovering: bool) -> None:
        self.answers, self.discovering = answers, discovering
        self.needed: list[str] = []

    def ask(self, message: tuple[Any, ...]) -> Any:
        try:
            frame = wire.encode(message, opaque=judge.handle_number).decode("ascii")
        except wire.NotData:
            if self.discovering:
                return ("ok", PENDING)
            raise
        if frame in self.answers:
            try:
                return wire.decode(self.answers[frame].encode("ascii"), handle=lambda n: judge.Handle(n, self))
            except wire.NotData:
                raise judge.CandidateGone("the program printed something that is not data") from None
        if frame not in self.needed:
            self.needed.append(frame)
        if self.discovering:
            return ("ok", PENDING)
        raise NeedMore("a call not recorded yet")


class _Relax(ast.NodeTransformer):
    """``assert t, m`` -> ``try: t / except Exception: pass``: discovery goes on past failed checks."""

    def visit_Assert(self, node: ast.Assert) -> Any:
        handler = ast.ExceptHandler(type=ast.Name("Exception", ast.Load()), name=None, body=[ast.Pass()])
        return ast.Try(body=[ast.Expr(node.test)], handlers=[handler], orelse=[], finalbody=[])


def _relaxed(source: str) -> str:
    try:
        return ast.unparse(ast.fix_missing_locations(_Relax().visit(ast.parse(source))))
    except SyntaxError:
        return source


def _free_names(source: str) -> dict[str, Any]:
    """Names the tests read but never bind: during discovery each stands for a callable of the program."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    stored |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    stored |= {(a.asname or a.name).split(".")[0] for n in ast.walk(tree)
               if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}  # fmt: skip
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return {name: "callable" for name in loaded - stored - set(dir(builtins))}


def grade(job: dict[str, Any]) -> dict[str, Any]:
    """One pass (see the module docstring). ``job``: mode, setup, tests, fn_name, args, names (a frame or
    None), answers ({call frame: answer frame}), discover."""
    link = TableLink(dict(job.get("answers") or {}), bool(job.get("discover")))
    if job.get("names") is None:
        names: Any = _free_names(job.get("setup", "") + "\n" + "\n".join(job.get("tests", [])))
    else:
        try:
            names = wire.decode(job["names"].encode("ascii"), handle=lambda n: judge.Handle(n, link))
        except wire.NotData:
            return {"passed": [False] * len(job.get("tests", [])), "gone": True, "needed": [], "why": "bad names",
                    "results": [{"ok": False, "error": "the program printed something that is not data"}]}  # fmt: skip
    out: dict[str, Any]
    if job["mode"] == "call":
        try:
            out = {"results": [judge.run_call(job["fn_name"], list(job["args"]), link)], "gone": False}
        except judge.CandidateGone as exc:
            out = {"results": [{"ok": False, "error": str(exc)}], "gone": True}
    else:
        setup, tests = job.get("setup", ""), list(job.get("tests", []))
        if link.discovering:
            setup, tests = _relaxed(setup), [_relaxed(t) for t in tests]
        passed, gone, why = judge.run_tests(setup, tests, names, link)
        out = {"passed": passed, "gone": gone, "why": why}
    out["needed"] = link.needed
    return out


def main() -> None:
    job = json.loads(sys.stdin.read())
    out = grade(job)
    sys.stdout.write(json.dumps(out))
    sys.stdout.flush()
