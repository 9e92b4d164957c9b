"""A verifiers 0.4 (v1) environment whose rewards are a rewardkit composition.

    pip install "rewardkit[verifiers]"
    PYTHONPATH=examples vf-eval --env.taskset.id verifiers_env ...   # verifiers imports the id as a module
    python examples/verifiers_env.py                            # a self-check without a model

The composition: ``math`` (weight 1) gated on ``think_format`` (weight 0.2), and ``repetition`` as a
weight-0 metric. verifiers sums ``math`` and ``think_format`` into ``trace.reward`` (their weights are on the
``@vf.reward`` methods), records ``repetition`` and rewardkit's failure counts as metrics, and a masked total
(a sandbox or judge outage) fails the trace's scoring instead of becoming a 0.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import verifiers.v1 as vf

from rewardkit.integrations.verifiers import VerifiersRewards

__all__ = ["MathData", "MathTask", "MathTaskset"]  # verifiers' loader takes the one Taskset exported here

COMPOSITION = {
    "name": "math_env",
    "rewards": [
        {"name": "think_format", "weight": 0.2},
        {"name": "math", "weight": 1.0, "gate": "think_format"},
        {"name": "repetition", "weight": 0.0},
    ],
}
ROWS = [
    {"question": "What is 6 * 7?", "answer": "42"},
    {"question": "What is half of one?", "answer": "\\frac{1}{2}"},
    {"question": "What is 2 to the power 10?", "answer": "1024"},
]
SYSTEM = "Think inside <think>...</think>, then give only the final answer inside <answer>...</answer>."


class MathData(vf.TaskData):
    answer: str
    """The gold answer: the composition's reference column."""


REWARDS = VerifiersRewards(COMPOSITION)
MathTask = REWARDS.task_class(MathData, name="MathTask")


class MathTaskset(vf.Taskset[MathTask, vf.TasksetConfig]):  # type: ignore[valid-type]
    def load(self) -> Iterator[vf.Task]:
        for i, row in enumerate(ROWS):
            data = MathData(name=f"math:{i}", prompt=row["question"], system_prompt=SYSTEM, answer=row["answer"])
            yield MathTask(data, self.config.task)


async def _self_check() -> None:
    """Score one made-up answer per task with verifiers' own `Task.score`, as a rollout would."""
    replies = ["<think>6*7</think><answer>42</answer>", "<think>half</think><answer>0.5</answer>", "1000"]
    for task, reply in zip(MathTaskset(vf.TasksetConfig()), replies, strict=True):
        agent = vf.AgentInfo(config=vf.AgentConfig())
        trace = vf.Trace(task=vf.TraceTask(type="MathTask", data=task.data), agent=agent)
        trace.nodes.append(vf.MessageNode(message=vf.UserMessage(content=task.data.prompt_text)))
        trace.nodes.append(vf.MessageNode(parent=0, message=vf.AssistantMessage(content=reply), sampled=True))
        await task.score(trace)
        rewards = {k: None if r is None else r.score for k, r in trace.rewards.items()}
        print(f"{task.data.name}: reward {trace.reward:.2f} {rewards} metrics {trace.metrics}")


if __name__ == "__main__":
    asyncio.run(_self_check())
