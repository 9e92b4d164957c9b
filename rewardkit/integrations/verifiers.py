"""A composed reward as verifiers 0.4 (v1) task rewards and metrics.

    import verifiers.v1 as vf
    from rewardkit.integrations.verifiers import VerifiersRewards

    class MathData(vf.TaskData):
        answer: str                                   # the gold, under the config's reference_column

    rewards = VerifiersRewards("rewards.yaml")
    MathTask = rewards.task_class(MathData)           # a vf.Task[MathData] with @vf.reward / @vf.metric methods

    class MathTaskset(vf.Taskset[MathTask, vf.TasksetConfig]):
        def load(self):
            for row in rows:
                yield MathTask(MathData(prompt=row["question"], answer=row["answer"]), self.config.task)

What verifiers gets (v1 only: the v0 ``Rubric(funcs, weights)`` is gone from the 0.4 wheel):

- **rewards**: one ``@vf.reward(weight=w)`` method per weighted top-level term, named by the term's path, so
  verifiers' ``trace.reward`` (the sum of score x weight) is the composition's total when its ``aggregate`` is
  ``sum``. For other aggregates one reward, the total (weight 1), named after the composition.
- **metrics**: one ``@vf.metric`` per weight-0 term (reported, not summed), and a ``rewardkit`` metric mapping
  with nested terms' means and every term's error, timeout and bug counts and ``rewardkit/masked``.
- **masking as verifiers expects**: a term that does not apply, or whose failure ``on_null: skip`` leaves out,
  returns no value (an empty mapping: verifiers drops the seeded key), so it is left out of the sum as the
  composition does. A masked total (an infrastructure failure) raises `MaskedReward`: verifiers' scoring
  boundary records it on the trace as a ``TaskError`` (``trace.ok`` False, its rewards unscored), which its
  environments retry or drop instead of training on a fake number. The error budget raises the same way.
- ``trace.info["rewardkit"]``: each term's value, status and reason, for inspection of saved traces.

The task methods share one scoring per trace (verifiers runs them concurrently), off the event loop, through
the composition's `Scorer` (``workers`` > 0: worker processes with each reward's time budget enforced).
The sample is built by `rewardkit.rows.row_sample` from the task data (its own fields are columns; the gold
is the ``reference_column`` field), the prompt, and the assistant messages the model produced.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..compose import Composition, compose
from ..config import CompositionConfig
from ..errors import RewardkitError
from ..evaluate import Scored
from ..rows import row_sample
from ..stats import Stats, trainer_metrics
from ..types import Sample

__all__ = ["MaskedReward", "VerifiersRewards"]

RewardSource = Composition | CompositionConfig | Mapping[str, Any] | str | Path
INFO_KEY = "rewardkit"


class MaskedReward(RewardkitError):
    """The composition's total is masked (an infrastructure failure, or no term applies): no number to train on."""


