"""Reward functions of every shape `rewardkit audit --function` reads, written as users write them."""

from __future__ import annotations

import os
import re
from typing import Any

from rewardkit import compose

#: rewardkit's own math reward, as a TRL reward function (a `Composition` is one).
rewardkit_math = compose({"name": "math", "rewards": [{"name": "math"}]})


def substring_reward(completions, answer, **kwargs):  # type: ignore[no-untyped-def]
    """TRL shape, text completions, no annotations: the gold anywhere in the text (hedges pass)."""
    return [1.0 if str(a) in c else 0.0 for c, a in zip(completions, answer, strict=True)]


def first_message_only(completions, answer, **kwargs):  # type: ignore[no-untyped-def]
    """TRL shape, chat completions, no annotations (open-r1's style)."""
    return [1.0 if c[0]["content"].strip() == str(a) else 0.0 for c, a in zip(completions, answer, strict=True)]


def always_one(completions: list[Any], **kwargs: Any) -> list[float]:
    return [1.0] * len(completions)


def always_zero(completions: list[Any], **kwargs: Any) -> list[float]:
    return [0.0] * len(completions)


def skip_all(completions: list[Any], **kwargs: Any) -> list[float | None]:
    return [None] * len(completions)


def wrong_length(completions: list[Any], **kwargs: Any) -> list[float]:
    return [1.0, 1.0]


def compute_score(data_source: str, solution_str: str, ground_truth: str, extra_info: Any = None) -> dict[str, Any]:
    """verl shape: the last number in the response equals the gold."""
    numbers = re.findall(r"-?\d+(?:\.\d+)?", solution_str)
    ok = bool(numbers) and numbers[-1] == str(ground_truth).strip()
    return {"score": 1.0 if ok else 0.0, "acc": ok, "data_source": data_source}


def exact(completion: str, reference: str) -> bool:
    """pair shape: the whole completion is the gold."""
    return completion.strip() == str(reference).strip()


def hangs(completion: str, reference: str) -> float:
    while True:
        pass


def dies(completion: str, reference: str) -> float:
    os._exit(3)


def raises(completion: str, reference: str) -> float:
    raise ValueError("cannot parse")


not_a_function = 42


def odd_shape(x: Any) -> float:
    return 0.0
