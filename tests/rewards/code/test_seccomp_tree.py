"""The seccomp filter branches on the syscall number before its comparisons (cheaper to install); its rules
must be exactly those of the plain list it replaced. Both run here on a small classic-BPF interpreter, on
every syscall number, both architectures' audit values, the x32 range and the argument values each rule
looks at (0, the process's own pid, another pid, CLONE_THREAD set or not, the one exec pointer or not)."""

from __future__ import annotations

import errno
import itertools

import pytest

from rewardkit.rewards.code.sandbox import seccomp as sc

PID, OTHER, EXEC_PTR = 4242, 4243, 0x7F12_3456_7890
Program = list[tuple[int, int, int, int]]


def plain_list(self_pid: int, exec_ptr: int | None) -> Program:
    """The filter as it was until 2026-12-01 (one list of comparisons), kept as the reference."""
    denied = [nr for name, nr in sc._DENY.items() if exec_ptr is None or name != "execve"]
    body: list[tuple[int, object, object, int]] = [
        (sc._LD_W_ABS, 0, 0, sc._OFF_ARCH),
        (sc._JEQ_K, 0, "KILL", sc._AUDIT_ARCH_X86_64),
        (sc._LD_W_ABS, 0, 0, sc._OFF_NR),
        (sc._JGE_K, "DENY", 0, sc._X32_BIT),
        (sc._JEQ_K, "NOSYS", 0, sc._CLONE3),
    ]
    body += [(sc._JEQ_K, "DENY", 0, nr) for nr in denied]
    body += [(sc._JEQ_K, 0, 2, sc._CLONE), (sc._LD_W_ABS, 0, 0, sc._OFF_ARG0),
             (sc._JSET_K, "ALLOW", "DENY", sc._CLONE_THREAD)]  # fmt: skip
    for nr, offset in sc._ON_SELF:
        body += [(sc._JEQ_K, 0, 3, nr), (sc._LD_W_ABS, 0, 0, offset), (sc._JEQ_K, "ALLOW", 0, 0),
                 (sc._JEQ_K, "ALLOW", "DENY", self_pid)]  # fmt: skip
    if exec_ptr is not None:
        low, high = exec_ptr & 0xFFFFFFFF, exec_ptr >> 32
        body += [(sc._JEQ_K, 0, 4, sc._DENY["execve"]), (sc._LD_W_ABS, 0, 0, sc._OFF_ARG0),
                 (sc._JEQ_K, 0, "DENY", low), (sc._LD_W_ABS, 0, 0, sc._OFF_ARG0 + 4),
                 (sc._JEQ_K, "ALLOW", "DENY", high)]  # fmt: skip
    body += [(sc._RET_K, 0, 0, sc._RET_ALLOW)]
    tail = {"ALLOW": sc._RET_ALLOW, "DENY": sc._RET_ERRNO | errno.EPERM, "NOSYS": sc._RET_ERRNO | errno.ENOSYS,
            "KILL": sc._RET_KILL}  # fmt: skip
    labels = {name: len(body) + i for i, name in enumerate(tail)}
    out = [(c, sc._jump(t, i, labels), sc._jump(f, i, labels), k) for i, (c, t, f, k) in enumerate(body)]
    return out + [(sc._RET_K, 0, 0, k) for k in tail.values()]


def run(program: Program, words: dict[int, int]) -> tuple[int, int]:
    """Classic BPF as seccomp runs it: (the action returned, instructions executed)."""
    pc = acc = steps = 0
    while True:
        code, jt, jf, k = program[pc]
        steps += 1
        if code == sc._LD_W_ABS:
            acc, pc = words.get(k, 0), pc + 1
        elif code == sc._RET_K:
            return k, steps
        else:
            taken = {sc._JEQ_K: acc == k, sc._JGE_K: acc >= k, sc._JSET_K: bool(acc & k)}[code]
            pc += 1 + (jt if taken else jf)


ARG_VALUES = (0, PID, OTHER, sc._CLONE_THREAD, sc._CLONE_THREAD | 0x11, EXEC_PTR & 0xFFFFFFFF)
NUMBERS = [*range(0, 520), sc._X32_BIT, sc._X32_BIT + 59, sc._X32_BIT + 62, 0xFFFFFFFF]


@pytest.mark.parametrize("exec_ptr", [None, EXEC_PTR])
def test_every_syscall_meets_the_same_rule_as_in_the_plain_list(exec_ptr: int | None) -> None:
    tree, reference = sc._program(PID, exec_ptr), plain_list(PID, exec_ptr)
    assert tree != reference  # the shape did change
    steps_tree = steps_ref = 0
    for nr in NUMBERS:
        for arch in (sc._AUDIT_ARCH_X86_64, 0x40000003):  # x86_64, i386
            for arg0, arg1 in itertools.product(ARG_VALUES, ARG_VALUES):
                for high in (EXEC_PTR >> 32, 0):
                    words = {sc._OFF_NR: nr, sc._OFF_ARCH: arch, sc._OFF_ARG0: arg0, sc._OFF_ARG0 + 4: high,
                             24: arg1, 28: 0}  # fmt: skip
                    got, n_tree = run(tree, words)
                    want, n_ref = run(reference, words)
                    assert got == want, (nr, hex(arch), arg0, arg1, high)
                    steps_tree, steps_ref = steps_tree + n_tree, steps_ref + n_ref
    assert steps_tree < 0.6 * steps_ref  # the point of the branching: far fewer comparisons per call


def test_the_tree_says_what_the_rules_say() -> None:
    # A few verdicts spelled out, so that the reference itself is checked against intent.
    tree = sc._program(PID, None)
    eperm, allow = sc._RET_ERRNO | errno.EPERM, sc._RET_ALLOW

    def verdict(nr: int, arg0: int = 0, arg1: int = 0) -> int:
        return run(tree, {sc._OFF_NR: nr, sc._OFF_ARCH: sc._AUDIT_ARCH_X86_64, sc._OFF_ARG0: arg0, 24: arg1})[0]

    assert verdict(0) == allow  # read
    assert verdict(sc._DENY["socket"]) == eperm and verdict(sc._DENY["execve"]) == eperm
    assert verdict(sc._DENY["fork"]) == eperm and verdict(sc._CLONE, 0x11) == eperm  # a process
    assert verdict(sc._CLONE, sc._CLONE_THREAD | 0x11) == allow  # a thread
    assert verdict(sc._CLONE3) == sc._RET_ERRNO | errno.ENOSYS
    assert verdict(62, PID) == allow and verdict(62, 0) == allow and verdict(62, OTHER) == eperm  # kill
    assert verdict(302, OTHER) == eperm and verdict(302, PID) == allow  # prlimit64
    assert verdict(141, 0, OTHER) == eperm and verdict(141, 0, PID) == allow  # setpriority(which, who)
    assert run(tree, {sc._OFF_NR: 0, sc._OFF_ARCH: 0x40000003})[0] == sc._RET_KILL
    assert verdict(sc._X32_BIT + 1) == eperm
