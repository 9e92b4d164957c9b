"""The local executor: a pool of fork servers (one per slot), fed from threads, restarted when they die.

A call-based run is sent in two messages: the run (the program, its limits) and then its tests, which
the server's judge process reads itself (see `server.py`). A server that dies twice on the same program
was brought down by that program: the run is the program's failure (0), not an infrastructure error.
Scratch directories and pids cgroups of scorers killed before they could clean up are swept at start.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import itertools
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..cpp import Compiler
from ..executor import Outcome, Run
from . import host
from . import probe as probing
from .server import read_message, write_message

_TMP = tempfile.gettempdir()
_cgroup_ids = itertools.count()  # one pids cgroup per slot, named by this process and a serial
_PREFIX = "rewardkit-sandbox-"  # + client pid + "-": scratch bases and compiled-binary directories

_ROOT = str(Path(__file__).resolve().parents[4])  # the directory holding the rewardkit package
_HERE = str(Path(__file__).resolve().parent)
# The fork server loads this directory alone, as the package ``rewardkit_sandbox`` (its modules import only
# each other and the standard library), not through ``rewardkit``, whose __init__ imports the whole library
# (pluggy, yaml, the scorer: 270 modules, 27 MB against 16). Every run is a fork of the server, and a
# smaller heap is fewer pages for the kernel to copy at fork and on write, and to unmap at exit.
#
# Started with -S: no ``site``, so no .pth file of site-packages runs in it. Those (editable installs,
# setuptools' distutils hack, whatever a machine adds) imported ~80 more modules, threading and random
# among them, whose at-fork hooks every child ran: the server's heap was 21% larger and a child's first
# line cost 230 page faults and ~1.1 ms instead of ~110 and ~0.4 ms (measured). What programs expect of
# ``site`` is added by hand: site-packages on the path (after the standard library, as ``site`` puts
# it), and the ``exit``/``quit``/``help``/``copyright`` builtins. User site stays off (``-I``).
_FLAGS = ("-I", "-S", "-B")
_BOOT = (
    "import sys, os, site; "
    "sys.path.extend(p for p in site.getsitepackages() if os.path.isdir(p) and p not in sys.path); "
    "site.setquit(); site.setcopyright(); site.sethelper(); "
    "import importlib.util as u; "
    f"s = u.spec_from_file_location('rewardkit_sandbox', {_HERE + '/__init__.py'!r}, "
    f"submodule_search_locations=[{_HERE!r}]); "
    "m = u.module_from_spec(s); sys.modules['rewardkit_sandbox'] = m; s.loader.exec_module(m); "
    "from rewardkit_sandbox.server import main; main()"
)


class SandboxUnavailable(RuntimeError):
    """The machine cannot isolate programs, or a fork server cannot start."""


class Slot:
    def __init__(self, index: int, found: probing.Probe, use_bwrap: bool, bin_dir: str = "",
                 nproc: int = 32, disk_mb: int = 64) -> None:  # fmt: skip
        self.index, self.found, self.use_bwrap = index, found, use_bwrap
        self.nproc, self.disk_mb = nproc, disk_mb
        self.owns_bin_dir = not bin_dir
        self.bin_dir = bin_dir or tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-bin-")
        self.scratch_base = ""
        self.layers: list[str] = []
        self.cgroup: str | None = None  # the slot's pids cgroup, kept across server restarts
        self.proc: subprocess.Popen[bytes] | None = None
        self.lock = threading.Lock()

    def _config(self) -> dict[str, Any]:
        if self.use_bwrap:
            base = f"/tmp/rewardkit-slot{self.index}"
        else:
            base = tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-slot{self.index}-")
        self.scratch_base = "" if self.use_bwrap else base  # under bwrap it lives in a private tmpfs
        uid = probing.UID_BASE + self.index if self.found.uid_switch else 0
        if self.cgroup is None:
            self.cgroup = host.create_pids(f"{host.CGROUP_PREFIX}{os.getpid()}-{next(_cgroup_ids)}", self.nproc)
        return {"cgroup": self.cgroup, "uid": uid, "landlock": self.found.landlock_abi, "seccomp": self.found.seccomp,
                "read_paths": [*probing.read_paths(), self.bin_dir], "scratch_base": base, "nproc": self.nproc,
                "bin_dir": self.bin_dir, "namespaces": True, "disk_mb": self.disk_mb}  # fmt: skip

    def start(self) -> None:
        sweep()
        config = self._config()
        cmd = [self.found.python, *_FLAGS, "-c", _BOOT]
        if self.use_bwrap and self.found.bwrap:
            # the compiled-binary directory is shared by every slot (compile once, run anywhere)
            binds = ["--bind", self.bin_dir, self.bin_dir]
            # The package itself, read-only: bwrap's private /tmp would hide a checkout that lives under /tmp
            # (as a CI clone may), and the fork server could not import its own code.
            binds += ["--ro-bind", _ROOT, _ROOT]
            if self.cgroup:
                binds += ["--bind", self.cgroup, self.cgroup]
            cmd = [self.found.bwrap, *probing.bwrap_args(), *binds, "--", *cmd]
        # The server's stderr goes to a file, read only when it fails to start: the reason says why.
        with tempfile.TemporaryFile() as errors:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=errors, env={"PATH": "/usr/bin:/bin"})  # fmt: skip
            assert self.proc.stdin and self.proc.stdout
            write_message(self.proc.stdin.fileno(), config)
            ready = read_message(self.proc.stdout.fileno())
            if not ready or not ready.get("ready"):
                self.stop()
                errors.seek(0)
                said = errors.read()[-600:].decode("utf-8", "replace").strip()
                raise SandboxUnavailable(
                    f"fork server {self.index} did not start (command: {cmd[0]} ...): {said or 'no message'}"
                )
        self.layers = [str(x) for x in ready.get("layers", [])]

    def stop(self) -> None:
        if self.proc is not None:
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream:
                    stream.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        # A server killed from outside could not clean up after itself.
        if self.scratch_base:
            shutil.rmtree(self.scratch_base, ignore_errors=True)
            self.scratch_base = ""

    def close(self) -> None:
        self.stop()
        if self.cgroup:
            host.remove_cgroup(self.cgroup)
            self.cgroup = None
        if self.owns_bin_dir:
            shutil.rmtree(self.bin_dir, ignore_errors=True)

    def call(self, request: dict[str, Any], tests: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one request (and its tests); restart a dead server once.

        Raise SandboxUnavailable when no server can be started (infrastructure). A server that started
        and died twice under this very program was killed by it: that is the program's failure.
        """
        with self.lock:
            for _ in (1, 2):
                if self.proc is None or self.proc.poll() is not None:
                    self.stop()
                    self.start()  # SandboxUnavailable propagates: nothing ran
                assert self.proc and self.proc.stdin and self.proc.stdout
                with contextlib.suppress(OSError, ValueError):
                    write_message(self.proc.stdin.fileno(), request)
                    if tests is not None:
                        write_message(self.proc.stdin.fileno(), tests)
                    reply = read_message(self.proc.stdout.fileno())
                    if reply is not None:
                        return dict(reply)
                self.stop()
            return {"exit_code": None, "signal": 9, "timed_out": False, "verified": False, "results": [],
                    "stderr": "the program brought its sandbox down (twice): scored as its failure"}  # fmt: skip


