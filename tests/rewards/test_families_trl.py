"""A real TRL GRPO run (two steps, a tiny model built here) with ``ifeval`` and ``json_schema`` composed with
`rewardkit.compose`: both terms are computed from the dataset's own columns and logged at every step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rewardkit import compose

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SCHEMA = json.dumps({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]})
IDS = json.dumps(["punctuation:no_comma", "length_constraints:number_words"])
KWARGS = json.dumps([{}, {"num_words": 3, "relation": "less than"}])
CONFIG = {"name": "families", "rewards": [{"name": "ifeval", "weight": 1.0}, {"name": "json_schema", "weight": 1.0}]}


def _dataset(rows: int) -> Any:
    from datasets import Dataset

    # Columns as JSON strings: Arrow would otherwise unify the dicts' keys and fill the gaps with nulls.
    return Dataset.from_list([{"prompt": '{"a":' + str(i % 10), "instruction_id_list": IDS, "kwargs": KWARGS,
                               "schema": SCHEMA} for i in range(rows)])  # fmt: skip


def test_grpo_logs_each_composed_term(tmp_path: Path) -> None:
    pytest.importorskip("trl")
    import torch
    from transformers import AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from training import tiny

    torch.set_num_threads(1)
    model_dir = tiny.build_model(tmp_path / "model", {"chars": '{}":0123456789, a'})
    args = GRPOConfig(output_dir=str(tmp_path / "out"), use_cpu=True, bf16=False, max_steps=2, logging_steps=1,
                      per_device_train_batch_size=8, num_generations=4, max_completion_length=8,
                      learning_rate=1e-3, beta=0.0, save_strategy="no", report_to=[], disable_tqdm=True,
                      activation_checkpointing=False, dataloader_num_workers=0)  # fmt: skip
    reward = compose(CONFIG)
    trainer = GRPOTrainer(model=str(model_dir), reward_funcs=[reward], args=args, train_dataset=_dataset(16),
                          processing_class=AutoTokenizer.from_pretrained(str(model_dir)))  # fmt: skip
    trainer.train()
    steps = [entry for entry in trainer.state.log_history if "reward" in entry]
    assert len(steps) == 2
    for entry in steps:
        assert "rewards/families/mean" in entry
        for term in ("ifeval", "json_schema"):
            assert 0.0 <= entry[f"rewardkit/{term}/mean"] <= 1.0, (term, entry)
            assert entry[f"rewardkit/{term}/errors"] == 0 and entry[f"rewardkit/{term}/bugs"] == 0
        # Both weights are 1 and nothing is masked: the logged reward is the sum of the two terms' means.
        total = entry["rewardkit/ifeval/mean"] + entry["rewardkit/json_schema/mean"]
        assert entry["rewards/families/mean"] == pytest.approx(total, abs=1e-4)
