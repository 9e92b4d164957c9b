"""TRL 1.16.0 conformance: rewardkit's reward functions driven by TRL's own code, not by our picture of it.

- `GRPOTrainer._calculate_rewards` (trl/trainer/grpo_trainer.py, trl 1.16.0): the sync path (functions called
  one by one with ``prompts, completions, completion_ids, trainer_state, log_extra, log_metric`` and every
  dataset column), the async path (``asyncio.gather`` on the trainer's daemon event loop), None -> NaN, the
  per-function column of ``rewards_per_func``, ``log_extra`` into ``_pending_extra_logs`` and ``log_metric``
  into ``_pending_metrics``.
- `AsyncRolloutWorker._score_group` (trl/experimental/async_grpo/async_rollout_worker.py, trl 1.16.0): every
  sync reward function of a group run at once with ``asyncio.to_thread``, nansum, an all-NaN row masked.
- A real ``trainer.train()`` step on a tiny model built here, logging ``rewards/<term>/mean``.
"""

from __future__ import annotations

import asyncio
import math
import types
from pathlib import Path
from typing import Any

import pytest

trl = pytest.importorskip("trl")
torch = pytest.importorskip("torch")
datasets = pytest.importorskip("datasets")

from rewardkit import compose  # noqa: E402
from rewardkit.integrations.trl import reward_funcs, reward_weights  # noqa: E402

pytestmark = pytest.mark.timeout(600)

CONFIG = {"rewards": [{"name": "think_format", "weight": 0.5}, {"name": "math", "weight": 1.0}]}
RIGHT = "<think>3 plus 4 is 7</think><answer>7</answer>"
WRONG = "<think>3 plus 4 is 8</think><answer>8</answer>"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from training.tiny import build_model

    return build_model(tmp_path_factory.mktemp("tiny"), {"hidden_size": 32, "intermediate_size": 64})


def _trainer(model_dir: Path, funcs: list[Any], weights: list[float], out: Path, **overrides: Any) -> Any:
    from trl import GRPOConfig, GRPOTrainer

    torch.set_num_threads(1)
    rows = [{"prompt": f"{a}+{b}=", "answer": str(a + b)} for a in range(4) for b in range(4)]
    args = GRPOConfig(
        output_dir=str(out), per_device_train_batch_size=4, num_generations=4, max_completion_length=8,
        max_steps=1, learning_rate=1e-3, logging_steps=1, report_to=[], use_cpu=True, bf16=False,
        save_strategy="no", reward_weights=weights, **overrides,
    )
    return GRPOTrainer(model=str(model_dir), reward_funcs=funcs, args=args,
                       train_dataset=datasets.Dataset.from_list(rows))


def _inputs(completions: list[Any], answers: list[str]) -> list[dict[str, Any]]:
    return [{"prompt": "3+4=", "completion": c, "answer": a, "task": "add"} for c, a in zip(completions, answers,
                                                                                         strict=True)]


def _calculate(trainer: Any, completions: list[Any], answers: list[str], prompts: list[Any] | None = None
               ) -> list[list[float]]:
    inputs = _inputs(completions, answers)
    prompts = prompts or [x["prompt"] for x in inputs]
    ids = [[1, 2, 3]] * len(completions)
    rewards = trainer._calculate_rewards(inputs, prompts, completions, ids)
    out: list[list[float]] = rewards.tolist()
    return out


