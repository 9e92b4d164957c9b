"""The fork server: a small pre-started interpreter that forks per program.

Started by `client.Slot` (optionally inside bubblewrap), it reads length-prefixed JSON requests on fd 0
and answers on fd 1. At start it isolates itself from the host (`host.py`: namespaces, scratch quota,
pids cgroup). A stdin/stdout request runs in one fresh fork; a call-based request in two (`child.py`):
the judge, forked first, reads the test half of the request straight from the client's pipe (so neither
this process nor the candidate's, forked from it, ever holds the tests) and the candidate. The server
waits on CPU limits enforced by the kernel and a wall-clock backstop, then kills and reaps everything
the run left behind before answering.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import select
import shutil
import signal
import struct
import tempfile
import time
from typing import Any

from . import child, host, limits, reaping, seccomp

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


def _emptied(directory: str) -> bool:
    """Remove everything a run left in ``directory`` and restore its mode; False when anything is left
    (then the directory is not used again: no file of one run may reach the next)."""
    try:
        os.chmod(directory, 0o700)  # the run owned it and may have changed it
        with os.scandir(directory) as entries:
            for entry in list(entries):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
        return not os.listdir(directory)
    except OSError:
        return False


def _read_back(fd: int, limit: int) -> str:
    return os.pread(fd, limit, 0).decode("utf-8", errors="replace")


class Server:
    def __init__(self, config: dict[str, Any], inbox: int, outbox: int) -> None:
        self.config, self.inbox, self.outbox = config, inbox, outbox
        self.base = config["scratch_base"]
        self.private = os.path.join(self.base, "io")
        self.work = os.path.join(self.base, "work")
        os.makedirs(self.private, mode=0o700, exist_ok=True)
        self.scratch = ""
        self.renewals = 0
        self._renew_scratch()

    def _renew_scratch(self) -> None:
        """One scratch directory serves every run (a Landlock rule binds its inode, and the lock-down is
        prepared once for it); it is emptied after each. Only when emptying fails is a new one made."""
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.renewals += 1
        self.scratch = os.path.join(self.work, f"run{self.renewals}")
        os.mkdir(self.scratch, 0o700)
        if self.config["uid"]:
            os.chown(self.scratch, self.config["uid"], self.config["uid"])
        child.prepare(self.config, self.scratch)

    def serve(self) -> None:
        while True:
            request = read_message(self.inbox)
            if request is None or request.get("kind") != "run":
                return  # the client is gone, or the stream is out of step: the client restarts us
            write_message(self.outbox, self.handle(request))

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        scratch = self.scratch
        uid = self.config["uid"]
        try:
            for name, text in request.get("files", {}).items():
                path = os.path.join(scratch, os.path.basename(name))
                with open(path, "w") as f:
                    f.write(text)
                if uid:
                    os.chown(path, uid, uid)
            reply = self._split(request, scratch) if request.get("split") else self._run(request, scratch)
            if request.get("keep") and reply.get("exit_code") == 0:
                reply["kept"] = _keep(os.path.join(scratch, request["keep"]), self.config["bin_dir"])
            return reply
        finally:
            self._sweep(uid)  # nothing of the run is alive to write into the directory any more
            if not _emptied(scratch):
                self._renew_scratch()

    def _sweep(self, uid: int) -> None:
        if self.config.get("pid1"):
            host.kill_namespace()  # every process in our pid namespace but us: setsid escapees included
        else:
            reaping.kill_descendants()
        if uid:
            reaping.kill_uid(uid)

    def _run(self, request: dict[str, Any], scratch: str) -> dict[str, Any]:
        lim = request["limits"]
        files = [_tmpfile(self.private, request.get("stdin", "").encode())]
        files += [_tmpfile(self.private) for _ in range(2)]
        status_r, status_w = os.pipe()
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            os.close(status_r)
            child.run_program(self.config, request, [*files, status_w], scratch)
        os.close(status_w)
        try:
            status, usage, timed_out = _wait(pid, lim["wall_s"])
            wall = time.monotonic() - start
            setup = os.read(status_r, 4096).decode(errors="replace")
            out = _outcome(status, usage, timed_out, wall, lim)
            if setup != "ok":
                return _infra(out, setup)
            out["stdout"] = _read_back(files[1], lim["output_bytes"])
            out["stderr"] = _read_back(files[2], 8192)
            out["verified"] = True  # stdin/stdout: the verdict is the grader's comparison, outside
            return out
        finally:
            for fd in [*files, status_r]:
                os.close(fd)

    def _split(self, request: dict[str, Any], scratch: str) -> dict[str, Any]:
        """Judge and candidate in two processes, joined by two pipes that carry plain data only."""
        lim = request["limits"]
        judge_lim = {"cpu_s": lim["cpu_s"] + 2.0, "memory_mb": max(lim["memory_mb"], 512), "output_bytes": 1 << 20}
        to_c, to_j = os.pipe(), os.pipe()  # (read, write): judge -> candidate, candidate -> judge
        null = os.open(os.devnull, os.O_RDWR)
        files = [_tmpfile(self.private, request.get("stdin", "").encode())]
        files += [_tmpfile(self.private) for _ in range(4)]  # candidate out, err; judge err, report
        (js_r, js_w), (cs_r, cs_w) = os.pipe(), os.pipe()
        start = time.monotonic()
        jpid = os.fork()
        if jpid == 0:
            tests = read_message(self.inbox)  # straight from the client: never in the server's memory
            if not tests or tests.get("kind") != "tests":
                os._exit(97)
            child.run_judge(self.config, tests, judge_lim, [null, null, files[3], to_c[1], to_j[0], files[4], js_w])
        cpid = os.fork()
        if cpid == 0:
            child.run_candidate(self.config, request, [files[0], files[1], files[2], to_c[0], to_j[1], cs_w], scratch)
        for fd in (*to_c, *to_j, js_w, cs_w, null):
            os.close(fd)
        try:
            return self._split_outcome(jpid, cpid, start, lim, files, js_r, cs_r)
        finally:
            for fd in [*files, js_r, cs_r]:
                os.close(fd)

    def _split_outcome(self, jpid: int, cpid: int, start: float, lim: dict[str, Any], files: list[int],
                       js_r: int, cs_r: int) -> dict[str, Any]:  # fmt: skip
        jstatus, _, walled = _wait(jpid, lim["wall_s"])
        pid, cstatus, usage = os.wait4(cpid, os.WNOHANG)
        if pid == 0:  # still there: the tests are done (or out of time), it has nothing left to do
            os.kill(cpid, signal.SIGKILL)
            _, killed, usage = os.wait4(cpid, 0)
            cstatus = killed if walled else 0
        out = _outcome(cstatus, usage, walled, time.monotonic() - start, lim)
        for fd, who in ((cs_r, "program"), (js_r, "judge")):
            setup = os.read(fd, 4096).decode(errors="replace")
            if setup != "ok":
                return _infra(out, f"{who}: {setup or 'died before reporting'}")
        out["stdout"] = _read_back(files[1], lim["output_bytes"])
        out["stderr"] = _read_back(files[2], 8192)
        report = _judge_report(jstatus, _read_back(files[4], 16 << 20))
        if report is None:  # the judge did not finish: nothing passed (its CPU limit: the program's doing)
            judge_cpu = os.WIFSIGNALED(jstatus) and os.WTERMSIG(jstatus) in (signal.SIGXCPU, signal.SIGKILL)
            out["timed_out"] = bool(out["timed_out"] or judge_cpu)
            return out
        gone = bool(report.get("gone"))
        out["results"] = [False] * len(report.get("passed", [])) if gone else report.get("passed", [])
        if "results" in report:
            out["results"] = report["results"]
        out["verified"] = True
        out["stderr"] = (out["stderr"] + "\n" + str(report.get("why", ""))).strip()[-8192:]
        return out


def _judge_report(status: int, text: str) -> dict[str, Any] | None:
    if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
        return None
    try:
        report = json.loads(text)
    except json.JSONDecodeError:
        return None
    return report if isinstance(report, dict) else None


def _wait(pid: int, wall_s: float) -> tuple[int, Any, bool]:
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


def _infra(out: dict[str, Any], why: str) -> dict[str, Any]:
    out["infra_error"] = f"sandbox setup failed: {why}"
    return out


def _outcome(status: int, usage: Any, wall_killed: bool, wall: float, lim: dict[str, Any]) -> dict[str, Any]:
    cpu = usage.ru_utime + usage.ru_stime
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    timed_out = wall_killed or sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu >= lim["cpu_s"])
    return {"exit_code": code, "signal": sig, "timed_out": timed_out, "cpu_s": cpu, "wall_s": wall,
            "verified": False, "results": [], "stdout": "", "stderr": ""}  # fmt: skip


def _pid1(inbox: int, outbox: int) -> None:
    """After unsharing the pid namespace: fork its pid 1, which goes on as the server; this process
    only waits for it (holding no end of the protocol pipes, so the client sees EOF when it dies)."""
    pid = os.fork()
    if pid == 0:
        reaping.die_with_parent()
        return
    os.close(inbox)
    os.close(outbox)
    _, status = os.waitpid(pid, 0)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _isolate(config: dict[str, Any], inbox: int, outbox: int) -> list[str]:
    """The host-isolation layers (`host.py`); what took effect goes back to the client."""
    layers: list[str] = []
    if config.get("namespaces"):
        layers = host.enter_namespaces()
        if "pidns" in layers:
            _pid1(inbox, outbox)
            config["pid1"] = os.getpid() == 1
            if not config["pid1"]:
                layers.remove("pidns")
            elif "mntns" in layers and host.mount_proc():
                layers.append("proc")
    if config.get("cgroup"):  # made by the client (outside bubblewrap, which mounts /sys read-only)
        # The server joins its pids cgroup and every process it forks is born in it: the judge, the
        # program and all they start count against the cap (no run can leave: cgroupfs is not writable
        # under Landlock). Raises when it cannot join: the server does not start without its layer.
        host.join(config["cgroup"])
        layers.append(f"pids{config['nproc']}")
    work = os.path.join(config["scratch_base"], "work")
    os.makedirs(work, mode=0o711, exist_ok=True)
    if "mntns" in layers and host.mount_quota(work, config.get("disk_mb", 64), 4096):
        layers.append(f"quota{config.get('disk_mb', 64)}m")
    return layers


#: Compiled once by the server before it forks anything (see `_warm_compiler`).
_WARM_SOURCE = """
import math
from typing import List
class A(object):
    x: int = 1
    def f(self, xs: List[int], *a, k=2, **kw) -> list:
        return [i * k for i in xs if i] + list({i: i for i in a}) + [f"{self.x!r:>3}", lambda y: y, (yield)]
