"""The fork server: a small pre-started interpreter that forks once per program.

Started by `client.Slot` (optionally inside bubblewrap), it reads length-prefixed JSON requests on fd 0
and answers on fd 1. Each request is run in a fresh fork with its own scratch directory; the server
waits on CPU limits enforced by the kernel and a wall-clock backstop, then kills and reaps everything
the program left behind before answering.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import secrets
import select
import shutil
import signal
import struct
import tempfile
import time
from typing import Any

from . import child, reaping

# Imported here so every fork finds them loaded: programs import these constantly.
PREIMPORT = (
    "math", "collections", "itertools", "functools", "heapq", "bisect", "re", "string", "typing",
    "random", "fractions", "decimal", "statistics", "copy", "operator", "hashlib", "datetime",
)  # fmt: skip


def read_message(fd: int) -> Any:
    head = _read_exact(fd, 4)
    if head is None:
        return None
    body = _read_exact(fd, struct.unpack(">I", head)[0])
    return None if body is None else json.loads(body)


def write_message(fd: int, message: Any) -> None:
    body = json.dumps(message).encode()
    data = struct.pack(">I", len(body)) + body
    while data:
        data = data[os.write(fd, data) :]


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, n - got)
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _tmpfile(directory: str, data: bytes = b"") -> int:
    fd = os.open(directory, os.O_TMPFILE | os.O_RDWR, 0o600)
    if data:
        os.write(fd, data)
        os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _keep(path: str, bin_dir: str) -> str | None:
    """Copy a compiled binary out of the scratch directory (about to be removed) into the shared bin dir."""
    if not os.path.isfile(path) or os.path.islink(path):
        return None
    fd, target = tempfile.mkstemp(dir=bin_dir)
    with open(path, "rb") as src, os.fdopen(fd, "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.chmod(target, 0o755)
    return target


def _read_back(fd: int, limit: int) -> str:
    return os.pread(fd, limit, 0).decode("utf-8", errors="replace")


class Server:
    def __init__(self, config: dict[str, Any], inbox: int, outbox: int) -> None:
        self.config, self.inbox, self.outbox = config, inbox, outbox
        self.base = config["scratch_base"]
        self.private = os.path.join(self.base, "io")
        os.makedirs(self.private, mode=0o700, exist_ok=True)
        self.count = 0

    def serve(self) -> None:
        while True:
            request = read_message(self.inbox)
            if request is None:
                return  # the client is gone
            write_message(self.outbox, self.handle(request))

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        self.count += 1
        scratch = os.path.join(self.base, f"run{self.count}")
        os.mkdir(scratch, 0o700)
        uid = self.config["uid"]
        if uid:
            os.chown(scratch, uid, uid)
        try:
            for name, text in request.get("files", {}).items():
                path = os.path.join(scratch, os.path.basename(name))
                with open(path, "w") as f:
                    f.write(text)
                if uid:
                    os.chown(path, uid, uid)
            reply = self._run(request, scratch)
            if request.get("keep") and reply.get("exit_code") == 0:
                reply["kept"] = _keep(os.path.join(scratch, request["keep"]), self.config["bin_dir"])
            return reply
        finally:
            reaping.kill_descendants()
            if uid:
                reaping.kill_uid(uid)
            shutil.rmtree(scratch, ignore_errors=True)

    def _run(self, request: dict[str, Any], scratch: str) -> dict[str, Any]:
        lim = request["limits"]
        files = [_tmpfile(self.private, request.get("stdin", "").encode())]
        files += [_tmpfile(self.private) for _ in range(3)]
        status_r, status_w = os.pipe()
        token = secrets.token_hex(16)
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            os.close(status_r)
            child.enter(self.config, request, token, [*files, status_w], scratch)
        os.close(status_w)
        try:
            status, usage, timed_out = self._wait(pid, lim["wall_s"])
            wall = time.monotonic() - start
            setup = os.read(status_r, 4096).decode(errors="replace")
            return self._outcome(status, usage, timed_out, wall, setup, token, files, lim)
        finally:
            for fd in [*files, status_r]:
                os.close(fd)

    def _wait(self, pid: int, wall_s: float) -> tuple[int, Any, bool]:
        pidfd = os.pidfd_open(pid)
        try:
            ready, _, _ = select.select([pidfd], [], [], wall_s)
        finally:
            os.close(pidfd)
        timed_out = not ready
        if timed_out:
            os.kill(pid, signal.SIGKILL)
        _, status, usage = os.wait4(pid, 0)
        return status, usage, timed_out

    def _outcome(self, status: int, usage: Any, wall_killed: bool, wall: float, setup: str, token: str,
                 files: list[int], lim: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
        cpu = usage.ru_utime + usage.ru_stime
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        timed_out = wall_killed or sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu >= lim["cpu_s"])
        out: dict[str, Any] = {"exit_code": code, "signal": sig, "timed_out": timed_out, "cpu_s": cpu,
                               "wall_s": wall, "verified": False, "results": []}  # fmt: skip
        if setup != "ok":
            out["infra_error"] = f"sandbox setup failed: {setup or 'the child died before reporting'}"
            return out
        out["stdout"] = _read_back(files[1], lim["output_bytes"])
        out["stderr"] = _read_back(files[2], 8192)
        head, _, body = _read_back(files[3], 64 << 20).partition("\n")
        if secrets.compare_digest(head, token):
            with contextlib.suppress(json.JSONDecodeError):
                out["results"], out["verified"] = json.loads(body), True
        return out


def main() -> None:
    # Keep the protocol off fds 0-2 so a child can never write into it by accident.
    inbox, outbox = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    config = read_message(inbox)
    if config is None:
        return
    reaping.die_with_parent()
    reaping.become_subreaper()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for name in PREIMPORT:
        __import__(name)
    os.makedirs(config["scratch_base"], mode=0o711, exist_ok=True)
    write_message(outbox, {"ready": True, "pid": os.getpid()})
    try:
        Server(config, inbox, outbox).serve()
    finally:
        reaping.kill_descendants()
        shutil.rmtree(config["scratch_base"], ignore_errors=True)


if __name__ == "__main__":
    main()
