"""What `rewardkit check` scores for the code reward: the row's reference solution, and a program doing nothing."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any

#: Columns that may hold a reference program, tried in order after the gold column.
SOLUTION_COLUMNS = ("canonical_solution", "solution", "code", "solutions")


def reference_program(row: Mapping[str, Any], gold: Any, params: Any) -> str | None:
    """The row's reference solution, fenced as a model writes it (None when the row has none)."""
    for value in (gold, *(row.get(name) for name in SOLUTION_COLUMNS)):
        if isinstance(value, str) and value.lstrip().startswith("["):
            with contextlib.suppress(ValueError):
                value = json.loads(value)  # APPS stores its solutions as a JSON string
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, str) and value.strip():
            return _fenced(value, getattr(params, "language", "python"))
    return None


def empty_program(row: Mapping[str, Any], gold: Any, params: Any) -> str:
    """A program that does nothing: a dataset whose tests it passes tests nothing."""
    language = getattr(params, "language", "python")
    return _fenced("int main() { return 0; }" if language == "cpp" else "pass", language)


def _fenced(code: str, language: str) -> str:
    return code if "```" in code else f"```{language}\n{code}\n```"
