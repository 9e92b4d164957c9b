"""Landlock through ctypes: the filesystem read-only except chosen paths, no TCP, no signals out.

Landlock needs no privileges and stacks with everything else; each ABI version adds rights
(v4: TCP bind/connect, v6: scoping of signals and abstract Unix sockets). Rights the running kernel
does not know are left out, and the ABI in force is reported so scores can record it.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterable

_SYS_CREATE, _SYS_ADD_RULE, _SYS_RESTRICT = 444, 445, 446  # same numbers on every architecture
_RULE_PATH_BENEATH = 1
_CREATE_VERSION = 1

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1, 2, 4, 8
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
_NET_TCP = 1 | 2  # bind, connect
_SCOPE_ALL = 1 | 2  # abstract unix sockets, signals
READ = EXECUTE | READ_FILE | READ_DIR


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
# Bound once: a forked child that looked them up again would pay for ctypes' lookup and its page faults.
_syscall, _prctl = _libc.syscall, _libc.prctl


def abi_version() -> int:
    """The kernel's Landlock ABI version, 0 when Landlock is off or unknown."""
    try:
        version = _libc.syscall(_SYS_CREATE, None, 0, _CREATE_VERSION)
    except (AttributeError, OSError):
        return 0
    return max(0, int(version))


def fs_rights(abi: int) -> int:
    return _FS_BY_ABI[max(k for k in _FS_BY_ABI if k <= abi)]


def ruleset(read_paths: Iterable[str], write_paths: Iterable[str], abi: int) -> int:
    """A ruleset descriptor: ``read_paths`` may be read and executed, ``write_paths`` fully used, the rest
    denied. Built once per fork server (opening ~10 paths and adding their rules cost a fork ~0.6 ms when
    each child did it); `restrict_with` applies it. A rule binds the path's inode, not its name."""
    handled = fs_rights(abi)
    attr = _RulesetAttr(handled, _NET_TCP if abi >= 4 else 0, _SCOPE_ALL if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    fd = _libc.syscall(_SYS_CREATE, ctypes.byref(attr), size, 0)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for paths, rights in ((read_paths, READ & handled), (write_paths, handled)):
            for path in paths:
                _add_path(fd, path, rights)
    except BaseException:
        os.close(fd)
        raise
    return int(fd)


def restrict_with(ruleset_fd: int) -> None:
    """Restrict this process (and its future children) for good with a prepared ruleset."""
    if _prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS: required by landlock_restrict_self
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if _syscall(_SYS_RESTRICT, ruleset_fd, 0) != 0:
        raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")


def _add_path(ruleset_fd: int, path: str, rights: int) -> None:
    try:
        pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a path missing on this machine needs no rule
    try:
        if not os.path.isdir(path):
            rights &= (
                EXECUTE | READ_FILE | WRITE_FILE | (1 << 14) | (1 << 15)
            )  # file rules take file rights only
        rule = _PathBeneath(rights, pfd)
        if _libc.syscall(_SYS_ADD_RULE, ruleset_fd, _RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(pfd)
