"""What `rewardkit check` scores for the math reward: the gold as a model writes it, and a sure miss."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from .compare import prepare_gold


def boxed_gold(row: Mapping[str, Any], gold: Any, params: Any) -> str | None:
    """The gold in a closing sentence, boxed as models write it (bare golds are read as answers, not prose)."""
    if gold is None or not str(gold).strip():
        return None
    text = str(gold)
    return text if "\\boxed" in text else f"The final answer is $\\boxed{{{text}}}$."


def wrong_answer(row: Mapping[str, Any], gold: Any, params: Any) -> str:
    """An answer that must not match the gold: another choice letter, the gold plus one, or a sentinel."""
    text = str(gold or "")
    g = prepare_gold(text)
    if g.choice is not None:
        miss = "A" if g.choice != "A" else "B"
    elif g.number is not None and g.number.value.denominator == 1 and not g.number.percent:
        miss = str(g.number.value + Fraction(1))
    else:
        miss = "-987654321" if "987654321" not in text else "-123456789"
    return f"The final answer is $\\boxed{{{miss}}}$."