async def g():
    async with h() as c:
        await c
try:
    assert A().f([1], k=3), "no"
except (ValueError, TypeError) as e:
    raise RuntimeError(str(e)) from None
finally:
    del math
while False:
    break
"""


def _warm_compiler() -> None:
    """Compile a little of every construct once, in the server, before the heap is frozen.

    CPython builds the compiler's state (the AST node types, ~120 of them) on its first compile(). A server
    whose modules all came from .pyc files never compiled anything, so every fork built that state itself
    when it compiled the program or the tests: ~250 more page faults and 3-4 ms of a call-based run
    (measured with and without __pycache__; which one a machine has depends on who imported the package
    first). Nothing of a request is involved.
    """
    compile(_WARM_SOURCE, "<warm-up>", "exec")


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
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.makedirs(config["scratch_base"], mode=0o711, exist_ok=True)
    layers = _isolate(config, inbox, outbox)
    reaping.become_subreaper()
    if os.geteuid() == 0:
        limits.drop_bounding_set()  # inherited by every fork; the server keeps its own capabilities
    for name in PREIMPORT:
        __import__(name)
    if config.get("seccomp"):
        seccomp.prepare()
    # Every run is a fork of this process, and CPython writes to an object's memory when its collector
    # scans it: a child's first collection would copy most of the parent's heap, page by page (measured:
    # a stdin/stdout run 17 ms before, 12 ms after). Frozen objects are never scanned by the child.
    server = Server(config, inbox, outbox)  # prepares the lock-down, so the freeze below covers it too
    _warm_compiler()
    gc.collect()
    gc.freeze()
    write_message(outbox, {"ready": True, "pid": os.getpid(), "layers": layers})
    try:
        server.serve()
    finally:
        if config.get("pid1"):
            host.kill_namespace()
        else:
            reaping.kill_descendants()
        shutil.rmtree(config["scratch_base"], ignore_errors=True)


if __name__ == "__main__":
    main()
