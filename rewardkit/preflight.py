"""Completion builders for `rewardkit check`, shared by rewards that declare them in their `RewardSpec`.

`check` scores, for every dataset row, a completion that must earn the top of a reward's range (the gold
written as a model would) and one that must earn the bottom; a reward says how to build both
(``gold_completion`` / ``wrong_completion``). These are the builders most rewards need.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: An answer no gold can match; the generic wrong completion.
DONT_KNOW = "I don't know."


def gold_text(row: Mapping[str, Any], gold: Any, params: Any) -> str | None:
    """The gold itself as the completion (None when the row has none)."""
    if gold is None or not str(gold).strip():
        return None
    return str(gold)


def dont_know(row: Mapping[str, Any], gold: Any, params: Any) -> str:
    return DONT_KNOW