@pytest.fixture(scope="module")
def sync_trainer(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    reward = compose(CONFIG)
    return _trainer(tiny_model, reward_funcs(reward), reward_weights(reward), tmp_path_factory.mktemp("sync"))


def _close(a: float, b: float | None) -> bool:
    return math.isnan(a) if b is None else abs(a - b) < 1e-6


def test_plain_completions_through_calculate_rewards(sync_trainer: Any) -> None:
    got = _calculate(sync_trainer, [RIGHT, WRONG, "7", RIGHT + "<|im_end|>"], ["7", "7", "7", "7"])
    expected = [[1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]  # columns: think_format, math
    assert all(_close(g, e) for row, erow in zip(got, expected, strict=True) for g, e in zip(row, erow, strict=True))


def test_conversational_completions_with_reasoning_content_and_tool_calls(sync_trainer: Any) -> None:
    # What TRL 1.16's parse_response gives with a response template: reasoning and calls outside 'content'.
    prompts = [[{"role": "user", "content": "3+4?"}]] * 3
    completions = [
        [{"role": "assistant", "content": "<answer>7</answer>", "reasoning_content": "3 plus 4 is 7"}],
        [{"role": "assistant", "content": "<think>3 plus 4</think><answer>8</answer>"}],
        [{"role": "assistant", "content": "<answer>7</answer>", "reasoning_content": "sum",
          "tool_calls": [{"type": "function", "function": {"name": "calc", "arguments": {"expr": "3+4"}}}]}],
    ]
    got = _calculate(sync_trainer, completions, ["7", "7", "7"], prompts)
    assert got[0] == [1.0, 1.0]  # think_format sees the reasoning; math the answer
    assert got[1] == [1.0, 0.0]
    assert got[2][1] == 1.0  # the answer is read with a tool call beside it


def test_log_metric_and_log_extra_reach_the_trainer(sync_trainer: Any) -> None:
    sync_trainer._pending_metrics.clear()
    sync_trainer._pending_extra_logs.clear()
    _calculate(sync_trainer, [RIGHT, WRONG, "no tags", RIGHT], ["7", "7", "7", "7"])
    metrics = dict(sync_trainer._pending_metrics)
    assert metrics["rewardkit/think_format/errors"] == [0.0] and metrics["rewardkit/math/bugs"] == [0.0]
    assert metrics["rewardkit/masked"] == [0.0]
    extra = dict(sync_trainer._pending_extra_logs)
    assert extra["rewardkit"] == ["ok", "ok", "ok", "ok"]  # one entry per completion, from one function only


def test_async_functions_run_on_trls_event_loop(tiny_model: Path, tmp_path: Path) -> None:
    funcs = reward_funcs(CONFIG, asynchronous=True, workers=1)
    trainer = _trainer(tiny_model, funcs, reward_weights(CONFIG), tmp_path)
    assert trainer._has_async_funcs
    try:
        got = _calculate(trainer, [RIGHT, WRONG], ["7", "7"])
        assert got == [[1.0, 1.0], [1.0, 0.0]]
    finally:
        funcs[0]._scorer.composition.close()


def test_async_grpo_scores_a_group_with_every_function_in_threads() -> None:
    # AsyncGRPO has no reward_weights: it nansums the functions, so they must come weighted.
    from trl.experimental.async_grpo import async_rollout_worker as arw

    funcs = reward_funcs(CONFIG, weighted=True)
    loop = types.SimpleNamespace(
        reward_funcs=funcs, reward_func_names=[f.__name__ for f in funcs], _env_reward_types=[],
        _provides_rollout_reward=False,
    )
    texts = (RIGHT, WRONG, "7", "<think>x</think>")
    completions = [[{"role": "assistant", "content": c}] for c in texts]
    sequences = [[arw.TrainingSequence([1, 2], [0, 1], [0.0, -0.1], None)] for _ in texts]  # type: ignore[arg-type]
    group = arw.RolloutGroup(
        prompts=[[{"role": "user", "content": "3+4?"}]] * 4, reward_kwargs={"answer": ["7", "7", "7", "7"]},
        completions=completions, completions_ids=[[1]] * 4, completions_sequences=sequences,
        tool_call_counts=[0] * 4, tool_failure_counts=[0] * 4, model_version=0, group_id=0,
        env_rewards=[None] * 4, rollout_rewards=[None] * 4,
    )
    samples = asyncio.run(arw._AsyncRolloutLoop._score_group(loop, group))  # type: ignore[arg-type]
    got = [(s.metrics["rewards/think_format"], s.metrics["rewards/math"], s.metrics["reward"]) for s in samples]
    assert got == [(0.5, 1.0, 1.5), (0.5, 0.0, 0.5), (0.0, 1.0, 1.0), (0.0, 0.0, 0.0)]
    assert [s.metrics["reward"] for s in samples] == compose(CONFIG)(completions=completions, answer=["7"] * 4)


def test_a_real_training_step_logs_each_term(tiny_model: Path, tmp_path: Path) -> None:
    reward = compose(CONFIG)
    trainer = _trainer(tiny_model, reward_funcs(reward), reward_weights(reward), tmp_path)
    trainer.train()
    logged = {k for entry in trainer.state.log_history for k in entry}
    assert {"rewards/think_format/mean", "rewards/math/mean", "rewardkit/math/errors"} <= logged


def test_the_adapter_needs_a_trl_with_async_rewards() -> None:
    # pyproject's [train] extra pins the TRL this suite runs against; older TRLs fail async rewards with
    # "'coroutine' object is not iterable", so reward_funcs(asynchronous=True) refuses them at run time.
    from rewardkit.integrations.trl import MIN_TRL

    assert tuple(int(x) for x in trl.__version__.split(".")[:2]) >= MIN_TRL
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert f'"trl>={".".join(map(str, MIN_TRL))}' in pyproject
