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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .budget import ErrorBudget
from .config import CompositionConfig, load_config, parse_config, walk_all
from .evaluate import Scored
from .rows import TRAINER_KWARGS, call_samples, require_columns
from .scorer import Scorer
from .stats import Stats, trainer_metrics
from .types import Sample

__all__ = ["TRAINER_KWARGS", "Composition", "compose"]


class Composition:
    """A composed reward. Build it with `compose`."""

    def __init__(self, config: CompositionConfig, workers: int | None = None) -> None:
        self.config = config
        self.workers = config.workers if workers is None else workers
        self.__name__ = config.name
        self._scorer: Scorer | None = None
        self._lock = threading.Lock()
        self.budget = ErrorBudget(config.max_error_rate)
        self._columns_checked = False

    # -- the TRL reward-function contract ------------------------------------------------------

    def __call__(
        self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None, **kwargs: Any
    ) -> list[float | None]:
        results = self._score(prompts, completions, kwargs)
        log_metric = kwargs.get("log_metric")
        if callable(log_metric):
            for name, value in trainer_metrics(Stats.of(results)).items():
                log_metric(name, value)
        return [r.total for r in results]

    def score(
        self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None, **kwargs: Any
    ) -> list[Scored]:
        """Like calling the object, but returns every term's `Score` for each completion."""
        return self._score(prompts, completions, kwargs)

    def _score(
        self, prompts: Sequence[Any] | None, completions: Sequence[Any] | None, kwargs: dict[str, Any]
    ) -> list[Scored]:
        results = self.score_samples(self.samples(prompts, completions, **kwargs))
        self.budget.record(results)
        return results

    def samples(
        self, prompts: Sequence[Any] | None, completions: Sequence[Any] | None, **kwargs: Any
    ) -> list[Sample]:
        """Build `Sample`s from TRL-style keyword lists (one entry per completion in each list)."""
        if not self._columns_checked:
            columns = {k for k in kwargs if k not in TRAINER_KWARGS}
            require_columns(self.config, columns or {"completion"}, "compose", "reference_column:")
            self._columns_checked = True
        return call_samples(prompts, completions, kwargs, self.config.reference_column)

    def score_samples(self, samples: Sequence[Sample]) -> list[Scored]:
        """Score samples through the composition's `Scorer` (time budgets enforced when ``workers`` > 0)."""
        return self.scorer.score(samples)

    # -- plumbing ---------------------------------------------------------------------------------

    @property
    def scorer(self) -> Scorer:
        if self._scorer is None:
            with self._lock:
                if self._scorer is None:
                    self._scorer = Scorer(self.config, self.workers)
        return self._scorer

    def close(self) -> None:
        if self._scorer is not None:
            self._scorer.close()
            self._scorer = None

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


def compose(config: Mapping[str, Any] | Sequence[Any] | CompositionConfig | str | Path,
            workers: int | None = None) -> Composition:
    """Build a composed reward from a config mapping (the YAML file's shape) or the path of a YAML file.

    ``workers`` > 0 scores in that many processes with each reward's time budget enforced by a kill;
    0 (the default) scores in-process, fastest for cheap rewards, with budgets left to the rewards.
    """
    if isinstance(config, (str, Path)):
        return Composition(load_config(config), workers)
    return Composition(parse_config(config), workers)
