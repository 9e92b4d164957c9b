"""A real TRL GRPO run (two steps, a tiny model built here) with the group, rubric and math_verifier judges
composed with `rewardkit.compose`, against the loopback fake judge: every term is logged at every step,
nothing fails, and a derailed or injected completion cannot stop the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rewardkit import compose

from .fake_server import serve, universal

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
TERMS = ("group_judge", "rubric_judge", "math_verifier")


def _dataset(rows: int) -> Any:
    from datasets import Dataset

    return Dataset.from_list([{"prompt": f"{i % 4}+{i % 3}=", "answer": str(i % 4 + i % 3),
                               "rubric": f'["mentions {i % 4 + i % 3}"]'} for i in range(rows)])  # fmt: skip


def test_grpo_with_judge_terms(tmp_path: Path) -> None:
    pytest.importorskip("trl")
    import torch
    from transformers import AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from training import tiny

    torch.set_num_threads(1)
    model_dir = tiny.build_model(tmp_path / "model", {"chars": "0123456789+= <>|imend_Score:"})
    args = GRPOConfig(output_dir=str(tmp_path / "out"), use_cpu=True, bf16=False, max_steps=2, logging_steps=1,
                      per_device_train_batch_size=8, num_generations=4, max_completion_length=8,
                      learning_rate=1e-3, beta=0.0, save_strategy="no", report_to=[], disable_tqdm=True,
                      activation_checkpointing=False, dataloader_num_workers=0)  # fmt: skip
    with serve(universal) as judge:
        p = {"base_url": judge.url, "model": "m", "cache_path": None, "backoff_s": 0.01}
        reward = compose({"name": "judges", "rewards": [{"name": t, "weight": 1.0, "params": p} for t in TERMS]})
        trainer = GRPOTrainer(model=str(model_dir), reward_funcs=[reward], args=args, train_dataset=_dataset(16),
                              processing_class=AutoTokenizer.from_pretrained(str(model_dir)))  # fmt: skip
        trainer.train()
    steps = [entry for entry in trainer.state.log_history if "reward" in entry]
    assert len(steps) == 2
    for entry in steps:
        for term in TERMS:
            assert 0.0 <= entry[f"rewardkit/{term}/mean"] <= 1.0, (term, entry)
            assert entry[f"rewardkit/{term}/errors"] == 0, (term, entry)
    assert judge.requests  # the judges were really asked
