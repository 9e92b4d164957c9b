"""open-r1's ``accuracy_reward``, replayed for ``rewardkit audit --function`` (open-r1 is not on PyPI).

Provenance: huggingface/open-r1, ``src/open_r1/rewards.py`` at commit 0056faa6b77d73663b353d5422a4828bc9d83218
(Apache-2.0). Written here from its configuration, not copied: the gold is parsed with math-verify's
``LatexExtractionConfig()`` in ``first_match`` mode; the completion (the first message's content) with
``NormalizationConfig(nits=False, malformed_operators=False, basic_latex=True, equations=True, boxed="all",
units=True)``, ``boxed_match_priority=0`` and ``try_extract_without_anchor=False``, also ``first_match``;
the reward is ``float(verify(answer, gold))``, 0.0 when verify raises, and 1.0 when the gold does not parse
(open-r1's way of "skipping" a row, which pays every completion of it).
"""

from __future__ import annotations

from typing import Any

from latex2sympy2_extended import NormalizationConfig
from math_verify import LatexExtractionConfig, parse, verify

_ANSWER_CONFIG = [
    LatexExtractionConfig(
        normalization_config=NormalizationConfig(
            nits=False, malformed_operators=False, basic_latex=True, equations=True, boxed="all", units=True
        ),
        boxed_match_priority=0,
        try_extract_without_anchor=False,
    )
]


def _one(text: str, gold: str) -> float:
    gold_parsed = parse(gold, extraction_mode="first_match", extraction_config=[LatexExtractionConfig()])
    if not gold_parsed:
        return 1.0
    answer = parse(text, extraction_config=_ANSWER_CONFIG, extraction_mode="first_match")
    try:
        return float(verify(answer, gold_parsed))
    except Exception:
        return 0.0


def accuracy_reward(completions: list[list[dict[str, str]]], solution: list[str], **kwargs: Any) -> list[float]:
    return [_one(completion[0]["content"], gold) for completion, gold in zip(completions, solution, strict=False)]
