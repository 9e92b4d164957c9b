"""compute_score inside verl 0.9.1's reward loop: RewardLoopWorker (verl/experimental/reward_loop/reward_loop.py)
builds the manager from the trainer config and calls run_single once per sample; the naive, dapo and gdpo
managers (reward_manager/naive.py, dapo.py, gdpo.py) copy our dict into reward_extra_info; RewardLoopManager
stacks it into numpy arrays; validation metrics (trainer/ppo/metric_utils.py, ray_trainer.py) and the GDPO
advantage (trainer/ppo/core_algos.py) read it."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from verl.experimental.reward_loop import RewardLoopManager, RewardLoopWorker
from verl.experimental.reward_loop import reward_loop as reward_loop_module
from verl.trainer.ppo.core_algos import compute_gdpo_outcome_advantage
from verl.trainer.ppo.metric_utils import process_validation_metrics
from verl.trainer.ppo.ray_trainer import RayPPOTrainer
from verl.trainer.ppo.reward import extract_reward

from rewardkit.integrations import verl as adapter
from rewardkit.stats import MASKED

from ._support import Row, data_proto, verl_config

ROUTES = """data_sources:
  "openai/gsm8k": {rewards: [{name: math}, {name: think_format, weight: 0.1}]}
  flaky: {rewards: [{name: infra}]}
"""
GOOD = "<think>40 + 2</think>\n<answer>42</answer>"
ROWS: list[Row] = [
    ("openai/gsm8k", GOOD, "42", {"index": 0, "answer": "worked solution #### 42", "question": "40+2?"}),
    ("openai/gsm8k", "the answer is 41", "42", {"index": 1}),
    ("lighteval/MATH", "so $\\boxed{\\frac{\\sqrt{3}}{2}}$", "\\frac{\\sqrt3}{2}", {}),
    ("lighteval/MATH", "so $\\boxed{\\frac{1}{2}}$", "\\frac{\\sqrt3}{2}", {}),
    ("flaky", "down", None, {}),  # an outage: masked, marked, finite
    ("flaky", "fine", None, {}),
]
EXPECTED = [  # (score, acc, masked)
    (1.1, 1.0, 0.0), (0.0, 0.0, 0.0), (1.0, 1.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 1.0), (1.0, 1.0, 0.0),
]  # fmt: skip
ROUTER = "127.0.0.1:30000"


@pytest.fixture
def routes(tmp_path: Path) -> Path:
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES)
    return path


def trainer_config(tokenizer_dir: Path, routes: Path, manager: str, reward_model: bool, *extra: str) -> Any:
    overrides = [
        f"actor_rollout_ref.model.path={tokenizer_dir}",
        "reward.custom_reward_function.path=pkg://rewardkit.integrations.verl",
        f"+reward.custom_reward_function.reward_kwargs.config={routes}",
        "+reward.custom_reward_function.reward_kwargs.workers=1",
        f"reward.reward_manager.name={manager}",
        *extra,
    ]
    if reward_model:  # a generative reward model: verl then passes reward_router_address= and the RM's tokenizer
        overrides += ["reward.reward_model.enable=True", f"reward.reward_model.model_path={tokenizer_dir}"]
    return verl_config(overrides)


class Spy:
    """Wraps compute_score where verl's loader finds it, recording the keyword arguments verl passes."""

    def __init__(self) -> None:
        self.kwargs: list[set[str]] = []
        self.real = adapter.compute_score

    def __call__(self, **kwargs: Any) -> Any:
        self.kwargs.append(set(kwargs))
        return self.real(**kwargs)


def run_worker(config: Any, data: Any, router: str | None) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        worker = RewardLoopWorker(config, reward_router_address=router)  # inside the loop, as in its actor
        return list(await worker.compute_score_batch(data))

    return asyncio.run(go())


def check_outputs(outputs: list[dict[str, Any]]) -> None:
    infos = [o["reward_extra_info"] for o in outputs]
    assert all(set(info) == set(infos[0]) for info in infos)  # RewardLoopManager stacks by the first's keys
    assert {"score", "acc", MASKED, "math", "math_applied", "think_format_applied", "infra"} <= set(infos[0])
    for output, (score, acc, masked) in zip(outputs, EXPECTED, strict=True):
        info = output["reward_extra_info"]
        assert all(isinstance(v, float) and math.isfinite(v) for v in info.values()), info
        assert (info["acc"], info[MASKED]) == (acc, masked)
        assert output["reward_score"] == pytest.approx(score)


@pytest.mark.parametrize("reward_model", [False, True])
@pytest.mark.parametrize("manager", ["naive", "dapo", "gdpo"])
def test_the_reward_loop_with_each_manager(tokenizer_dir: Path, tokenizer: Any, routes: Path,
                                           monkeypatch: pytest.MonkeyPatch, manager: str, reward_model: bool) -> None:
    spy = Spy()
    monkeypatch.setattr(adapter, "compute_score", spy)
    config = trainer_config(tokenizer_dir, routes, manager, reward_model)
    outputs = run_worker(config, data_proto(tokenizer, ROWS), ROUTER if reward_model else None)
    check_outputs(outputs)
    verl_kwargs = {"reward_router_address", "reward_model_tokenizer"}
    assert len(spy.kwargs) == len(ROWS)  # once per sample
    assert all((verl_kwargs <= k) == reward_model for k in spy.kwargs)


