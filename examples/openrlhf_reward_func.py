"""rewardkit rewards as OpenRLHF's in-process reward function (OpenRLHF 0.11).

    python -m openrlhf.cli.train_ppo_ray ... --reward.remote_url examples/openrlhf_reward_func.py \
        --data.label_key answer

OpenRLHF loads this file by path and calls ``reward_func(queries, prompts, labels)`` once per sample, from
many rollouts at once. Everything is done by `rewardkit.integrations.openrlhf.reward_func`: the response is
the query after its prompt, without the trailing ``<|im_end|>``; labels are the gold answers (or code
tests as JSON); the composition is the YAML file in ``$REWARDKIT_CONFIG`` (the file `rewardkit score`
and `rewardkit serve` take; math plus a small format bonus when unset), scored in ``$REWARDKIT_WORKERS``
worker processes (default 2) that coalesce concurrent calls and enforce each reward's time budget.

To run the rewards on other machines instead, start ``rewardkit serve --config FILE --host 0.0.0.0`` there
and pass ``--reward.remote_url http://host:8000/get_reward`` (several URLs, comma-separated, rotate).

Run this file directly for a self-check without OpenRLHF: ``python examples/openrlhf_reward_func.py``.
"""

from __future__ import annotations

from rewardkit.integrations.openrlhf import default_reward, reward_func

__all__ = ["reward_func"]

if __name__ == "__main__":
    prompt = "<|im_start|>user\nWhat is 6*7?<|im_end|>\n<|im_start|>assistant\n"
    response = "<think>6*7=42</think>\n<answer>42</answer><|im_end|>"
    out = reward_func([prompt + response], [prompt], ["42"])  # one sample per call, as OpenRLHF sends
    print({k: v for k, v in out.items() if k != "extra_logs"})
    print(out["extra_logs"])
    default_reward().close()