def _request(run: Run) -> dict[str, Any]:
    """The run as the server sees it; call-based runs get `split` and no tests (see `_tests`)."""
    limits = asdict(run.limits)
    limits["wall_s"] = run.limits.wall_backstop_s
    return {"kind": "run", "mode": run.mode, "code": run.code, "stdin": run.stdin, "limits": limits,
            "split": run.mode in ("script", "call")}  # fmt: skip


def _tests(run: Run) -> dict[str, Any] | None:
    """The trusted half of a call-based run, read by the judge alone."""
    if run.mode not in ("script", "call"):
        return None
    return {"kind": "tests", "mode": run.mode, "setup": run.setup, "tests": list(run.tests),
            "fn_name": run.fn_name, "args": list(run.args)}  # fmt: skip


def sweep() -> int:
    """Remove what scorers killed before cleaning up left behind: scratch trees and pids cgroups."""
    swept = host.sweep_cgroups()
    for path in glob.glob(os.path.join(_TMP, _PREFIX + "*")):
        owner = path[len(os.path.join(_TMP, _PREFIX)) :].split("-", 1)[0]
        if owner.isdigit() and int(owner) != os.getpid() and not host.pid_alive(int(owner)):
            shutil.rmtree(path, ignore_errors=True)
            swept += 1
    return swept