def test_dapo_overlong_penalty_adds_to_our_score(tokenizer_dir: Path, tokenizer: Any, routes: Path) -> None:
    config = trainer_config(
        tokenizer_dir, routes, "dapo", False,
        "+reward.reward_kwargs.max_resp_len=16", "+reward.reward_kwargs.overlong_buffer_cfg.enable=True",
        "+reward.reward_kwargs.overlong_buffer_cfg.len=8",
        "+reward.reward_kwargs.overlong_buffer_cfg.penalty_factor=1.0",
        "+reward.reward_kwargs.overlong_buffer_cfg.log=True",
    )  # fmt: skip
    rows: list[Row] = [("openai/gsm8k", GOOD, "42", {}), ("openai/gsm8k", "#### 42", "42", {})]
    long_, short = run_worker(config, data_proto(tokenizer, rows), None)
    # A response is its tokens plus EOS; past 16 - 8 tokens DAPO subtracts (excess / 8) * 1.0.
    excess = len(tokenizer.encode(GOOD)) + 1 - 8
    assert excess > 0 and len(tokenizer.encode("#### 42")) + 1 <= 8
    assert long_["reward_score"] == pytest.approx(1.1 - excess / 8)
    assert long_["reward_extra_info"]["score"] == pytest.approx(1.1)  # ours, before verl's penalty
    assert short["reward_score"] == pytest.approx(1.0) and short["reward_extra_info"]["overlong_reward"] == 0


def stacked(config: Any, tokenizer: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """RewardLoopManager.compute_rm_score over one in-process worker (its actors' ray.get made local)."""
    data = data_proto(tokenizer, ROWS)
    worker_outputs = run_worker(config, data, None)
    manager = RewardLoopManager.__new__(RewardLoopManager)
    manager.config, manager.reward_model_manager = config, None
    manager.reward_manager_cls = reward_loop_module.resolve_reward_manager_cls(config)

    class Handle:
        class compute_score_batch:  # ray's actor-method shape: handle.method.remote(...)
            @staticmethod
            def remote(chunk: Any) -> list[dict[str, Any]]:
                assert len(chunk) == len(ROWS)
                return worker_outputs

    manager.reward_loop_workers = [Handle()]
    monkeypatch.setattr(reward_loop_module.ray, "get", lambda refs: refs)
    return data.union(manager.compute_rm_score(data))


def test_stacked_extra_info_and_validation_metrics_are_nan_free_with_acc(
    tokenizer_dir: Path, tokenizer: Any, routes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = trainer_config(tokenizer_dir, routes, "naive", False)
    batch = stacked(config, tokenizer, monkeypatch)
    reward_tensor, infos = extract_reward(batch)
    assert reward_tensor.sum(-1).tolist() == pytest.approx([e[0] for e in EXPECTED])
    for key, values in infos.items():
        assert values.dtype.kind == "f" and np.isfinite(values).all(), key  # numbers, not objects or NaN
    scores = reward_tensor.sum(-1).tolist()
    metrics = RayPPOTrainer._val_metrics_update(  # the validation step's own aggregation (ray_trainer.py)
        None, batch.non_tensor_batch["data_source"], list(batch.non_tensor_batch["uid"]),
        {"reward": scores, **{k: v.tolist() for k, v in infos.items()}}, [],
    )  # fmt: skip
    assert all(math.isfinite(v) for v in metrics.values()), {k: v for k, v in metrics.items() if not math.isfinite(v)}
    assert metrics["val-core/openai/gsm8k/acc/mean@2"] == 0.5  # acc is verl's core validation metric
    assert metrics["val-core/lighteval/MATH/acc/mean@2"] == 0.5
    assert metrics["val-aux/flaky/rewardkit/masked/mean@2"] == 0.5
    assert "val-core/openai/gsm8k/reward/mean@2" not in metrics  # reward demoted to aux once acc exists
    direct = process_validation_metrics(list(batch.non_tensor_batch["data_source"]),
                                        list(batch.non_tensor_batch["uid"]), {k: v.tolist() for k, v in infos.items()})
    assert direct["openai/gsm8k"]["math"]["mean@2"] == 0.5 and direct["flaky"]["math"]["mean@2"] == 0.0


def test_gdpo_advantages_over_our_term_keys_are_finite(
    tokenizer_dir: Path, tokenizer: Any, routes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = stacked(trainer_config(tokenizer_dir, routes, "gdpo", False), tokenizer, monkeypatch)
    reward_tensor, _ = extract_reward(batch)
    mask = batch.batch["attention_mask"][:, batch.batch["prompts"].size(1):].float()
    keys = ["math", "think_format", "infra"]  # terms some rows do not have: 0.0 there, never NaN
    advantages, _ = compute_gdpo_outcome_advantage(
        token_level_rewards=reward_tensor, response_mask=mask, index=batch.non_tensor_batch["uid"],
        config={"gdpo_reward_keys": keys}, non_tensor_batch=batch.non_tensor_batch, batch=batch.batch,
    )  # fmt: skip
    assert torch.isfinite(advantages).all()
    assert advantages.abs().sum() > 0  # the right/wrong pairs get a signal


def test_none_would_have_been_nan_in_gdpo() -> None:
    # Why terms that did not run are 0.0 + <term>_applied: GDPO's float32 cast turns None into NaN.
    assert math.isnan(np.asarray(np.array([None, 1.0], dtype=object), dtype=np.float32)[0])
