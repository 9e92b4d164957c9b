"""A brief supervised warm-up on the answer *format* only, with random answers, before GRPO.

A random model almost never writes ``</think><answer>N</answer>``, so GRPO would spend its first hundreds
of steps finding the format. The warm-up teaches the format with answers drawn at random from the
training answers' values: after it the policy writes well-formed answers that are right only by chance
(about 1 in the number of distinct answers), so whatever correctness it gains later comes from the reward.
The draw depends on the seed alone, never on which gold belongs to which question, so a control run with
shuffled golds starts from exactly the same warmed-up model.

    warmup:
      steps: 300
      batch_size: 32
      learning_rate: 3.0e-3
      completion: "{question}</think><answer>{answer}</answer>"   # {answer} is the random one
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rewardkit.errors import ConfigError

KEYS = {"steps", "batch_size", "learning_rate", "completion"}
DEFAULTS: dict[str, Any] = {
    "steps": 300,
    "batch_size": 32,
    "learning_rate": 3e-3,
    "completion": "{question}</think><answer>{answer}</answer>",
}


def settings(block: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(block) - KEYS
    if unknown:
        raise ConfigError(f"warmup: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(KEYS))})")
    return {**DEFAULTS, **block, "learning_rate": float(block.get("learning_rate", DEFAULTS["learning_rate"]))}


def prompt_text(prompt: Any, tokenizer: Any) -> str:
    """A dataset prompt as the text the policy continues (chat prompts through the chat template)."""
    if isinstance(prompt, str):
        return prompt
    return str(tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True))


def examples(rows: Sequence[Mapping[str, Any]], question: str, answer: str, template: str, tokenizer: Any,
             rng: random.Random, count: int) -> list[tuple[list[int], int]]:
    """``count`` (token ids, prompt length) pairs: a random row's prompt and the template's completion."""
    pool = sorted({str(r[answer]) for r in rows})
    out = []
    for _ in range(count):
        row = rows[rng.randrange(len(rows))]
        prompt_ids = tokenizer(prompt_text(row["prompt"], tokenizer), add_special_tokens=False)["input_ids"]
        text = template.format(question=row[question], answer=rng.choice(pool))
        completion = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        out.append((prompt_ids + completion, len(prompt_ids)))
    return out


def _batch(items: list[tuple[list[int], int]], pad_id: int) -> dict[str, Any]:
    import torch

    width = max(len(ids) for ids, _ in items)
    input_ids = torch.full((len(items), width), pad_id)
    labels = torch.full((len(items), width), -100)  # the loss is on the completion only
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for i, (ids, plen) in enumerate(items):
        input_ids[i, : len(ids)] = torch.tensor(ids)
        mask[i, : len(ids)] = 1
        labels[i, plen : len(ids)] = torch.tensor(ids[plen:])
    return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}


def warm_up(model_path: str, dataset: Any, block: Mapping[str, Any], columns: tuple[str, str],
            output_dir: Path, seed: int) -> tuple[str, float]:
    """Train ``model_path`` on the format for ``steps`` steps; save it to ``output_dir``; return (path, loss)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cfg = settings(block)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path)
    rows = dataset.to_list()
    rng = random.Random(seed)
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg["learning_rate"])
    model.train()
    loss = float("nan")
    for _ in range(int(cfg["steps"])):
        items = examples(rows, *columns, cfg["completion"], tokenizer, rng, int(cfg["batch_size"]))
        out = model(**_batch(items, tokenizer.pad_token_id))
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        loss = float(out.loss.detach())
    model.save_pretrained(str(output_dir))
    tokenizer.save_pretrained(str(output_dir))
    return str(output_dir), loss
