"""`compose(config)`: weighted reward terms as one callable with TRL's reward-function signature.

    reward = compose({"rewards": [{"name": "math"}, {"name": "think_format", "weight": 0.2}]})
    trainer = GRPOTrainer(..., reward_funcs=[reward])
    reward(prompts=prompts, completions=completions, answer=answers)  # -> list[float | None]
    reward.score(prompts=..., completions=..., answer=...)            # -> list[Scored], every term

Plain-text and chat-message completions are both accepted. The object pickles (TRL's async GRPO needs it);
a worker pool, when ``workers`` > 0, is rebuilt lazily after unpickling.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .config import CompositionConfig, load_config, parse_config, walk_all
from .errors import ErrorBudgetExceeded, InputError, ShapeError
from .evaluate import Scored, evaluate_chunk
from .runner import WorkerPool
from .stats import Stats
from .types import Sample

#: Keyword arguments TRL passes that are not dataset columns.
TRAINER_KWARGS = frozenset({"trainer_state", "log_extra", "log_metric", "environments"})
_MIN_CHUNK = 16


class Composition:
    """A composed reward. Build it with `compose`."""

    def __init__(self, config: CompositionConfig, workers: int | None = None) -> None:
        self.config = config
        self.workers = config.workers if workers is None else workers
        self.__name__ = config.name
        self._pool: WorkerPool | None = None
        self._lock = threading.Lock()

    # -- the TRL reward-function contract ------------------------------------------------------

    def __call__(
        self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None, **kwargs: Any
    ) -> list[float | None]:
        results, stats = self._score(prompts, completions, kwargs)
        log_metric = kwargs.get("log_metric")
        if callable(log_metric):
            _log_terms(stats, log_metric)
        return [r.total for r in results]

    def score(
        self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None, **kwargs: Any
    ) -> list[Scored]:
        """Like calling the object, but returns every term's `Score` for each completion."""
        return self._score(prompts, completions, kwargs)[0]

    def _score(
        self, prompts: Sequence[Any] | None, completions: Sequence[Any] | None, kwargs: dict[str, Any]
    ) -> tuple[list[Scored], Stats]:
        results = self.score_samples(self.samples(prompts, completions, **kwargs))
        stats = Stats()
        for r in results:
            stats.add(r)
        self._check_error_budget(stats, len(results))
        return results, stats

    def samples(
        self, prompts: Sequence[Any] | None, completions: Sequence[Any] | None, **kwargs: Any
    ) -> list[Sample]:
        """Build `Sample`s from TRL-style keyword lists (one entry per completion in each list)."""
        if completions is None:
            raise InputError("pass completions=[...] (one string or chat-message list per completion)")
        n = len(completions)
        columns = {k: v for k, v in kwargs.items() if k not in TRAINER_KWARGS}
        for name, values in {"prompts": prompts, **columns}.items():
            if values is not None and (not isinstance(values, Sequence) or isinstance(values, str)):
                raise ShapeError(f"{name} must be a list with one entry per completion, got {type(values).__name__}")
            if values is not None and len(values) != n:
                raise ShapeError(f"{name} has {len(values)} entries but there are {n} completions")
        ref = self.config.reference_column
        return [
            Sample(
                completion=completions[i],
                prompt=None if prompts is None else prompts[i],
                reference=columns[ref][i] if ref in columns else None,
                columns={k: v[i] for k, v in columns.items() if k != ref},
            )
            for i in range(n)
        ]

    def score_samples(self, samples: Sequence[Sample]) -> list[Scored]:
        if self.workers <= 0 or len(samples) < 2 * _MIN_CHUNK:
            return evaluate_chunk(self.config, samples)
        pool = self._get_pool()
        size = max(_MIN_CHUNK, -(-len(samples) // (4 * pool.size)))
        chunks = [list(samples[i : i + size]) for i in range(0, len(samples), size)]
        with self._lock:  # one batch at a time through the pool; TRL may call from several threads
            return [r for chunk in pool.map(chunks) for r in chunk]

    def _check_error_budget(self, stats: Stats, batch: int) -> None:
        for path in stats.terms:
            rate = stats.error_rate(path)
            if rate > self.config.max_error_rate and batch >= 4:
                ts = stats.terms[path]
                raise ErrorBudgetExceeded(
                    f"{ts.errors} of {batch} scores of {path!r} failed for infrastructure reasons "
                    f"({rate:.0%} > max_error_rate {self.config.max_error_rate:.0%}). Check the reward's "
                    "service (sandbox, judge server), or raise max_error_rate in the config."
                )

    # -- plumbing ---------------------------------------------------------------------------------

    def _get_pool(self) -> WorkerPool:
        with self._lock:
            if self._pool is None:
                self._pool = WorkerPool(self.config, evaluate_chunk, self.workers)
            return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def output_range(self) -> tuple[float, float]:
        return self.config.output_range()

    @property
    def term_paths(self) -> list[str]:
        return [t.path for t in walk_all(self.config.terms)]

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config, "workers": self.workers}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["config"], state["workers"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"<Composition {self.__name__!r}: {', '.join(self.term_paths)}>"


def _log_terms(stats: Stats, log_metric: Callable[[str, float], Any]) -> None:
    """Per-term means and failure counts, logged through TRL's ``log_metric`` when it is passed."""
    for path, ts in stats.terms.items():
        if ts.mean is not None:
            log_metric(f"rewardkit/{path}/mean", ts.mean)
        log_metric(f"rewardkit/{path}/errors", float(ts.errors))
        log_metric(f"rewardkit/{path}/timeouts", float(ts.timeouts))


def compose(config: Mapping[str, Any] | Sequence[Any] | CompositionConfig | str | Path,
            workers: int | None = None) -> Composition:
    """Build a composed reward from a config mapping (the YAML file's shape) or the path of a YAML file.

    ``workers`` > 0 scores in that many processes with each reward's time budget enforced by a kill;
    0 (the default) scores in-process, fastest for cheap rewards, with budgets left to the rewards.
    """
    if isinstance(config, (str, Path)):
        return Composition(load_config(config), workers)
    return Composition(parse_config(config), workers)
