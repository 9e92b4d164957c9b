"""Resource limits applied in the child before the program runs, and capability dropping for root."""

from __future__ import annotations

import ctypes
import math
import resource
from typing import Any


def apply(cpu_s: float, memory_mb: int, output_bytes: int, nproc: int) -> None:
    """CPU seconds (SIGXCPU at the soft limit, SIGKILL one second later), address space, file size
    (SIGXFSZ past it: 1 GB of output dies early), open files, processes (ignored by the kernel for
    root, hence separate uids or seccomp), no core dumps."""
    cpu = max(1, math.ceil(cpu_s))
    settings = [
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_AS, memory_mb << 20, memory_mb << 20),
        (resource.RLIMIT_FSIZE, output_bytes, output_bytes),
        (resource.RLIMIT_NOFILE, 64, 64),
        (resource.RLIMIT_NPROC, nproc, nproc),
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_MEMLOCK, 0, 0),
        (resource.RLIMIT_MSGQUEUE, 0, 0),
    ]
    for which, soft, hard in settings:
        resource.setrlimit(which, (soft, hard))


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


_libc: Any = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_prctl, _syscall = _libc.prctl, _libc.syscall
_NO_CAPS_HEADER = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
_NO_CAPS = (_CapData * 2)()


def drop_bounding_set() -> None:
    """Empty the capability bounding set of this process and every process it forks.

    The fork server does this once, before it serves: the bounding set is inherited, and it only limits
    what an exec can gain, so the server keeps the capabilities it uses itself. (64 prctl calls in every
    fork cost a run ~0.4 ms.)"""
    for cap in range(64):
        if _prctl(24, cap, 0, 0, 0) != 0 and cap < 41:  # PR_CAPBSET_DROP; unknown caps fail late
            raise OSError(ctypes.get_errno(), f"prctl(PR_CAPBSET_DROP, {cap}) failed")


def clear_capabilities() -> None:
    """Empty the effective, permitted and inheritable sets (root without its powers); with the bounding
    set already empty (`drop_bounding_set`), no exec can give any back."""
    if _syscall(126, ctypes.byref(_NO_CAPS_HEADER), _NO_CAPS) != 0:  # capset (x86_64)
        raise OSError(ctypes.get_errno(), "capset failed")
