"""What this machine offers to isolate programs, measured once per process."""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
from dataclasses import dataclass

from . import landlock, seccomp

#: First uid of the per-slot uids used when running as root (slot i runs as UID_BASE + i).
UID_BASE = 61000


@dataclass(frozen=True)
class Probe:
    landlock_abi: int
    seccomp: bool
    root: bool
    uid_switch: bool  # slot uids can read the interpreter's files
    bwrap: str | None  # path of a working bubblewrap
    python: str  # the real interpreter (not a pyenv shim, which costs ~130 ms per start)

    @property
    def isolated(self) -> bool:
        """Enough to run hostile code: filesystem/network rules plus a syscall filter."""
        return self.landlock_abi >= 1 and self.seccomp

    def level(self, use_bwrap: bool) -> str:
        parts = []
        if use_bwrap and self.bwrap:
            parts.append("bwrap")
        if self.landlock_abi:
            parts.append(f"landlock{self.landlock_abi}")
        if self.seccomp:
            parts.append("seccomp")
        if self.root:
            parts.append("uid" if self.uid_switch else "nocaps")
        parts.append("rlimits")
        return "+".join(parts)


def real_python() -> str:
    return os.path.realpath(sys.executable)


def read_paths() -> list[str]:
    """What a sandboxed program may read: the interpreter, its libraries, system libraries. Not /etc
    (passwords, secrets), not /proc (other processes' environments), not the working tree."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sysconfig.get_paths()["stdlib"]}
    paths |= {p for p in sys.path if p and os.path.isdir(p) and "site-packages" in p}
    paths |= {"/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache", "/etc/localtime", "/dev/urandom"}
    return sorted(os.path.realpath(p) for p in paths if os.path.exists(p))


def _world_readable(path: str) -> bool:
    """Every directory from / down to ``path`` lets others in, and ``path`` lets them read."""
    path = os.path.realpath(path)
    parts = path.split(os.sep)
    for i in range(2, len(parts) + 1):
        mode = os.stat(os.sep.join(parts[:i]) or "/").st_mode
        if not mode & stat.S_IXOTH:
            return False
    return bool(os.stat(path).st_mode & stat.S_IROTH)


def _bwrap_works() -> str | None:
    path = shutil.which("bwrap")
    if path is None:
        return None
    cmd = [path, *bwrap_args(), "--", "/bin/true"]
    try:
        ok = subprocess.run(cmd, capture_output=True, timeout=10, env={}).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return None
    return path if ok else None


def bwrap_args() -> list[str]:
    """Namespaces around the whole fork server: no network at all, own pids, private /tmp."""
    return [
        "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
    ]  # fmt: skip


@functools.lru_cache(maxsize=1)
def probe() -> Probe:
    root = os.geteuid() == 0
    stdlib = sysconfig.get_paths()["stdlib"]
    return Probe(
        landlock_abi=landlock.abi_version(),
        seccomp=seccomp.available(),
        root=root,
        uid_switch=root and _world_readable(stdlib) and _world_readable(real_python()),
        bwrap=_bwrap_works(),
        python=real_python(),
    )
