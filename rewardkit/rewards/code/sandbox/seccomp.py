"""A seccomp-BPF filter written by hand (ctypes + prctl), so no libseccomp binding is needed.

Denied with EPERM: new processes (fork, vfork, clone without CLONE_THREAD; clone3 answers ENOSYS so
threads fall back to clone), exec, ptrace and cross-process memory access, every call that acts on
another process (signals, ``prlimit``, scheduling, priorities, page migration, ``kcmp``: allowed only on
pid 0 or oneself; as uid 0 the kernel itself would allow them on any process of the same uid), every
socket (no socket can be made, so none can connect: TCP, UDP, pathname and abstract unix sockets alike),
namespaces, mounts, BPF, perf, keyrings, io_uring, module loading.
Threads stay allowed: competitive programmers raise the stack size through `threading`.
"""

from __future__ import annotations

import ctypes
import errno
import platform
from typing import Any

_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_BIT = 0x40000000
_CLONE_THREAD = 0x00010000

# x86_64 numbers. Only this architecture is supported; elsewhere `available()` is False and the
# probe records the missing layer.
_DENY = {
    "fork": 57, "vfork": 58, "execve": 59, "execveat": 322, "ptrace": 101, "tkill": 200,
    "process_vm_readv": 310, "process_vm_writev": 311, "unshare": 272, "setns": 308, "mount": 165,
    "umount2": 166, "pivot_root": 155, "chroot": 161, "bpf": 321, "perf_event_open": 298, "add_key": 248,
    "request_key": 249, "keyctl": 250, "io_uring_setup": 425, "init_module": 175, "finit_module": 313,
    "delete_module": 176, "kexec_load": 246, "reboot": 169, "userfaultfd": 323, "pidfd_open": 434,
    "pidfd_send_signal": 424, "pidfd_getfd": 438, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297,
    "mknod": 133, "mknodat": 259, "swapon": 167, "swapoff": 168, "syslog": 103, "acct": 163,
    "settimeofday": 164, "clock_settime": 227, "open_by_handle_at": 304, "quotactl": 179, "socket": 41,
    "socketpair": 53, "connect": 42, "bind": 49, "migrate_pages": 256, "move_pages": 279, "kcmp": 312,
    "process_madvise": 440, "process_mrelease": 448, "get_robust_list": 274,
}  # fmt: skip
_CLONE, _CLONE3 = 56, 435
# Calls that name a process: (number, offset of the pid argument). Allowed on 0 (oneself) and own pid.
_ON_SELF = (
    (62, 16), (234, 16), (302, 16), (203, 16), (144, 16), (142, 16), (314, 16),  # kill tgkill prlimit64 sched_*
    (141, 24), (251, 24),  # setpriority(which, who, ...), ioprio_set(which, who, ...)
)  # fmt: skip

_LD_W_ABS, _JEQ_K, _JGE_K, _JSET_K, _RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
_RET_ALLOW, _RET_KILL, _RET_ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
_OFF_NR, _OFF_ARCH, _OFF_ARG0 = 0, 4, 16


class _Insn(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Insn))]


def available() -> bool:
    return platform.machine() in ("x86_64", "AMD64")


#: The filter branches on the syscall number into these ranges before its list of comparisons. Why: on
#: install the kernel runs the filter once per syscall number to cache the calls it always allows, and a
#: single list of ~60 comparisons made that ~60% of a fork's seccomp cost (measured: 265 us to install vs
#: 83 us for a 4-instruction filter); each number now meets only its own range's comparisons. The rules
#: are the same (tests/rewards/code/test_seccomp_tree.py runs both forms on every number).
_RANGES = (0, 100, 200, 300)


def _program(self_pid: int, exec_ptr: int | None) -> list[tuple[int, int, int, int]]:
    """The filter as (code, jt, jf, k); jumps use labels resolved below: ALLOW, DENY, NOSYS, KILL, and one
    per range of syscall numbers.

    With ``exec_ptr``, execve is allowed only when its path argument is that very pointer: the
    harness's own exec of a compiled program. The new image cannot know the address (ASLR), so it
    cannot exec anything itself.
    """
    body: list[tuple[int, object, object, int]] = [
        (_LD_W_ABS, 0, 0, _OFF_ARCH),
        (_JEQ_K, 0, "KILL", _AUDIT_ARCH_X86_64),
        (_LD_W_ABS, 0, 0, _OFF_NR),
        (_JGE_K, "DENY", 0, _X32_BIT),
        (_JEQ_K, "NOSYS", 0, _CLONE3),
        # Two levels of branching: [0, 200) or [200, ...), then each half in two.
        (_JGE_K, "range2", 0, _RANGES[2]),
        (_JGE_K, "range1", 0, _RANGES[1]),
    ]
    positions: dict[str, int] = {}
    for index, low in enumerate(_RANGES):
        high = _RANGES[index + 1] if index + 1 < len(_RANGES) else _X32_BIT
        positions[f"range{index}"] = len(body)
        if index == 2:  # the upper half's own branch
            body.append((_JGE_K, "range3", 0, _RANGES[3]))
        body += _range_rules(low, high, self_pid, exec_ptr)
        body.append((_RET_K, 0, 0, _RET_ALLOW))
    tail = {"ALLOW": _RET_ALLOW, "DENY": _RET_ERRNO | errno.EPERM, "NOSYS": _RET_ERRNO | errno.ENOSYS,
            "KILL": _RET_KILL}  # fmt: skip
    labels = {**positions, **{name: len(body) + i for i, name in enumerate(tail)}}
    out = []
    for i, (code, jt, jf, k) in enumerate(body):
        out.append((code, _jump(jt, i, labels), _jump(jf, i, labels), k))
    return out + [(_RET_K, 0, 0, k) for k in tail.values()]


