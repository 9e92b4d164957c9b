"""`.ci/sandbox-guard.sh`, which wraps the whole CI suite: its exit status must be the command's.

Why this test exists: a `set -e` slip in the guard's cleanup (an `rmdir` of a glob that matched
nothing) turned a green suite (2,549 passed) into CI exit 1 on a cgroup v1 machine. The guard runs
here exactly as CI runs it; when no cgroup is writable it runs unguarded and the statuses must still hold.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

GUARD = Path(__file__).resolve().parents[1] / ".ci" / "sandbox-guard.sh"


def guard(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(GUARD), *command], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("command", "status"), [(["true"], 0), (["false"], 1), (["bash", "-c", "exit 5"], 5)])
def test_exit_status_is_the_commands(command: list[str], status: int) -> None:
    result = guard(*command)
    assert result.returncode == status, result.stderr


def test_no_guard_cgroup_is_left_behind() -> None:
    result = guard("true")
    assert result.returncode == 0, result.stderr
    made = [line.split(" in ", 1)[1].split() for line in result.stderr.splitlines() if " in /sys/fs/cgroup/" in line]
    if not made:  # guarded runs say "pids.max=... in DIR [DIR]"
        pytest.skip("no writable cgroup here: the guard runs unguarded and makes none")
    for directory in made[0]:
        assert not Path(directory).exists(), f"{directory} left behind"


def test_a_process_left_running_fails_the_run() -> None:
    result = guard("bash", "-c", "sleep 60 & disown; exit 0")
    if "WARNING: no writable" in result.stderr:
        pytest.skip("no writable cgroup here: the guard runs unguarded and cannot see leftovers")
    assert result.returncode == 1, result.stderr
    assert "left running" in result.stderr
