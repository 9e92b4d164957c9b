"""A composed reward as TRL ``reward_funcs`` and ``reward_weights``: one callable per top-level term.

    from rewardkit.compose import compose
    from rewardkit.integrations.trl import reward_funcs, reward_weights

    reward = compose("rewards.yaml")
    args = GRPOConfig(..., reward_weights=reward_weights(reward))
    trainer = GRPOTrainer(model, args=args, reward_funcs=reward_funcs(reward), train_dataset=dataset)

TRL logs ``rewards/<term>/mean`` and ``/std`` for each callable (named by the term's path) and sums
``weight * value`` over the callables, which equals the composition's total when its ``aggregate`` is
``sum``. Other aggregates cannot be split that way: the callables are then the total itself (weight 1)
followed by every top-level term with weight 0, so each term is still logged.

The callables of one set share their work: the first to see a batch scores every term once, the others
read its result. A row whose total is masked (an infrastructure failure under ``on_null: propagate``, or no
weighted term applying) is ``None`` for every callable, which TRL turns into an advantage of 0; a single
term's failure under ``on_null: skip`` is ``None`` for that callable only, which TRL's ``nansum`` skips as
the composition does. Failure counts, nested terms' means and each term's parts (named sub-scores such as a
rubric's criteria, ``rewardkit/<term>/<part>/mean``) go through TRL's ``log_metric``.

``asynchronous=True`` gives ``async def __call__`` callables (TRL gathers them on its event loop thread)
that score in a process pool of ``workers`` processes, for CPU-heavy verification (math, code). Nothing
here imports trl or torch: the callables only follow the keyword contract TRL calls them with.
"""

from __future__ import annotations

import asyncio
import collections
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from ..compose import Composition, compose
from ..config import CompositionConfig
from ..errors import ConfigError
from ..evaluate import Scored
from ..rows import TRAINER_KWARGS
from ..runner import default_workers
from ..stats import Stats, trainer_metrics
from ..types import Status

#: The oldest TRL whose GRPOTrainer awaits async reward functions (this adapter's conformance suite runs 1.16).
MIN_TRL = (1, 16)

RewardSource = Composition | CompositionConfig | Mapping[str, Any] | Sequence[Any] | str | Path
_TOTAL = "total"


class _SharedScorer:
    """Scores a batch once for every callable of a set; remembers the last few batches and their results.

    Several, not one: TRL's AsyncGRPO calls every function of a group at once from threads, and more than one
    group may be in flight, so calls for two batches can interleave.
    """

    RECENT = 8

    def __init__(self, composition: Composition) -> None:
        self.composition = composition
        self._lock = threading.Lock()
        self._recent: collections.deque[tuple[dict[str, Any], Future[list[Scored]]]] = collections.deque(
            maxlen=self.RECENT
        )

    def claim(self, call: dict[str, Any]) -> tuple[Future[list[Scored]], bool]:
        """The future holding this batch's result, and whether the caller must compute it."""
        with self._lock:
            for seen, future in self._recent:
                if _same_call(seen, call):
                    return future, False
            future = Future()
            self._recent.append((call, future))
            return future, True

    def _forget(self, future: Future[list[Scored]]) -> None:
        with self._lock:  # a retry of this batch computes again rather than replaying the failure
            kept = [(c, f) for c, f in self._recent if f is not future]
            self._recent.clear()
            self._recent.extend(kept)

    def fill(self, future: Future[list[Scored]], call: dict[str, Any]) -> None:
        kwargs = {k: v for k, v in call.items() if k not in TRAINER_KWARGS}
        try:
            results = self.composition.score(**kwargs)
        except BaseException as exc:
            self._forget(future)
            future.set_exception(exc)
            return
        log_to_trainer(results, call, skip_means=self._top_level())
        future.set_result(results)

    def _top_level(self) -> set[str]:
        return {t.path for t in self.composition.config.terms}

    def __getstate__(self) -> dict[str, Any]:
        return {"composition": self.composition}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["composition"])  # type: ignore[misc]


class TermReward:
    """One term of a composed reward as a TRL reward function; ``__name__`` is the term's path."""

    def __init__(self, scorer: _SharedScorer, path: str | None, name: str, scale: float = 1.0) -> None:
        self._scorer = scorer
        self.path = path  # None: the composition's total
        self.__name__ = name
        self.scale = scale  # the term's weight when the trainer sums functions unweighted (AsyncGRPO)

    def __call__(
        self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None, **kwargs: Any
    ) -> list[float | None]:
        call = {"prompts": prompts, "completions": completions, **kwargs}
        future, mine = self._scorer.claim(call)
        if mine:
            self._scorer.fill(future, call)
        return self._pick(future.result())

    def _pick(self, results: Sequence[Scored]) -> list[float | None]:
        if self.path is None:
            return [r.total for r in results]
        path, scale = self.path, self.scale
        values = [None if r.total is None else r.scores[path].value for r in results]
        return values if scale == 1.0 else [None if v is None else scale * v for v in values]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.__name__!r} of {self._scorer.composition!r}>"