def _range_rules(low: int, high: int, self_pid: int, exec_ptr: int | None) -> list[tuple[int, object, object, int]]:
    """The rules for syscall numbers in [low, high), the number loaded; falls through when none applies."""
    def here(nr: int) -> bool:
        return low <= nr < high

    denied = [nr for name, nr in _DENY.items() if here(nr) and (exec_ptr is None or name != "execve")]
    rules: list[tuple[int, object, object, int]] = [(_JEQ_K, "DENY", 0, nr) for nr in denied]
    # Calls judged on an argument: load it once the number matched (the low 32 bits: pid_t is an int).
    # A block ends by returning, so the number need not be loaded again after it.
    if here(_CLONE):
        rules += [(_JEQ_K, 0, 2, _CLONE), (_LD_W_ABS, 0, 0, _OFF_ARG0), (_JSET_K, "ALLOW", "DENY", _CLONE_THREAD)]
    for nr, offset in _ON_SELF:
        if here(nr):
            rules += [(_JEQ_K, 0, 3, nr), (_LD_W_ABS, 0, 0, offset), (_JEQ_K, "ALLOW", 0, 0),
                      (_JEQ_K, "ALLOW", "DENY", self_pid)]  # fmt: skip
    if exec_ptr is not None and here(_DENY["execve"]):
        low32, high32 = exec_ptr & 0xFFFFFFFF, exec_ptr >> 32
        rules += [(_JEQ_K, 0, 4, _DENY["execve"]), (_LD_W_ABS, 0, 0, _OFF_ARG0), (_JEQ_K, 0, "DENY", low32),
                  (_LD_W_ABS, 0, 0, _OFF_ARG0 + 4), (_JEQ_K, "ALLOW", "DENY", high32)]  # fmt: skip
    return rules


def _jump(target: object, at: int, labels: dict[str, int]) -> int:
    if isinstance(target, str):
        offset = labels[target] - at - 1
        if not 0 <= offset < 256:
            raise ValueError("seccomp filter too long for 8-bit jumps")
        return offset
    assert isinstance(target, int)
    return target


#: Stands for the child's pid in the filter built ahead (`prepare`): above any pid (at most 2**22), and
#: no other constant of the filter has this value.
_PID_MARK = 0x7FFFFFFE


class _Prepared:
    """The filter without exec, built once in the fork server: a child only writes its pid into it.

    Why: building ~100 instructions through ctypes in every fork cost ~0.9 ms of a ~10 ms run, twice per
    call-based run (judge and candidate); the child also touches fewer of the server's pages this way.
    """

    def __init__(self) -> None:
        insns = _program(_PID_MARK, None)
        self.array = (_Insn * len(insns))(*[_Insn(*i) for i in insns])
        self.pid_at = [i for i, (code, _, _, k) in enumerate(insns) if code == _JEQ_K and k == _PID_MARK]
        if len(self.pid_at) != len(_ON_SELF):  # one "is it me?" test per call that names a process
            raise RuntimeError(f"seccomp: {len(self.pid_at)} pid slots for {len(_ON_SELF)} calls")
        self.prog = _Prog(len(insns), ctypes.cast(self.array, ctypes.POINTER(_Insn)))
        self.libc = ctypes.CDLL(None, use_errno=True)
        # Made here, not in each child: indexing the array makes a new object per instruction, and a
        # library function is looked up (and stored) on its first call; in a fork both write to pages
        # of the server's (~20 page faults, ~0.1 ms, measured).
        self.pid_slots = [ctypes.c_uint32.from_buffer(self.array, i * ctypes.sizeof(_Insn) + _Insn.k.offset)
                          for i in self.pid_at]  # fmt: skip
        self.prctl = self.libc.prctl

    def set_pid(self, pid: int) -> None:
        for slot in self.pid_slots:
            slot.value = pid


_prepared: _Prepared | None = None


def prepare() -> None:
    """Build the filter ahead (the fork server calls this once; forks inherit it)."""
    global _prepared
    _prepared = _Prepared()


def install(self_pid: int, exec_ptr: int | None = None) -> None:
    """Install the filter on this process for good (needs PR_SET_NO_NEW_PRIVS, set here too)."""
    if exec_ptr is None and _prepared is not None:
        _prepared.set_pid(self_pid)
        _enable(_prepared.prctl, _prepared.prog)
        return
    insns = _program(self_pid, exec_ptr)
    array = (_Insn * len(insns))(*[_Insn(*i) for i in insns])
    _enable(ctypes.CDLL(None, use_errno=True).prctl, _Prog(len(insns), ctypes.cast(array, ctypes.POINTER(_Insn))))


def _enable(prctl: Any, prog: _Prog) -> None:
    if prctl(38, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")
