"""The verl 0.9.1 conformance suite runs where verl imports (its venv, `.ci/venv-verl`); elsewhere it is not
collected, and `tests/integrations/test_verl.py` runs it in that venv. CI sets REWARDKIT_REQUIRE_VERL=1 there,
so a verl that fails to import is an error, never a silent skip."""

from __future__ import annotations

import importlib.util
import os

if importlib.util.find_spec("verl") is None and not os.environ.get("REWARDKIT_REQUIRE_VERL"):
    collect_ignore_glob = ["test_*.py"]
else:
    from ._support import fresh_adapter, tokenizer, tokenizer_dir  # noqa: F401