class AsyncTermReward(TermReward):
    """`TermReward` with ``async def __call__``: scores off the event loop, in the composition's pool."""

    async def __call__(  # type: ignore[override]
        self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None, **kwargs: Any
    ) -> list[float | None]:
        call = {"prompts": prompts, "completions": completions, **kwargs}
        future, mine = self._scorer.claim(call)
        if mine:
            await asyncio.to_thread(self._scorer.fill, future, call)
        results: list[Scored] = await asyncio.wrap_future(future)
        return self._pick(results)


def reward_funcs(
    reward: RewardSource, *, asynchronous: bool = False, workers: int | None = None, weighted: bool = False
) -> list[TermReward]:
    """TRL reward functions for a composed reward (or a config mapping or YAML path to compose).

    ``asynchronous`` gives `AsyncTermReward`s scoring in ``workers`` processes (default: the composition's
    own, or one per core when it has none). ``workers`` given explicitly replaces the composition's.
    ``weighted`` returns each term already multiplied by its weight, for trainers that sum reward functions
    without weights: TRL's AsyncGRPO (trl/experimental/async_grpo, 1.16) has no ``reward_weights`` and
    nansums the functions, so unweighted terms would train on the wrong total.
    """
    if asynchronous:
        _require_async_trl()
    composition = _composition(reward)
    if workers is not None or (asynchronous and composition.workers <= 0):
        composition = Composition(composition.config, default_workers() if workers is None else workers)
    scorer = _SharedScorer(composition)
    kind = AsyncTermReward if asynchronous else TermReward
    config = composition.config
    if splits_into_terms(config):
        return [kind(scorer, t.path, t.path, t.weight if weighted else 1.0) for t in config.terms]
    terms = [kind(scorer, t.path, t.path, 0.0 if weighted else 1.0) for t in config.terms]
    return [kind(scorer, None, _total_name(config)), *terms]


def _require_async_trl() -> None:
    """Refuse a TRL too old to await async reward functions (it fails later: "'coroutine' object is not
    iterable", in the middle of the first step). No TRL installed: nothing to check here."""
    try:
        from importlib.metadata import PackageNotFoundError, version

        installed = version("trl")
    except PackageNotFoundError:
        return
    parts = tuple(int(p) for p in installed.split(".")[:2] if p.isdigit())
    if parts < MIN_TRL:
        raise ConfigError(
            f"asynchronous=True needs trl>={'.'.join(map(str, MIN_TRL))} (installed: {installed}); "
            f"pip install 'trl>={'.'.join(map(str, MIN_TRL))}', or use the synchronous reward functions"
        )


def reward_weights(reward: RewardSource) -> list[float]:
    """The ``GRPOConfig.reward_weights`` matching `reward_funcs` for the same reward, in the same order."""
    config = _composition(reward).config
    weights = [t.weight for t in config.terms]
    return weights if splits_into_terms(config) else [1.0] + [0.0] * len(weights)


def splits_into_terms(config: CompositionConfig) -> bool:
    """Whether TRL's weighted sum over the top-level terms reproduces the composition's total."""
    return config.aggregate == "sum"


def _total_name(config: CompositionConfig) -> str:
    names = {t.path for t in config.terms}
    return config.name if config.name not in names else f"{config.name}_{_TOTAL}"


def _composition(reward: RewardSource) -> Composition:
    return reward if isinstance(reward, Composition) else compose(reward)


def _same_call(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two calls carry the same batch: same keys, and each list the same object or equal."""
    if a.keys() != b.keys():
        return False
    for key, value in a.items():
        if key in TRAINER_KWARGS or value is b[key]:
            continue
        try:
            if not bool(value == b[key]):
                return False
        except Exception:  # arrays and tensors refuse a truth value: treat them as different batches
            return False
    return True


def log_to_trainer(results: Sequence[Scored], call: Mapping[str, Any], skip_means: set[str]) -> None:
    """Per-term metrics through TRL's ``log_metric`` and, through ``log_extra``, a per-completion column
    saying which terms did not score (status and reason), shown in TRL's completions table."""
    if not results:
        return
    log_metric, log_extra = call.get("log_metric"), call.get("log_extra")
    if callable(log_metric):
        for name, value in trainer_metrics(Stats.of(results), skip_means).items():
            log_metric(name, value)
    if callable(log_extra):
        log_extra("rewardkit", [_outcome(r) for r in results])


def _outcome(scored: Scored) -> str:
    """``ok``, or each term that did not give an ok value, with its status and reason."""
    bad = [f"{path}: {s.status.value} ({s.reason})" for path, s in scored.scores.items()
           if s.status is not Status.OK and s.status is not Status.NOT_APPLICABLE]
    return "; ".join(bad)[:300] if bad else "ok"


__all__ = ["MIN_TRL", "AsyncTermReward", "TermReward", "reward_funcs", "reward_weights", "splits_into_terms"]