class VerifiersRewards:
    """A composition's terms as verifiers hooks, and the scoring they share."""

    def __init__(self, reward: RewardSource, workers: int | None = None) -> None:
        self.composition = reward if isinstance(reward, Composition) else compose(reward, workers)
        config = self.composition.config
        top = list(config.terms)
        if config.aggregate == "sum":
            self.rewards = [(t.path, t.weight) for t in top if t.weight != 0]
            self.metrics = [t.path for t in top if t.weight == 0]
            self.total_name: str | None = None
        else:  # the total cannot be split into weighted terms: it is the one reward, every term a metric
            names = {t.path for t in top}
            self.total_name = config.name if config.name not in names else f"{config.name}_total"
            self.rewards = [(self.total_name, 1.0)]
            self.metrics = [t.path for t in top]
        self._pending: dict[int, tuple[asyncio.Future[Scored], list[int]]] = {}

    # -- the task class ---------------------------------------------------------------------------------

    def task_class(self, data: type | None = None, base: type | None = None, name: str = "RewardkitTask") -> type:
        """A ``vf.Task`` subclass (``base``, default ``vf.Task[data]``) with a method per reward and metric."""
        import verifiers.v1 as vf

        if base is None:
            base = vf.Task[data] if data is not None else vf.Task
        hooks = self.hooks()
        return types.new_class(name, (base,), {}, lambda ns: ns.update(hooks))

    def hooks(self) -> dict[str, Callable[..., Any]]:
        """The decorated methods, by name: what `task_class` puts on the class (for hand-written classes)."""
        import verifiers.v1 as vf

        count = len(self.rewards) + len(self.metrics) + 1
        hooks: dict[str, Callable[..., Any]] = {}
        for path, weight in self.rewards:
            hooks[path] = vf.reward(weight=weight)(self._method(path, count, is_reward=True))
        for path in self.metrics:
            hooks[path] = vf.metric(self._method(path, count, is_reward=False))
        hooks[INFO_KEY] = vf.metric(self._status_method(count))
        return hooks

    def _method(self, path: str, count: int, is_reward: bool) -> Callable[..., Any]:
        owner = self

        async def hook(task: Any, trace: Any) -> float | dict[str, float]:
            scored = await owner.result(task, trace, count)
            if is_reward and scored.total is None:
                raise MaskedReward(_masked_reason(scored))
            score = scored.scores.get(path)
            value = scored.total if path == owner.total_name else (None if score is None else score.value)
            return {} if value is None else value  # {}: no value, left out of the sum

        hook.__name__ = hook.__qualname__ = path
        return hook

    def _status_method(self, count: int) -> Callable[..., Any]:
        owner = self

        async def hook(task: Any, trace: Any) -> dict[str, float]:
            scored = await owner.result(task, trace, count)
            shown = {path for path, _ in owner.rewards} | set(owner.metrics)
            return trainer_metrics(Stats.of([scored]), skip_means=shown)

        hook.__name__ = hook.__qualname__ = INFO_KEY
        return hook

    # -- scoring, shared by a trace's hooks ---------------------------------------------------------------

    async def result(self, task: Any, trace: Any, consumers: int) -> Scored:
        """The trace's result: the first hook to ask scores it, the others (``consumers`` in all) await it."""
        key = id(trace)
        entry = self._pending.get(key)
        if entry is None:
            future: asyncio.Future[Scored] = asyncio.get_running_loop().create_future()
            entry = self._pending[key] = (future, [consumers])
            try:
                future.set_result(await self._score(task, trace))
            except BaseException as exc:
                future.set_exception(exc)
        future, left = entry
        left[0] -= 1
        if left[0] <= 0:
            self._pending.pop(key, None)
        return await asyncio.shield(future) if not future.done() else future.result()

    async def _score(self, task: Any, trace: Any) -> Scored:
        sample = trace_sample(task.data if hasattr(task, "data") else task, trace,
                              self.composition.config.reference_column)  # fmt: skip
        [scored] = await asyncio.to_thread(self.composition.score_samples, [sample])
        trace.info[INFO_KEY] = {path: s.to_json() for path, s in scored.scores.items()}
        self.composition.budget.record([scored])
        return scored


def trace_sample(data: Any, trace: Any, reference_column: str) -> Sample:
    """A verifiers task's data and trace as a rewardkit `Sample` (through `rewardkit.rows.row_sample`)."""
    import verifiers.v1 as vf

    standard = set(vf.TaskData.model_fields)
    row = {k: v for k, v in data.model_dump(mode="json").items() if k not in standard}
    row.update(getattr(data, "model_extra", None) or {})
    prompt = data.prompt
    row["prompt"] = prompt if prompt is None or isinstance(prompt, str) else [_dump(m) for m in prompt]
    row["completion"] = [_dump(m) for m in trace.assistant_messages]
    return row_sample(row, reference_column)


def _dump(message: Any) -> dict[str, Any]:
    out: dict[str, Any] = message.model_dump(mode="json", exclude_none=True)
    return out


def _masked_reason(scored: Scored) -> str:
    failed = [f"{path}: {s.status.value} ({s.reason})" for path, s in scored.scores.items() if s.is_masked]
    if failed:
        return "the reward is masked by an infrastructure failure: " + "; ".join(failed)[:500]
    return "no weighted term applies to this task (every one is not_applicable): nothing to train on"
