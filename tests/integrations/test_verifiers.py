"""verifiers 0.4 (v1): a composition as task rewards and metrics, driven by verifiers' own code.

The example environment is loaded with verifiers' taskset loader; each trace is scored by verifiers'
`Task.score` (hook discovery, invocation by parameter name, `record_reward` / `record_metric`) inside its
scoring boundary, whose failure is recorded with `Trace.record_error`, as `verifiers.v1.rollout` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

vf = pytest.importorskip("verifiers.v1")
from verifiers.v1.errors import TaskError, boundary  # noqa: E402

from rewardkit import compose  # noqa: E402
from rewardkit.integrations.verifiers import MaskedReward, VerifiersRewards  # noqa: E402
from tests._fixtures import registered  # noqa: E402

from ._rewards import PLUGIN  # noqa: E402

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(autouse=True)
def test_rewards() -> Iterator[None]:
    with registered(PLUGIN, "verifiers-test-rewards"):
        yield


class Data(vf.TaskData):
    answer: str | None = None
    task: str = "math"


def _trace(task: Any, *messages: Any) -> Any:
    trace = vf.Trace(task=vf.TraceTask(type=type(task).__name__, data=task.data),
                     agent=vf.AgentInfo(config=vf.AgentConfig()))  # fmt: skip
    trace.nodes.append(vf.MessageNode(message=vf.UserMessage(content=task.data.prompt_text or "q")))
    for message in messages:
        reply = vf.AssistantMessage(content=message) if isinstance(message, str) else message
        trace.nodes.append(vf.MessageNode(parent=len(trace.nodes) - 1, message=reply, sampled=True))
    return trace


async def _score(task: Any, trace: Any) -> Any:
    """verifiers' scoring stage (rollout.py): the boundary, then the error captured onto the trace."""
    try:
        async with boundary(TaskError, "scoring"):
            await task.score(trace)
        trace.ok = True
    except Exception as exc:
        trace.record_error(exc)
    return trace


def _run(task: Any, *messages: Any) -> Any:
    return asyncio.run(_score(task, _trace(task, *messages)))


def _rewards(trace: Any) -> dict[str, Any]:
    return {k: None if r is None else (r.score, r.weight) for k, r in trace.rewards.items()}


MATH_FORMAT = {"rewards": [{"name": "think_format", "weight": 0.2},
                           {"name": "math", "weight": 1.0, "gate": "think_format"},
                           {"name": "repetition", "weight": 0.0}]}  # fmt: skip


# --- the example environment, through verifiers' loader --------------------------------------------------


def test_the_example_environment_loads_and_scores_through_verifiers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parents[2] / "examples"))  # verifiers imports top-level ids
    taskset = vf.load_taskset(vf.TasksetConfig(id="verifiers_env"))
    tasks = list(taskset)
    assert [t.data.idx for t in tasks] == [0, 1, 2] and type(tasks[0]).__name__ == "MathTask"
    replies = ["<think>6*7</think><answer>42</answer>", "<think>half</think><answer>0.5</answer>", "1024"]
    traces = [_run(t, r) for t, r in zip(tasks, replies, strict=True)]
    assert [round(t.reward, 6) for t in traces] == [1.2, 1.2, 0.0]  # the last is gated: no format
    assert all(t.ok and set(t.rewards) == {"math", "think_format"} for t in traces)
    assert traces[0].metrics["repetition"] == 0.0 and traces[0].metrics["rewardkit/masked"] == 0.0


# --- weights, metrics, the total ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "answer"),
    [
        ("<think>6*7</think><answer>42</answer>", "42"),  # both terms
        ("<think>6*7</think><answer>41</answer>", "42"),  # format only
        ("The answer is 42.", "42"),  # gated: math needs the format
        ("<think>x</think><answer>x</answer>" * 3, "42"),  # duplicated tags
    ],
)
def test_trace_reward_is_the_composition_total(reply: str, answer: str) -> None:
    rewards = VerifiersRewards(MATH_FORMAT)
    task = rewards.task_class(Data)(Data(prompt="q", answer=answer))
    trace = _run(task, reply)
    [expected] = compose(MATH_FORMAT).score(completions=[reply], answer=[answer])
    assert trace.ok and trace.reward == pytest.approx(expected.total)
    assert {k: w for k, (_, w) in _rewards(trace).items()} == {"think_format": 0.2, "math": 1.0}
    assert "repetition" in trace.metrics and "repetition" not in trace.rewards  # weight 0: a metric
    assert trace.info["rewardkit"]["math"]["status"] == "ok"


