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


def drop_capabilities() -> None:
    """Empty the bounding, effective, permitted and inheritable sets (root without its powers)."""
    libc: Any = ctypes.CDLL(None, use_errno=True)
    for cap in range(64):
        if libc.prctl(24, cap, 0, 0, 0) != 0 and cap < 41:  # PR_CAPBSET_DROP; unknown caps fail late
            raise OSError(ctypes.get_errno(), f"prctl(PR_CAPBSET_DROP, {cap}) failed")
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    libc.syscall.restype = ctypes.c_long
    if libc.syscall(126, ctypes.byref(header), data) != 0:  # capset (x86_64)
        raise OSError(ctypes.get_errno(), "capset failed")
