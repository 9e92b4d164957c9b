"""Host isolation set up once per fork server, without bubblewrap: namespaces, a scratch quota, a pids cgroup.

- ``unshare`` of the mount, network, IPC, UTS and pid namespaces (behind a user namespace when not
  root): the server becomes pid 1 of its own pid namespace, so no process on the host exists for a
  program (its pids, its ``prlimit`` and ``kill`` targets); the network namespace has no interface but a
  down loopback (no TCP, no UDP, and abstract unix sockets are per network namespace); /proc is
  remounted for the new pid namespace, and the server's ``kill(-1)`` after each run reaches every
  process it spawned and nothing else.
- a size- and inode-limited tmpfs over the scratch area (the disk quota), private to the mount namespace.
- a pids cgroup per slot (v1 or v2), which the fork server joins at start, so every process it forks is
  born in it: a thread and process cap that binds root too (RLIMIT_NPROC does not).
Each layer is optional: what took effect is returned and recorded in every score's isolation level.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import signal

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REC, _MS_PRIVATE = 2, 4, 8, 0x4000, 0x40000
CGROUP_PREFIX = "rewardkit-sandbox-"

_libc = ctypes.CDLL(None, use_errno=True)


def _unshare(flags: int) -> bool:
    return bool(_libc.unshare(flags) == 0)


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> bool:
    enc = [None if x is None else x.encode() for x in (source, target, fstype, data)]
    return bool(_libc.mount(enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3]) == 0)


def _user_namespace() -> bool:
    uid, gid = os.geteuid(), os.getegid()
    if not _unshare(CLONE_NEWUSER):
        return False
    try:
        for path, text in (("/proc/self/setgroups", "deny"), ("/proc/self/uid_map", f"0 {uid} 1"),
                           ("/proc/self/gid_map", f"0 {gid} 1")):  # fmt: skip
            with open(path, "w") as f:
                f.write(text)
    except OSError:
        return False
    return True


def enter_namespaces() -> list[str]:
    """Unshare what the kernel allows; the pid namespace applies to the children forked after this."""
    layers: list[str] = []
    if os.geteuid() != 0:
        if not _user_namespace():
            return layers
        layers.append("userns")
    for flag, name in ((CLONE_NEWNS, "mntns"), (CLONE_NEWNET, "netns"), (CLONE_NEWIPC, "ipcns"),
                       (CLONE_NEWUTS, "utsns"), (CLONE_NEWPID, "pidns")):  # fmt: skip
        if _unshare(flag):
            layers.append(name)
    if "mntns" in layers and not _mount(None, "/", None, _MS_REC | _MS_PRIVATE, None):
        layers.remove("mntns")  # without private propagation our mounts would leak to the host: none
    return layers


def mount_proc() -> bool:
    """In the new pid namespace (as its pid 1): /proc shows this namespace's processes only."""
    return _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None)


def mount_quota(path: str, size_mb: int, inodes: int) -> bool:
    return _mount("tmpfs", path, "tmpfs", _MS_NOSUID | _MS_NODEV,
                  f"size={size_mb}m,nr_inodes={inodes},mode=0711")  # fmt: skip


def kill_namespace() -> None:
    """As pid 1 of a pid namespace: SIGKILL every other process in it, then reap them all."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(-1, signal.SIGKILL)
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


# --- the pids cgroup -----------------------------------------------------------------------------


def _mounts() -> list[tuple[str, str, str]]:
    """(mount point, fs type, super options) of every cgroup mount."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fstype, _, opts = [*right.split(), "", "", ""][:3]
            if fstype in ("cgroup", "cgroup2"):
                found.append((left.split()[4], fstype, opts))
    return found


def pids_parent() -> str | None:
    """A directory where this process may create pids-limited cgroups, or None."""
    with open("/proc/self/cgroup") as f:
        mine = dict(line.rstrip("\n").split(":", 2)[1:] for line in f if line.count(":") >= 2)
    for point, fstype, opts in _mounts():
        if fstype == "cgroup" and "pids" in opts.split(",") and "pids" in mine:
            return os.path.join(point, mine["pids"].lstrip("/"))
    for point, fstype, _ in _mounts():
        if fstype == "cgroup2" and "" in mine:
            here = os.path.join(point, mine[""].lstrip("/"))
            # v2 forbids processes in inner nodes: our slots are siblings of our own cgroup.
            parent = os.path.dirname(here.rstrip("/")) if mine[""] != "/" else point
            with contextlib.suppress(OSError), open(os.path.join(parent, "cgroup.subtree_control")) as f:
                if "pids" in f.read().split():
                    return parent
    return None


def create_pids(name: str, limit: int) -> str | None:
    parent = pids_parent()
    if parent is None:
        return None
    path = os.path.join(parent, name)
    try:
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "pids.max"), "w") as f:
            f.write(str(limit))
    except OSError:
        remove_cgroup(path)
        return None
    return path


def join(path: str) -> None:
    """Move the calling process into the cgroup (``0`` means "me", in any pid namespace)."""
    with open(os.path.join(path, "cgroup.procs"), "w") as f:
        f.write("0")


def remove_cgroup(path: str) -> None:
    for _ in range(50):
        try:
            with open(os.path.join(path, "cgroup.procs")) as f:
                pids = [int(p) for p in f.read().split()]
        except OSError:
            return
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        try:
            os.rmdir(path)
            return
        except OSError:
            import time

            time.sleep(0.02)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_cgroups() -> int:
    """Remove the pids cgroups of scorers that are gone (killed before they could clean up)."""
    parent = pids_parent()
    swept = 0
    for path in glob.glob(os.path.join(parent or "/nonexistent", CGROUP_PREFIX + "*")):
        owner = os.path.basename(path)[len(CGROUP_PREFIX) :].split("-")[0]  # the scorer's pid
        if owner.isdigit() and int(owner) != os.getpid() and not pid_alive(int(owner)):
            remove_cgroup(path)
            swept += 1
    return swept
