"""The reward's share of a TRL GRPO step: rewardkit (format + math + code) against a trivial reward.

    python benchmarks/bench_training.py [--steps 6] [--prompts 8] [--generations 8] [--workers 0]

Both runs are the same GRPOTrainer step on a tiny random Qwen2 (built locally) over a mixed batch: GSM8K
questions and HumanEval problems. A random model's text would make every reward trivially cheap (no
answer to parse, no program to run), so the reward is handed realistic completions instead: for a GSM8K
row a model solution from OpenAI's released GSM8K samples, for a HumanEval row the reference program,
both in the think/answer format (the ``replay`` column). Generation and the update are real. The trivial
reward returns 0.0 per completion. Reward time is measured around the call; step time between TRL's steps
(the first step, which warms caches and the sandbox, is left out).

Data: ../shared/data/math/gsm8k_model_solutions.jsonl and ../shared/data/code/HumanEval.jsonl.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))


def mixed_rows(count: int) -> list[dict[str, Any]]:
    """Alternating GSM8K and HumanEval rows, each with the completion the reward will see."""
    math_rows = [json.loads(x) for x in (DATA / "math" / "gsm8k_model_solutions.jsonl").open()][: count]
    code_rows = [json.loads(x) for x in (DATA / "code" / "HumanEval.jsonl").open()][: count]
    out = []
    for i in range(count):
        if i % 2 == 0:
            m = math_rows[i // 2]
            replay = f"<think>{m['pred']}</think><answer>{m['pred_answer']}</answer>"
            out.append({"prompt": "Q: a word problem\n", "answer": m["gold"], "test": None, "entry_point": None,
                        "replay": replay})
        else:
            c = code_rows[i // 2]
            program = c["prompt"] + c["canonical_solution"]
            replay = f"<think>Write it.</think><answer>\n```python\n{program}\n```\n</answer>"
            out.append({"prompt": "Q: a function\n", "answer": None, "test": c["test"],
                        "entry_point": c["entry_point"], "replay": replay})
    return out


class Timed:
    """A TRL reward function scoring the ``replay`` completions, timing each call."""

    def __init__(self, inner: Any, name: str) -> None:
        self.inner, self.__name__ = inner, name
        self.seconds: list[float] = []
        self.values: list[float] = []

    def __call__(self, prompts: Any = None, completions: Any = None, **kwargs: Any) -> list[float | None]:
        start = time.perf_counter()
        values = self.inner(prompts=prompts, completions=kwargs["replay"], **kwargs)
        self.seconds.append(time.perf_counter() - start)
        self.values.extend(v for v in values if v is not None)
        return list(values)


def trivial(prompts: Any = None, completions: Any = None, **kwargs: Any) -> list[float]:
    return [0.0] * len(completions or [])


def run(reward: Timed, rows: list[dict[str, Any]], args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    import datasets
    from transformers import AutoTokenizer, TrainerCallback
    from trl.trainer.grpo_config import GRPOConfig
    from trl.trainer.grpo_trainer import GRPOTrainer

    from training import tiny

    model = tiny.build_model(workdir / "model", {"max_position_embeddings": 512})
    stamps: list[float] = []

    class Stamp(TrainerCallback):
        def on_step_end(self, *a: Any, **k: Any) -> None:
            stamps.append(time.perf_counter())

    config = GRPOConfig(
        output_dir=str(workdir / "out"), use_cpu=True, bf16=False, report_to="none", max_steps=args.steps,
        per_device_train_batch_size=args.prompts * args.generations, num_generations=args.generations,
        max_completion_length=args.length, learning_rate=1e-4, beta=0.0, logging_steps=1, save_strategy="no",
        disable_tqdm=True, activation_checkpointing=False, dataloader_num_workers=0, seed=0)
    trainer = GRPOTrainer(model=str(model), reward_funcs=[reward], args=config,
                          train_dataset=datasets.Dataset.from_list(rows),
                          processing_class=AutoTokenizer.from_pretrained(str(model)), callbacks=[Stamp()])
    from training.progress import quiet_default_printing

    quiet_default_printing(trainer)  # no 1,000-character log lines
    start = time.perf_counter()
    trainer.train()
    steps = [b - a for a, b in zip([start, *stamps], stamps, strict=False)][1:]  # the first step warms up
    rewards = reward.seconds[1:] if len(reward.seconds) > 1 else reward.seconds
    return {"step_s": statistics.median(steps), "reward_s": statistics.median(rewards),
            "mean_reward": statistics.fmean(reward.values) if reward.values else 0.0}


def main() -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--prompts", type=int, default=8, help="distinct prompts per step")
    parser.add_argument("--generations", type=int, default=8, help="completions per prompt")
    parser.add_argument("--length", type=int, default=64, help="max_completion_length")
    parser.add_argument("--workers", type=int, default=0, help="compose(..., workers=N); 0 = in process")
    args = parser.parse_args()
    torch.set_num_threads(1)
    from rewardkit import compose

    rows = mixed_rows(64)
    config = {"rewards": [{"name": "think_format", "weight": 0.2}, {"name": "math"}, {"name": "code"}]}
    ours = Timed(compose(config, workers=args.workers), "rewardkit")
    with tempfile.TemporaryDirectory() as tmp:
        base = run(Timed(trivial, "trivial"), rows, args, Path(tmp) / "trivial")
        kit = run(ours, rows, args, Path(tmp) / "rewardkit")
    n = args.prompts * args.generations
    print(f"GRPO step, {n} completions (half GSM8K, half HumanEval), tiny model, torch threads 1")
    print(f"{'reward':<34}{'step s':>8}{'reward s':>10}{'share':>8}{'mean':>7}")
    for name, r in (("trivial (0.0 per completion)", base), ("rewardkit format+math+code", kit)):
        print(f"{name:<34}{r['step_s']:>8.3f}{r['reward_s']:>10.3f}{r['reward_s'] / r['step_s']:>8.1%}"
              f"{r['mean_reward']:>7.2f}")
    print(f"step time ratio rewardkit / trivial: {kit['step_s'] / base['step_s']:.2f}x; "
          f"reward share of the rewardkit step: {kit['reward_s'] / kit['step_s']:.1%}; "
          f"reward per completion: {kit['reward_s'] / n * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