class LocalExecutor:
    """Runs programs on this machine in `slots` fork servers at once."""

    name = "local"

    def __init__(self, slots: int, allow_unisolated: bool = False, bubblewrap: bool = True) -> None:
        self.found = probing.probe()
        if not self.found.isolated and not allow_unisolated:
            raise SandboxUnavailable(
                f"this machine cannot isolate programs (landlock ABI {self.found.landlock_abi}, seccomp "
                f"{'yes' if self.found.seccomp else 'no'}); need Linux >= 5.13 with Landlock on x86_64. "
                "Use a remote sandbox plugin, or set allow_unisolated: true to run untrusted code "
                "unprotected."
            )
        self.use_bwrap = bubblewrap and self.found.bwrap is not None
        sweep()
        self.bin_dir = tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-bin-")
        os.chmod(self.bin_dir, 0o711)  # slot uids may run binaries here, not list or write
        self.slots = [Slot(i, self.found, self.use_bwrap, self.bin_dir) for i in range(slots)]
        self.compiler = Compiler(self._call)
        self._walled: set[int] = set()
        self._idle: queue.Queue[Slot] = queue.Queue()
        for slot in self.slots:
            self._idle.put(slot)
        self._pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="rewardkit-sandbox")

    @property
    def isolation(self) -> str:
        layers = next((s.layers for s in self.slots if s.layers), [])
        return "+".join([self.found.level(self.use_bwrap), *layers])

    def _call(self, request: dict[str, Any], tests: dict[str, Any] | None = None) -> dict[str, Any]:
        slot = self._idle.get()
        try:
            reply = slot.call(request, tests)
            reply["isolation"] = "+".join([self.found.level(self.use_bwrap), *slot.layers])
            return reply
        except SandboxUnavailable as exc:
            return {"infra_error": str(exc), "isolation": self.isolation}
        finally:
            self._idle.put(slot)

    def run_one(self, run: Run) -> Outcome:
        request = _request(run)
        if run.language == "cpp":
            binary, failed = self.compiler.binary(run.code, self.isolation)
            if failed is not None:
                return failed
            request["exec_path"] = binary
        elif run.language != "python":
            return Outcome(infra_error=f"the local sandbox runs python and cpp, not {run.language!r}")
        if run.row >= 0 and run.row in self._walled:
            return Outcome(timed_out=True, stderr="skipped: an earlier run of this row ran past its wall clock",
                           isolation=self.isolation)  # fmt: skip
        reply = self._call(request, _tests(run))
        reply.pop("kept", None)
        reply["results"] = tuple(reply.get("results") or ())
        if run.split:
            reply["isolation"] += "+split"
        if reply.get("timed_out") and reply.get("wall_s", 0) >= run.limits.wall_backstop_s and run.row >= 0:
            if len(self._walled) > 100_000:
                self._walled.clear()
            self._walled.add(run.row)  # a sleeper costs its row one wall-clock backstop, not one per test
        return Outcome(**reply)

    def run_many(self, runs: Sequence[Run]) -> list[Outcome]:
        if len(runs) <= 1 or len(self.slots) == 1:
            return [self.run_one(r) for r in runs]
        return list(self._pool.map(self.run_one, runs))

    def close(self) -> None:
        for slot in self.slots:
            with slot.lock:
                slot.close()
        self._pool.shutdown(wait=False)
        shutil.rmtree(self.bin_dir, ignore_errors=True)


_executors: dict[tuple[int, bool, bool], LocalExecutor] = {}
_owner = os.getpid()
_lock = threading.Lock()


def get_executor(slots: int, allow_unisolated: bool, bubblewrap: bool) -> LocalExecutor:
    """The process-wide executor for these settings (fork servers are started on first use)."""
    global _owner
    key = (slots or os.cpu_count() or 1, allow_unisolated, bubblewrap)
    with _lock:
        if _owner != os.getpid():
            # A forked copy of this process must not talk to its parent's fork servers.
            _executors.clear()
            _owner = os.getpid()
        if key not in _executors:
            _executors[key] = LocalExecutor(*key)
        return _executors[key]


@atexit.register
def _close_all() -> None:
    if _owner == os.getpid():
        for executor in _executors.values():
            executor.close()
