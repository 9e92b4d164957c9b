"""What keeps a run cheap: every run is a fork of the fork server, so the server's heap must not be copied.

CPython's cyclic collector writes to every object it scans; a child whose first collection scanned the
inherited heap would copy most of it, page by page (perf on `benchmarks/bench_code.py` showed the kernel's
copy-on-write and unmap paths as the top cost). The server freezes its heap before it serves, so children
scan only what they allocate. Checked from inside a program, in both run shapes (stdin/stdout and the
split's candidate process).
"""

from __future__ import annotations

from rewardkit.types import Status

from .conftest import needs_isolation
from .test_attacks import _score

pytestmark = needs_isolation

FROZEN = "import gc\nfrozen = gc.get_freeze_count()"


def test_a_stdio_program_runs_on_a_frozen_heap() -> None:
    row = {"tests": [{"input": "", "output": "frozen\n"}]}
    [score] = _score([(FROZEN + "\nprint('frozen' if frozen > 1000 else frozen)", row)])
    assert (score.value, score.status) == (1.0, Status.OK), score.reason


def test_the_split_candidate_runs_on_a_frozen_heap() -> None:
    row = {"test_list": ["assert frozen_objects() > 1000"]}
    code = "def frozen_objects():\n    import gc\n    return gc.get_freeze_count()"
    [score] = _score([(code, row)])
    assert (score.value, score.status) == (1.0, Status.OK), score.reason


def test_the_fork_server_carries_the_sandbox_alone_not_the_library() -> None:
    # Booted as `rewardkit_sandbox` from its own directory: rewardkit's __init__ (pluggy, yaml, the scorer,
    # ~270 modules) is never imported, so each fork has ~40% less heap to copy and unmap.
    program = "import sys\nlibrary = [m for m in sys.modules if m == 'rewardkit' or m.startswith('rewardkit.')]\n"
    program += "print('alone' if not library and 'yaml' not in sys.modules else library)"
    [score] = _score([(program, {"tests": [{"input": "", "output": "alone\n"}]})])
    assert (score.value, score.status) == (1.0, Status.OK), score.reason


def test_the_fork_server_runs_no_site_but_programs_keep_what_site_gives() -> None:
    # `python -S`: no .pth file of site-packages runs in the server (they imported ~80 modules, threading's
    # at-fork hook among them, into every fork); programs still find site-packages and the site builtins.
    program = "import sys, threading\nassert sys.flags.no_site and any(p.endswith('site-packages') for p in sys.path)\n"
    program += "assert callable(exit) and callable(quit) and repr(help) and repr(copyright)\nquit(0)"
    [score] = _score([(program, {"tests": [{"input": "", "output": ""}]})])
    assert (score.value, score.status) == (1.0, Status.OK), score.reason
