"""Composed rewardkit rewards in a hand-written TRL GRPO script, in the shape of TRL's quickstart.

    pip install torch==2.13.0 && pip install -e ".[train]"   # from the checkout; see README for other torch builds
    python examples/trl_compose.py                       # Qwen2.5-0.5B-Instruct on GSM8K (GPU, network)
    python examples/trl_compose.py --tiny --max-steps 20 # a tiny random model built locally (CPU, offline)

Each top-level term becomes its own reward function, so TRL logs rewards/think_format/mean and
rewards/math/mean beside the total; an infrastructure failure (a sandbox or judge down) is None, which TRL
masks, and counts appear as rewardkit/<term>/errors.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

# transformers 5 deprecation notices raised by TRL's own calls; not actionable here.
warnings.filterwarnings("ignore", message=".*gradient_checkpointing.*is deprecated", category=FutureWarning)

from datasets import Dataset, load_dataset  # noqa: E402
from trl import GRPOConfig, GRPOTrainer  # noqa: E402

from rewardkit.compose import compose  # noqa: E402
from rewardkit.integrations.trl import reward_funcs, reward_weights  # noqa: E402

SYSTEM_PROMPT = (
    "Think step by step inside <think></think>, then give only the final answer inside <answer></answer>."
)

# The same mapping a `rewards:` YAML block holds; compose("rewards.yaml") reads one from a file.
reward = compose({
    "reference_column": "answer",
    "rewards": [
        {"name": "think_format", "weight": 0.2},
        {"name": "math", "weight": 1.0},
    ],
})


def gsm8k() -> Dataset:
    data = load_dataset("openai/gsm8k", "main", split="train")
    return data.map(lambda row: {
        "prompt": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": row["question"]}],
        "answer": row["answer"].split("####")[-1].strip(),  # the gold number after GSM8K's '####'
    })


def tiny_setup() -> tuple[str, Dataset]:
    """A random tiny model with a character tokenizer, and one-digit sums: runs anywhere, offline."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from training import tiny

    model_dir = tiny.build_model(Path(tempfile.mkdtemp()) / "tiny", {"chars": "0123456789+="})
    rows = tiny.arithmetic_rows(256)
    demo = "<think>1+1</think><answer>2</answer>"  # the only 'system prompt' a character model reads
    return str(model_dir), Dataset.from_list([{"prompt": f"{demo}{r['question']}=<think>", **r} for r in rows])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tiny", action="store_true", help="tiny local model on CPU instead of Qwen2.5-0.5B")
    parser.add_argument("--max-steps", type=int, default=200)
    parser.add_argument("--output-dir", default=str(Path(tempfile.gettempdir()) / "rewardkit-trl-compose"),
                        help="where TRL writes checkpoints and logs (default: a temporary directory)")
    ns = parser.parse_args()
    if ns.tiny:
        model, dataset = tiny_setup()
        hardware = {"use_cpu": True, "bf16": False, "learning_rate": 1e-3, "max_completion_length": 16,
                    "per_device_train_batch_size": 64, "generation_kwargs": {"min_new_tokens": 4}}
    else:
        model, dataset = "Qwen/Qwen2.5-0.5B-Instruct", gsm8k()
        hardware = {"bf16": True, "learning_rate": 1e-6, "max_completion_length": 512,
                    "per_device_train_batch_size": 16}
    args = GRPOConfig(
        output_dir=ns.output_dir,
        num_generations=8,
        max_steps=ns.max_steps,
        logging_steps=1,
        report_to="none",
        reward_weights=reward_weights(reward),  # the composition's weights, in reward_funcs' order
        **hardware,
    )
    trainer = GRPOTrainer(model=model, reward_funcs=reward_funcs(reward), args=args, train_dataset=dataset)
    trainer.train()


if __name__ == "__main__":
    main()
