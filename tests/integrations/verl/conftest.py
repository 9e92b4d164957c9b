"""The verl 0.9.1 conformance suite runs where verl is installed (its venv, `.ci/venv-verl`); elsewhere it is
not collected, and `tests/integrations/test_verl.py` runs it in that venv, failing when the venv is missing
under CI (REWARDKIT_REQUIRE_VERL=1) or when the suite there passes nothing. A verl that is installed but
fails to import is a collection error, never a skip."""

from __future__ import annotations

import importlib.util

if importlib.util.find_spec("verl") is None:
    collect_ignore_glob = ["test_*.py"]
else:
    from ._support import fresh_adapter, tokenizer, tokenizer_dir  # noqa: F401
