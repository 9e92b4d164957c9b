"""The lock-down the fork server prepares once (child.Prepared) must hold exactly as one built per fork.

Every run shares one scratch directory per server (a Landlock rule binds an inode), one pair of rulesets,
one environment and an empty capability bounding set. What that must not change, as an attacker would
try it: nothing a run leaves in the directory reaches the next run, whatever its shape; a run that changes
the directory's mode does not change the next one's; the judge still cannot read or write the
candidate's directory; no run holds a capability, nor a prepared ruleset descriptor.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from rewardkit.rewards.code.sandbox import server
from rewardkit.types import Status

from .conftest import needs_isolation
from .test_attacks import _score

STDIO = {"tests": [{"input": "", "output": "clean\n"}]}

LEAVE_BEHIND = r"""
import os
open('.hidden', 'w').write('x')
open('plain.txt', 'w').write('answer=42')
os.makedirs('deep/er/still', exist_ok=True)
open('deep/er/still/f', 'w').write('x')
os.makedirs('locked/inner')
os.chmod('locked/inner', 0)
os.chmod('locked', 0)
open('ro', 'w').write('x'); os.chmod('ro', 0o400)
os.symlink('/usr', 'link-out')
os.symlink('plain.txt', 'link-in')
try:
    os.mkfifo('fifo')  # refused by the filter today; left here should that change
except OSError:
    pass
os.chmod('.', 0o777)
print('clean')
"""

LOOK = r"""
import os, stat
left = sorted(os.listdir('.'))
mode = stat.S_IMODE(os.stat('.').st_mode)
print('clean' if not left and mode == 0o700 else f'left={left} mode={oct(mode)}')
"""


@needs_isolation
def test_nothing_a_run_leaves_reaches_the_next_run_of_the_same_server() -> None:
    scores = _score([(LEAVE_BEHIND, STDIO), (LOOK, STDIO), (LEAVE_BEHIND, STDIO), (LOOK, STDIO)], slots=1)
    assert [(s.value, s.status) for s in scores] == [(1.0, Status.OK)] * 4, [s.reason for s in scores]


@needs_isolation
def test_the_judge_cannot_read_or_write_the_candidates_directory() -> None:
    # The candidate writes a file at import; the tests (the judge's process) try to read it and to write
    # beside it. The judge's HOME names that directory (one environment per server), so the path is known.
    setup = (
        "import os\n"
        "def judge_reaches(name):\n"
        "    path = os.path.join(os.environ['HOME'], name)\n"
        "    for how in ('r', 'w'):\n"
        "        try:\n"
        "            open(path, how).close()\n"
        "            return True\n"
        "        except OSError:\n"
        "            pass\n"
        "    return False\n"
    )
    row = {"test_list": ["assert wrote() and not judge_reaches('note.txt')", "assert not judge_reaches('new.txt')"],
           "test_setup_code": setup}  # fmt: skip
    code = "open('note.txt', 'w').write('secret')\ndef wrote():\n    return True"
    [score] = _score([(code, row)], slots=1)
    assert (score.value, score.status) == (1.0, Status.OK), score.reason


CAPS = r"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
bounding = [c for c in range(41) if libc.prctl(23, c, 0, 0, 0) == 1]   # PR_CAPBSET_READ
class Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
class Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]
data = (Data * 2)()
libc.syscall.restype = ctypes.c_long
got = libc.syscall(125, ctypes.byref(Header(0x20080522, 0)), data)   # capget
held = [getattr(d, f) for d in data for f in ("effective", "permitted", "inheritable")]
print('clean' if got == 0 and not bounding and not any(held) else f'bounding={bounding} held={held} got={got}')
"""


@needs_isolation
@pytest.mark.skipif(os.geteuid() != 0, reason="capabilities are dropped only when the scorer runs as root")
def test_no_run_holds_a_capability_nor_a_bounding_set() -> None:
    [stdio, split] = _score([(CAPS, STDIO), (CAPS.replace("print(", "RESULT = (") + "\ndef caps():\n    return RESULT",
                                             {"test_list": ["assert caps() == 'clean', caps()"]})])  # fmt: skip
    assert (stdio.value, stdio.status) == (1.0, Status.OK), stdio.reason
    assert (split.value, split.status) == (1.0, Status.OK), split.reason


FDS = r"""
import os
def open_fds():
    found = []
    for fd in range(3, 1024):
        try:
            os.fstat(fd)
            found.append(fd)
        except OSError:
            pass
    return found
"""


@needs_isolation
def test_no_prepared_ruleset_or_server_descriptor_reaches_a_program() -> None:
    # The rulesets sit at fd >= 200 in the server; a child closes what is not its own. The split's
    # candidate keeps exactly its call pipes (3, 4); a stdin/stdout program nothing past stderr.
    stdio_code = FDS + "print('clean' if open_fds() == [] else open_fds())"
    split_row = {"test_list": ["assert fds() == [3, 4], fds()"]}
    [stdio, split] = _score([(stdio_code, STDIO), (FDS + "def fds():\n    return open_fds()", split_row)])
    assert (stdio.value, stdio.status) == (1.0, Status.OK), stdio.reason
    assert (split.value, split.status) == (1.0, Status.OK), split.reason


# -- the directory's emptying itself ---------------------------------------------------------------------


def _tree(root: Path) -> None:
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "f").write_text("x")
    (root / ".h").write_text("x")
    outside = root.parent / "outside"
    outside.mkdir()
    (outside / "keep").write_text("x")
    (root / "to-outside").symlink_to(outside)
    (root / "dangling").symlink_to(root / "nowhere")
    root.chmod(0o755)


def test_emptied_removes_everything_follows_no_link_and_restores_the_mode(tmp_path: Path) -> None:
    scratch = tmp_path / "run0"
    scratch.mkdir()
    _tree(scratch)
    assert server._emptied(str(scratch))
    assert list(scratch.iterdir()) == [] and (scratch.stat().st_mode & 0o777) == 0o700
    assert (tmp_path / "outside" / "keep").exists()  # a link's target is not the run's to lose


def test_emptied_says_so_when_something_stays(tmp_path: Path, monkeypatch: Any) -> None:
    scratch = tmp_path / "run0"
    scratch.mkdir()
    (scratch / "stuck").write_text("x")

    def refuse(path: Any, *args: Any, **kwargs: Any) -> None:
        raise PermissionError(1, "Operation not permitted", path)

    monkeypatch.setattr(server.os, "unlink", refuse)
    assert not server._emptied(str(scratch))  # so the server makes a new directory instead
    assert not server._emptied(str(tmp_path / "gone"))
