"""The forked children: lock down layer by layer, then run the program (or, for the judge, the tests).

Order matters: descriptors and limits first (plain syscalls), then Landlock, then the uid switch (needs
CAP_SETUID) or dropping every capability, then the parent-death signal (a uid change clears it), then
seccomp last (it forbids several of the calls above). The pids cgroup needs no step here: the fork
server lives in it, and the kernel puts every fork in its parent's cgroup (a child's own move into it
cost a run 0.4-3.6 ms: the move waits for an RCU grace period). The last
descriptor reports setup and is closed before any untrusted code runs, so a program cannot fake an
infrastructure failure (which would mask its score instead of failing it).

What is the same for every run is built once by the fork server (`prepare`), not in each fork: the two
Landlock rulesets, the environment, the standard streams, the empty capability bounding set. A fork pays
for every page it first writes, and building these in each child cost it ~2 ms of a ~3 ms lock-down
(measured per stage in forks of a server-sized process). Each child still applies every layer itself.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import sys
from typing import Any

from . import candidate, harness, judge, landlock, limits, reaping, seccomp

STDIN, STDOUT, STDERR = 0, 1, 2
_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
_RULES_FD_FLOOR = 200  # prepared rulesets live at or above this, clear of the 0..n a child dup2s onto


class Prepared:
    """Per fork server (and per scratch directory: a Landlock rule binds the directory's inode).

    ``program_rules`` lets a program read the interpreter and libraries and write its scratch directory;
    ``judge_rules`` the same reads and no writes. The streams are made here on fds 0-2 and never used by
    the server, so their buffers are empty at every fork; each child's fds 0-2 are its own files.
    """

    def __init__(self, config: dict[str, Any], scratch: str) -> None:
        self.scratch = scratch
        self.program_rules = self.judge_rules = -1
        if config["landlock"]:
            abi, reads = config["landlock"], config["read_paths"]
            self.program_rules = _high(landlock.ruleset(reads, [scratch, "/dev/null"], abi))
            self.judge_rules = _high(landlock.ruleset(reads, ["/dev/null"], abi))
        self.streams = (
            open(STDIN, encoding="utf-8", errors="replace", closefd=False),  # noqa: SIM115
            open(STDOUT, "w", encoding="utf-8", closefd=False),  # noqa: SIM115
            open(STDERR, "w", encoding="utf-8", closefd=False),  # noqa: SIM115
        )
        # The interpreter's own streams, held here so that a child replacing them does not free them:
        # freeing three text wrappers (their buffers, their raw files) wrote to ~40 more inherited pages,
        # ~0.2 ms of every fork (measured). They wrap the server's fds 0-2 (/dev/null), nothing else.
        self.replaced = (sys.stdin, sys.stdout, sys.stderr, sys.__stdin__, sys.__stdout__, sys.__stderr__)
        # Every process forked from here inherits these; the server itself reads no variable of its own.
        os.environ.clear()
        os.environ.update(_ENV, HOME=scratch, TMPDIR=scratch)

    def close(self) -> None:
        for fd in (self.program_rules, self.judge_rules):
            if fd >= 0:
                os.close(fd)


_prepared: Prepared | None = None


def prepare(config: dict[str, Any], scratch: str) -> Prepared:
    """Build the shared part of every lock-down, for runs in ``scratch`` (the server calls this)."""
    global _prepared
    if _prepared is not None:
        _prepared.close()
    _prepared = Prepared(config, scratch)
    return _prepared


def _high(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, _RULES_FD_FLOOR)
    os.close(fd)
    return moved


def _report_and_close(status: int, text: bytes) -> None:
    os.write(status, text)
    os.close(status)


def _enter(config: dict[str, Any], lim: dict[str, Any], fds: list[int], scratch: str | None,
           fork_ok: bool = False) -> int:  # fmt: skip
    """Lock down; return the status descriptor (the last one), still open."""
    _lock_down(config, lim, fds, scratch, fork_ok)
    return len(fds) - 1


def run_program(config: dict[str, Any], request: dict[str, Any], fds: list[int], scratch: str) -> None:
    """stdin/stdout runs: fds = stdin, stdout, stderr, status. The program's exit status is the process's."""
    try:
        status = _enter(config, request["limits"], fds, scratch,
                        fork_ok=bool(request.get("allow_fork") or request.get("exec_path")))  # fmt: skip
        if request.get("exec_path"):
            _exec(request, status, filtered=config["seccomp"] and not request.get("allow_fork"))
    except BaseException as exc:
        os.write(len(fds) - 1, f"{type(exc).__name__}: {exc}".encode())
        os._exit(99)
    _report_and_close(status, b"ok")
    harness.main(request["code"])


def run_candidate(config: dict[str, Any], request: dict[str, Any], fds: list[int], scratch: str) -> None:
    """Split runs, untrusted end: fds = stdin, stdout, stderr, calls in, answers out, status."""
    try:
        status = _enter(config, request["limits"], fds, scratch)
    except BaseException as exc:
        os.write(len(fds) - 1, f"{type(exc).__name__}: {exc}".encode())
        os._exit(99)
    _report_and_close(status, b"ok")
    try:
        candidate.serve(request["code"], 3, 4)
    finally:
        harness.flush_and_exit(0)


def run_judge(config: dict[str, Any], tests: dict[str, Any], lim: dict[str, Any], fds: list[int]) -> None:
    """Split runs, trusted end: fds = stdin, stdout, stderr, to candidate, from candidate, report, status.

    Locked down like a program (the tests are dataset code), but in a Landlock domain of its own: the
    candidate's scope keeps it from signalling this process, its seccomp filter from touching it.
    """
    try:
        status = _enter(config, lim, fds, None)
    except BaseException as exc:
        os.write(len(fds) - 1, f"{type(exc).__name__}: {exc}".encode())
        os._exit(99)
    _report_and_close(status, b"ok")
    import json

    link = judge.PipeLink(3, 4)
    report: dict[str, Any]
    try:
        hello = link.hello()
    except judge.CandidateGone as exc:
        hello = ("failed", str(exc))
    n = len(tests.get("tests") or [1])
    if not (type(hello) is tuple and len(hello) == 2 and hello[0] == "ready"):
        why = str(hello[1]) if type(hello) is tuple and len(hello) == 2 else "no answer"
        report = {"passed": [False] * n, "gone": True, "why": f"the solution did not load: {why}"[:1500],
                  "results": [{"ok": False, "error": why[:500]}]}  # fmt: skip
    elif tests["mode"] == "call":
        try:
            report = {"results": [judge.run_call(tests["fn_name"], list(tests["args"]), link)], "gone": False}
        except judge.CandidateGone as exc:
            report = {"results": [{"ok": False, "error": str(exc)}], "gone": True}
    else:
        passed, gone, why = judge.run_tests(tests["setup"], list(tests["tests"]), hello[1], link)
        report = {"passed": passed, "gone": gone, "why": why}
    os.write(5, json.dumps(report).encode())
    os._exit(0)


def _lock_down(config: dict[str, Any], lim: dict[str, Any], fds: list[int], scratch: str | None,
               fork_ok: bool) -> None:  # fmt: skip
    prepared = _prepared
    if prepared is None or (scratch is not None and scratch != prepared.scratch):
        raise RuntimeError("lock-down not prepared for this scratch directory")
    os.setsid()
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 20) for fd in fds]
    for target, fd in enumerate(high):
        os.dup2(fd, target, inheritable=True)
    rules = prepared.program_rules if scratch else prepared.judge_rules
    if rules >= 0:  # everything else goes: the other ruleset, the server's pipes, the copies above
        os.closerange(len(fds), rules)
        os.closerange(rules + 1, 65536)
    else:
        os.closerange(len(fds), 65536)
    os.chdir(scratch or "/")
    sys.stdin, sys.stdout, sys.stderr = sys.__stdin__, sys.__stdout__, sys.__stderr__ = prepared.streams  # type: ignore[misc]
    sys.argv = ["solution.py"]
    limits.apply(lim["cpu_s"], lim["memory_mb"], lim["output_bytes"], nproc=config["nproc"])
    if rules >= 0:
        landlock.restrict_with(rules)
        os.close(rules)
    uid = config["uid"]
    if uid and scratch:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    elif os.geteuid() == 0:
        limits.clear_capabilities()  # the bounding set was emptied once, by the server
    reaping.die_with_parent()
    if os.getppid() in (0, 1) and not config.get("pid1"):
        os._exit(98)  # the server died between fork and here
    # A compiler forks its passes: compile requests run without the filter (Landlock and limits hold).
    # A compiled program gets its filter in `_exec`, tied to the one exec the harness makes.
    if config["seccomp"] and not fork_ok:
        seccomp.install(os.getpid())


def _exec(request: dict[str, Any], status: int, filtered: bool) -> None:
    """Compiled languages: the binary replaces this process. Setup is reported done just before."""
    path = request["exec_path"].encode()
    argv = [a.encode() for a in request.get("argv") or [request["exec_path"]]]
    env = [f"{k}={v}".encode() for k, v in os.environ.items()]
    path_buf = ctypes.create_string_buffer(path)
    argv_c = (ctypes.c_char_p * (len(argv) + 1))(*argv, None)
    env_c = (ctypes.c_char_p * (len(env) + 1))(*env, None)
    if filtered:
        seccomp.install(os.getpid(), exec_ptr=ctypes.addressof(path_buf))
    _report_and_close(status, b"ok")
    ctypes.CDLL(None, use_errno=True).execve(path_buf, argv_c, env_c)
    os.write(STDERR, f"exec failed: {os.strerror(ctypes.get_errno())}\n".encode())
    os._exit(127)