def test_a_term_that_does_not_apply_is_left_out_not_zeroed() -> None:
    config = {"rewards": [{"name": "math"}, {"name": "task_is_math", "weight": 0.5}]}
    task = VerifiersRewards(config).task_class(Data)(Data(prompt="q", answer=None, task="math"))
    trace = _run(task, "The answer is 42.")  # no gold: math is not applicable
    assert trace.ok and _rewards(trace) == {"task_is_math": (1.0, 0.5)} and trace.reward == 0.5


def test_columns_and_chat_reasoning_reach_the_rewards() -> None:
    config = {"rewards": [{"name": "think_format"}, {"name": "task_is_math"}]}
    task = VerifiersRewards(config).task_class(Data)(Data(prompt="q", answer="42", task="code"))
    message = vf.AssistantMessage(reasoning_content="6 times 7", content="<answer>42</answer>")
    trace = _run(task, message)
    assert _rewards(trace) == {"think_format": (1.0, 1.0), "task_is_math": (0.0, 1.0)}


def test_non_sum_aggregates_are_one_total_reward_and_terms_as_metrics() -> None:
    config = {"name": "worst", "aggregate": "min", "rewards": ["think_format", "math"]}
    task = VerifiersRewards(config).task_class(Data)(Data(prompt="q", answer="42"))
    trace = _run(task, "<think>6*7</think><answer>41</answer>")
    assert _rewards(trace) == {"worst": (0.0, 1.0)}
    assert trace.metrics["think_format"] == 1.0 and trace.metrics["math"] == 0.0


# --- masking -----------------------------------------------------------------------------------------------


def test_an_infrastructure_failure_fails_the_trace_instead_of_scoring_zero() -> None:
    task = VerifiersRewards({"rewards": ["flaky", "math"]}).task_class(Data)(Data(prompt="q", answer="42"))
    trace = _run(task, "FAIL 42")
    assert not trace.ok and trace.errors[-1].type == "TaskError"
    assert "MaskedReward" in trace.errors[-1].message and "the sandbox is down" in trace.errors[-1].message
    assert all(r is None for r in trace.rewards.values())  # seeded, never recorded: no fake 0
    assert trace.metrics["rewardkit/masked"] == 1.0 and trace.metrics["rewardkit/flaky/errors"] == 1.0


def test_on_null_skip_leaves_only_the_failed_term_out() -> None:
    config = {"on_null": "skip", "rewards": ["flaky", {"name": "math", "weight": 2.0}]}
    task = VerifiersRewards(config).task_class(Data)(Data(prompt="q", answer="42"))
    trace = _run(task, "FAIL The answer is 42.")
    assert trace.ok and _rewards(trace) == {"math": (1.0, 2.0)} and trace.reward == 2.0


def test_the_error_budget_fails_traces_loudly() -> None:
    rewards = VerifiersRewards({"max_error_rate": 0.5, "on_null": "skip", "rewards": ["flaky", "math"]})
    cls = rewards.task_class(Data)
    traces = [_run(cls(Data(prompt="q", answer="42")), "FAIL 42") for _ in range(4)]
    assert [t.ok for t in traces] == [True, True, True, False]  # the 4th sample crosses the budget
    assert "ErrorBudgetExceeded" in traces[-1].errors[-1].message


def test_masked_reward_is_a_rewardkit_error() -> None:
    from rewardkit.errors import RewardkitError

    assert issubclass(MaskedReward, RewardkitError)


# --- one scoring per trace, concurrent traces --------------------------------------------------------------


def test_each_trace_is_scored_once_and_concurrent_traces_do_not_mix() -> None:
    rewards = VerifiersRewards(MATH_FORMAT)
    calls: list[int] = []
    score_samples = rewards.composition.score_samples

    def counting(samples: Any) -> Any:
        calls.append(len(samples))
        return score_samples(samples)

    rewards.composition.score_samples = counting  # type: ignore[method-assign]
    cls = rewards.task_class(Data)
    tasks = [cls(Data(prompt="q", answer=str(i))) for i in range(12)]

    async def all_at_once() -> list[Any]:
        traces = [_trace(t, f"<think>t</think><answer>{i if i % 2 else i + 1}</answer>") for i, t in enumerate(tasks)]
        return await asyncio.gather(*(_score(t, tr) for t, tr in zip(tasks, traces, strict=True)))

    traces = asyncio.run(all_at_once())
    assert calls == [1] * 12  # five hooks per trace, one scoring
    assert [t.rewards["math"].score for t in traces] == [0.0 if i % 2 == 0 else 1.0 for i in range(12)]
    assert rewards._pending == {}


def test_workers_score_in_processes_with_the_same_result() -> None:
    rewards = VerifiersRewards(MATH_FORMAT, workers=1)
    try:
        trace = _run(rewards.task_class(Data)(Data(prompt="q", answer="42")), "<think>a</think><answer>42</answer>")
        assert trace.ok and trace.reward == pytest.approx(1.2)
    finally:
        rewards.composition.close()
