"""Held-out accuracy: greedy answers to questions never trained on, scored by the training's own reward.

    eval:
      path: heldout.jsonl     # default: the tiny_arithmetic block's held-out split
      rewards: [math]         # default: the training rewards' `math` term, with their reference column
      max_new_tokens: 16
      batch_size: 64

The score of a question is the reward's value for the greedy completion (1 or 0 for `math`), so the
number reported is exactly what the reward would have paid; ``format`` is the share of completions with a
well-formed ``<answer>`` block (`think_format` >= 1), to tell "wrong answer" from "no answer".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rewardkit import compose
from rewardkit.errors import ConfigError

from .warmup import prompt_text

KEYS = {"path", "rewards", "max_new_tokens", "batch_size"}


def reward_config(block: Mapping[str, Any], training_rewards: Mapping[str, Any]) -> dict[str, Any]:
    """The composition that scores held-out answers: ``eval.rewards`` or the training block's `math` term."""
    reference = training_rewards.get("reference_column", "answer")
    if "rewards" in block:
        return {"reference_column": reference, "rewards": block["rewards"]}
    terms = [t for t in training_rewards.get("rewards", []) if isinstance(t, Mapping) and t.get("name") == "math"]
    if not terms:
        raise ConfigError("eval: the training rewards have no 'math' term; set eval.rewards")
    term = {k: v for k, v in terms[0].items() if k != "gate"}  # scored alone: no format gate
    return {"reference_column": reference, "rewards": [{**term, "weight": 1.0}]}


def generate(model: Any, tokenizer: Any, prompts: Sequence[Any], max_new_tokens: int, batch_size: int) -> list[str]:
    """Greedy completions, decoded as TRL decodes them (special tokens skipped)."""
    import torch

    side, tokenizer.padding_side = tokenizer.padding_side, "left"  # decoder-only: pad on the left
    out: list[str] = []
    try:
        for start in range(0, len(prompts), batch_size):
            texts = [prompt_text(p, tokenizer) for p in prompts[start : start + batch_size]]
            enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.no_grad():
                ids = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                     pad_token_id=tokenizer.pad_token_id)
            out += tokenizer.batch_decode(ids[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    finally:
        tokenizer.padding_side = side
    return out


def accuracy(model: Any, tokenizer: Any, dataset: Any, block: Mapping[str, Any],
             training_rewards: Mapping[str, Any]) -> dict[str, Any]:
    """Mean reward and well-formed share of greedy completions on ``dataset`` (rows with ``prompt``)."""
    unknown = set(block) - KEYS
    if unknown:
        raise ConfigError(f"eval: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(KEYS))})")
    was_training = model.training
    model.eval()
    rows = dataset.to_list()
    completions = generate(model, tokenizer, [r["prompt"] for r in rows], int(block.get("max_new_tokens", 16)),
                           int(block.get("batch_size", 64)))
    model.train(was_training)
    columns = {k: [r[k] for r in rows] for k in rows[0] if k != "prompt"} if rows else {}
    values = compose(reward_config(block, training_rewards))(completions=completions, **columns)
    formatted = compose({"rewards": [{"name": "think_format"}]})(
        prompts=[r["prompt"] for r in rows], completions=completions)
    scored = [v for v in values if v is not None]
    return {
        "accuracy": sum(scored) / len(scored) if scored else None,
        "format": sum(1 for v in formatted if v is not None and v >= 1) / max(1, len(rows)),
        "questions": len(rows),
        "examples": completions[:3],
    }
