"""rewardkit rewards as OpenRLHF's in-process reward function.

    python -m openrlhf.cli.train_ppo_ray ... --remote_rm_url examples/openrlhf_reward_func.py --label_key answer

OpenRLHF calls ``reward_func(queries, prompts, labels)`` with each query being the prompt followed by the
response; the response is what gets graded and the labels are the reference answers. The composition comes
from the YAML file in ``$REWARDKIT_CONFIG`` (the same file `rewardkit score` and `rewardkit serve` take),
or math plus a small format bonus when unset. ``$REWARDKIT_WORKERS`` worker processes (default 2) enforce
each reward's time budget with a kill.

To run the rewards on other machines instead, start ``rewardkit serve --config FILE --host 0.0.0.0`` there
and pass ``--remote_rm_url http://host:8000/get_reward`` (several URLs spread the load).

Run this file directly for a self-check without OpenRLHF: ``python examples/openrlhf_reward_func.py``.
"""

from __future__ import annotations

import os
from typing import Any

from rewardkit.compose import Composition, compose
from rewardkit.server.protocol import get_reward_response, strip_prompt

DEFAULT = {"name": "openrlhf", "rewards": [{"name": "math"}, {"name": "think_format", "weight": 0.1}]}
_reward: Composition | None = None


def _composition() -> Composition:
    global _reward
    if _reward is None:
        path = os.environ.get("REWARDKIT_CONFIG")
        _reward = compose(path or DEFAULT, workers=int(os.environ.get("REWARDKIT_WORKERS", "2")))
    return _reward


def reward_func(queries: list[str], prompts: list[str], labels: list[Any], **kwargs: Any) -> dict[str, Any]:
    """``rewards`` (advantages), ``scores`` (dynamic filtering) and ``extra_logs`` (per-term, to wandb)."""
    reward = _composition()
    completions = []
    for i, (query, prompt) in enumerate(zip(queries, prompts, strict=True)):
        rest = strip_prompt(query, prompt)
        if rest is None:
            raise ValueError(f"query {i} does not start with (or contain) its prompt; cannot find the response")
        completions.append(rest)
    results = reward.score(prompts=prompts, completions=completions,
                           **{reward.config.reference_column: labels})  # fmt: skip
    reply = get_reward_response(results, null_reward=0.0)  # a masked total is 0 and flagged in the logs
    try:
        import torch
    except ImportError:  # the self-check below runs without torch
        return reply
    return {
        "rewards": torch.tensor(reply["rewards"], dtype=torch.float32),
        "scores": torch.tensor(reply["scores"], dtype=torch.float32),
        "extra_logs": {k: torch.tensor(v, dtype=torch.float32) for k, v in reply["extra_logs"].items()},
    }


if __name__ == "__main__":
    prompts = ["<|user|>What is 6*7?<|assistant|>", "<|user|>What is 2+2?<|assistant|>"]
    responses = ["<think>6*7=42</think>\n<answer>42</answer>", "It is 5."]
    out = reward_func([p + r for p, r in zip(prompts, responses, strict=True)], prompts, ["42", "4"])
    print({k: v for k, v in out.items() if k != "extra_logs"})
    print(out["extra_logs"])
    _composition().close()
