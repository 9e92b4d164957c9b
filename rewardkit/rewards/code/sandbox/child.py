"""The forked child: lock itself down layer by layer, then hand over to the harness. Never returns.

Order matters: descriptors and limits first (plain syscalls), then Landlock (needs the paths open),
then the uid switch (needs CAP_SETUID), then the parent-death signal (a uid change clears it), then
seccomp last (it forbids several of the calls above).
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import sys
from typing import Any

from . import harness, landlock, limits, reaping, seccomp

# fd 4 reports setup and is closed before any untrusted code runs, so a program cannot fake an
# infrastructure failure (which would mask its score instead of failing it).
STDIN, STDOUT, STDERR, RESULT, STATUS = 0, 1, 2, 3, 4
_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}


def enter(config: dict[str, Any], request: dict[str, Any], token: str, fds: list[int], scratch: str) -> None:
    try:
        _lock_down(config, request, fds, scratch)
        if request.get("exec_path"):
            _exec(request, filtered=config["seccomp"] and not request.get("allow_fork"))
    except BaseException as exc:
        os.write(STATUS, f"{type(exc).__name__}: {exc}".encode())
        os._exit(99)
    os.write(STATUS, b"ok")
    os.close(STATUS)
    harness.main(request, token, RESULT)


def _lock_down(config: dict[str, Any], request: dict[str, Any], fds: list[int], scratch: str) -> None:
    os.setsid()
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 20) for fd in fds]
    for target, fd in enumerate(high):
        os.dup2(fd, target, inheritable=True)
    os.closerange(len(fds), 65536)
    os.chdir(scratch)
    os.environ.clear()
    os.environ.update(_ENV, HOME=scratch, TMPDIR=scratch)
    _fresh_streams()
    lim = request["limits"]
    limits.apply(lim["cpu_s"], lim["memory_mb"], lim["output_bytes"], nproc=config["nproc"])
    if config["landlock"]:
        writable = [scratch, "/dev/null"]
        landlock.restrict(config["read_paths"] + request.get("read_paths", []), writable, config["landlock"])
    uid = config["uid"]
    if uid:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    elif os.geteuid() == 0:
        limits.drop_capabilities()
    reaping.die_with_parent()
    if os.getppid() == 1:
        os._exit(98)  # the server died between fork and here
    # A compiler forks its passes: compile requests run without the filter (Landlock and limits hold).
    # A compiled program gets its filter in `_exec`, tied to the one exec the harness makes.
    if config["seccomp"] and not request.get("allow_fork") and not request.get("exec_path"):
        seccomp.install(os.getpid())


def _fresh_streams() -> None:
    # The server's own streams point elsewhere; the program gets new ones on fds 0-2. They live as
    # long as the process, hence no context manager.
    sys.stdin = sys.__stdin__ = open(STDIN, encoding="utf-8", errors="replace", closefd=False)  # type: ignore[misc]  # noqa: SIM115
    sys.stdout = sys.__stdout__ = open(STDOUT, "w", encoding="utf-8", closefd=False)  # type: ignore[misc]  # noqa: SIM115
    sys.stderr = sys.__stderr__ = open(STDERR, "w", encoding="utf-8", closefd=False)  # type: ignore[misc]  # noqa: SIM115
    sys.argv = ["solution.py"]


def _exec(request: dict[str, Any], filtered: bool) -> None:
    """Compiled languages: the binary replaces this process. Setup is reported done just before."""
    path = request["exec_path"].encode()
    argv = [a.encode() for a in request.get("argv") or [request["exec_path"]]]
    env = [f"{k}={v}".encode() for k, v in os.environ.items()]
    path_buf = ctypes.create_string_buffer(path)
    argv_c = (ctypes.c_char_p * (len(argv) + 1))(*argv, None)
    env_c = (ctypes.c_char_p * (len(env) + 1))(*env, None)
    os.close(RESULT)
    if filtered:
        seccomp.install(os.getpid(), exec_ptr=ctypes.addressof(path_buf))
    os.write(STATUS, b"ok")
    os.close(STATUS)
    ctypes.CDLL(None, use_errno=True).execve(path_buf, argv_c, env_c)
    os.write(STDERR, f"exec failed: {os.strerror(ctypes.get_errno())}\n".encode())
    os._exit(127)
