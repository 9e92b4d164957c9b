"""Every snippet in the docs runs as written, so the docs cannot drift from the code.

Python blocks are executed; in shell blocks, every ``rewardkit ...`` command is run and must exit 0. Both run
in a scratch directory holding a copy of ``examples/`` (so the docs' relative paths work and nothing lands in
the checkout). A block preceded by ``<!-- test: NAME -->`` is run by that page's own test. Install lines
(``pip ...``), long-running servers (``rewardkit serve``), training and benchmark runs are not executed here;
a block preceded by ``<!-- not run: reason -->`` is skipped, with its reason.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted({ROOT / "README.md", ROOT / "training/README.md", *ROOT.glob("docs/**/*.md"),
               ROOT / "rewardkit/server/README.md"})
# ``<!-- test: NAME -->``: the block is run by a named test of its own page (with the setup it needs).
_BLOCK = re.compile(r"(<!-- (?:not run|test): [^>]*-->\s*)?```(python|bash)\n(.*?)```", re.S)
_NOT_RUN_COMMANDS = ("rewardkit serve",)


def _blocks() -> list[tuple[str, str, str]]:
    found = []
    for doc in DOCS:
        if not doc.exists():
            continue
        for n, m in enumerate(_BLOCK.finditer(doc.read_text(encoding="utf-8"))):
            if m.group(1) is None:
                found.append((f"{doc.relative_to(ROOT)}#{n}", m.group(2), m.group(3)))
    return found


BLOCKS = _blocks()


def test_the_docs_have_runnable_blocks() -> None:
    assert len([b for b in BLOCKS if b[1] == "python"]) >= 3  # a collector that finds nothing must fail


def _commands(script: str) -> list[str]:
    joined = script.replace("\\\n", " ")
    out = []
    for line in joined.splitlines():
        line = re.sub(r"\s+#\s.*$", "", line).strip()
        for part in line.split("&&"):
            part = part.strip()
            if part.startswith("rewardkit ") and not part.startswith(_NOT_RUN_COMMANDS):
                out.append(part)
    return out


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


@pytest.mark.parametrize(("where", "kind", "body"), BLOCKS, ids=[b[0] for b in BLOCKS])
def test_snippet_runs_as_written(where: str, kind: str, body: str, scratch: Path) -> None:
    if kind == "python":
        result = subprocess.run([sys.executable, "-c", body], cwd=scratch, env=_env(), capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, f"{where}:\n{result.stderr[-3000:]}"
        return
    commands = _commands(body)
    if not commands:
        pytest.skip(f"{where}: no rewardkit command to run (install or training lines only)")
    exe = [sys.executable, "-m", "rewardkit"]
    for command in commands:
        args = shlex.split(command)[1:]
        result = subprocess.run([*exe, *args], cwd=scratch, env=_env(), capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"{where}: {command}\n{result.stdout[-1500:]}\n{result.stderr[-3000:]}"
