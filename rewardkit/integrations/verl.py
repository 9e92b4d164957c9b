"""rewardkit rewards as verl's custom reward function (verl 0.9.1), with no configuration needed.

    # verl 0.9.1 trainer config (python -m verl.trainer.main_ppo ...); see docs/trainers/verl.md
    reward:
      custom_reward_function:
        path: pkg://rewardkit.integrations.verl
        name: compute_score
        reward_kwargs: {config: rewards_verl.yaml}   # optional; also workers: N

Under ``reward.``: 0.9.1's ``main_ppo`` ignores a top-level ``custom_reward_function:`` (only its fully-async
entry migrates the old key) and silently runs verl's default scorer instead. ``pkg://`` imports this module
as a package module; a file path to it works too (the imports here are absolute, as verl's
``spec_from_file_location`` loader needs), but ``pkg://`` is the form the docs and tests use.

Routing. With no configuration, math-like data sources (``openai/gsm8k``, ``lighteval/MATH``, ``math_dapo``,
``aime*``, ``numina_*``, ...) get the ``math`` reward, code-like ones (``codecontests``, ``apps``, ``taco``,
``*humaneval*``, ...) the ``code`` reward (tests read from the ground truth, where verl keeps them), and any
other data source is an error naming the way out. A routing file (``config=`` in reward_kwargs, or the
``REWARDKIT_VERL_CONFIG`` environment variable) maps data-source globs (first match wins, built-in routing
after them) to compositions written like ``rewardkit score`` configs, each with an optional ``acc:`` list::

    data_sources:
      "openai/gsm8k": {acc: [math], rewards: [{name: math}, {name: think_format, weight: 0.1}]}

What verl gets back (its managers copy every key into ``reward_extra_info``; its aggregation drops None
but not NaN, and GDPO casts the keys to float32, where None becomes NaN too): a dict of finite floats with
the same keys for every sample of a run: ``score`` (the total), ``acc``, `rewardkit.stats.MASKED`, and for
every term any route can produce its value and ``<term>_applied``. A term that did not give a value for
this sample (not in its route, not applicable, failed) is 0.0 with ``<term>_applied`` 0.0, never NaN.
``acc`` is 1.0 when the route's correctness terms (``acc:``; by default those graded against the gold
answer, else the total) that applied all reached the top of their range; verl's validation then reports
``acc`` as its core metric. verl cannot skip a sample: a masked total (an infrastructure failure, or no
weighted term applying) is ``score`` 0.0 with the masked marker 1.0, counted in one sliding-window
`ErrorBudget` per routing file, which raises once too many recent scores failed: loud, never a silent 0.

Scoring goes through `rewardkit.scorer.Scorer` in ``workers`` processes (default one per core), so every
reward's time budget is enforced by a kill at one sample per call, and verl's reward threads (its managers
call once per sample from an executor) score in parallel. verl's extra keyword arguments
(``reward_router_address``, ``reward_model_tokenizer`` when a reward model is enabled, and any later ones)
are accepted and not read: row data reaches rewards through ``extra_info``.
"""

from __future__ import annotations

import fnmatch
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from rewardkit.budget import ErrorBudget
from rewardkit.config import CompositionConfig, parse_config, read_config_file, walk_all
from rewardkit.errors import ConfigError
from rewardkit.evaluate import Scored
from rewardkit.rows import label_columns, row_sample
from rewardkit.runner import default_workers
from rewardkit.scorer import Scorer
from rewardkit.stats import MASKED
from rewardkit.types import Sample

CONFIG_ENV = "REWARDKIT_VERL_CONFIG"
APPLIED = "_applied"
_RESERVED = ("score", "acc", MASKED)

MATH_CONFIG: dict[str, Any] = {"name": "verl_math", "acc": ["math"], "rewards": [{"name": "math"}]}
CODE_CONFIG: dict[str, Any] = {"name": "verl_code", "acc": ["code"], "rewards": [{"name": "code"}]}

#: Data sources verl's own default_compute_score and common recipes use, by family.
_MATH_PATTERN = re.compile(
    r"(^|[/_\-.])(math|gsm8k|gsm|aime|amc|numina|olympiad|olympiadbench|dapo|deepscaler|minerva|"
    r"mathqa|svamp|asdiv|theoremqa|omni[-_]?math|bigmath|orz|skywork[-_]?or1|simplerl)",
    re.IGNORECASE,
)
_CODE_PATTERN = re.compile(
    r"(^|[/_\-.])(code|codecontests|apps|taco|codeforces|humaneval|mbpp|livecodebench|lcb|leetcode|"
    r"primeintellect|kodcode|deepcoder)",
    re.IGNORECASE,
)
_TOP = 1e-9  # a float sum may land a hair under the range's top


class Route(NamedTuple):
    """One composition and what ``acc`` means for it: (term path or None for the total, top of its range).

    Not a dataclass: verl's file-path loader runs this module outside `sys.modules`, where dataclasses fail.
    """

    config: CompositionConfig
    acc: tuple[tuple[str | None, float], ...]


def _route(name: str, body: Mapping[str, Any]) -> Route:
    body = dict(body)
    acc = body.pop("acc", None)
    config = parse_config({"name": name, **body})
    terms = {t.path: t for t in walk_all(config.terms)}
    if acc is None:  # terms graded against the gold answer; else the total
        wanted = [t.path for t in config.leaves if t.spec is not None and t.spec.needs_reference and t.weight]
    elif isinstance(acc, list) and all(isinstance(p, str) for p in acc) and acc:
        wanted = acc
    else:
        raise ConfigError(f"acc must be a non-empty list of term paths, e.g. acc: [math]; got {acc!r}")
    unknown = [p for p in wanted if p not in terms]
    if unknown:
        raise ConfigError(f"acc names {unknown} but the terms are {sorted(terms)}")
    if not wanted:
        return Route(config, ((None, config.output_range()[1]),))
    return Route(config, tuple((p, terms[p].output_range()[1]) for p in wanted))


class _Router:
    """Data source -> route, built once per process per (routing file, workers), shared by verl's threads."""

    def __init__(self, path: str | None, workers: int) -> None:
        self.routes = _read_routes(Path(path)) if path else []
        self.math = _route(MATH_CONFIG["name"], MATH_CONFIG)
        self.code = _route(CODE_CONFIG["name"], CODE_CONFIG)
        everything = [r for _, r in self.routes] + [self.math, self.code]
        #: Every term path any route can produce, so every sample returns the same keys.
        self.terms = list(dict.fromkeys(t.path for r in everything for t in walk_all(r.config.terms)))
        clash = [p for p in self.terms if p in _RESERVED or p.endswith(APPLIED)]
        if clash:
            raise ConfigError(f"term ids {clash} clash with the keys verl gets ({', '.join(_RESERVED)}, "
                              f"<term>{APPLIED}); rename them with id: in the routing file")  # fmt: skip
        # One budget for the whole routing file, at its strictest route's rate (the built-ins' without one).
        self.budget = ErrorBudget(min(r.config.max_error_rate for r in [r for _, r in self.routes] or everything))
        self.workers = workers
        self._scorers: dict[int, Scorer] = {}
        self._lock = threading.Lock()

    def route_for(self, data_source: str) -> Route:
        for pattern, route in self.routes:
            if fnmatch.fnmatchcase(data_source, pattern):
                return route
        if _CODE_PATTERN.search(data_source):
            return self.code
        if _MATH_PATTERN.search(data_source):
            return self.math
        where = "the config file's data_sources nor the built-in routing" if self.routes else "the built-in routing"
        raise ConfigError(
            f"data source {data_source!r} matches none of {where}; rewardkit routes math-like sources to "
            f"the math reward and code-like ones to the code reward. Map it in a config file "
            f"(data_sources: {{{data_source!r}: {{rewards: [{{name: math}}]}}}}) passed as "
            f"reward_kwargs.config or in ${CONFIG_ENV}."
        )

    def score(self, route: Route, sample: Sample) -> Scored:
        scorer = self._scorers.get(id(route))
        if scorer is None:
            with self._lock:
                scorer = self._scorers.setdefault(id(route), Scorer(route.config, self.workers))
        results = scorer.score([sample])
        self.budget.record(results)
        return results[0]

    def close(self) -> None:
        with self._lock:
            scorers, self._scorers = list(self._scorers.values()), {}
        for scorer in scorers:
            scorer.close()


def _read_routes(path: Path) -> list[tuple[str, Route]]:
    data = read_config_file(path)
    routes = data.get("data_sources")
    if not isinstance(routes, Mapping) or not routes or set(data) - {"data_sources"}:
        raise ConfigError(
            f"{path}: a verl routing file has one key, 'data_sources', mapping data-source patterns to "
            "compositions, e.g. data_sources: {'openai/gsm8k': {rewards: [{name: math}]}}"
        )
    out = []
    for pattern, body in routes.items():
        try:
            out.append((str(pattern), _route(str(pattern), dict(body))))
        except (ConfigError, TypeError, ValueError) as exc:
            raise ConfigError(f"{path}: data_sources[{pattern!r}]: {exc}") from None
    return out


_routers: dict[tuple[str | None, int], _Router] = {}
_routers_lock = threading.Lock()


def _router(config: str | os.PathLike[str] | None, workers: int | None) -> _Router:
    path = str(config) if config is not None else os.environ.get(CONFIG_ENV) or None
    key = (path, default_workers() if workers is None else max(0, int(workers)))
    with _routers_lock:
        router = _routers.get(key)
        if router is None:
            router = _routers[key] = _Router(*key)
        return router


def close() -> None:
    """Stop every worker process this module started (they also stop when the process exits)."""
    with _routers_lock:
        routers = list(_routers.values())
        _routers.clear()
    for router in routers:
        router.close()


def _plain(value: Any) -> Any:
    """verl reads parquet columns into numpy arrays; rewards and JSON want lists."""
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) and not isinstance(value, (str, bytes)) else value


def _sample(route: Route, solution_str: str, ground_truth: Any, extra_info: Any) -> Sample:
    info = dict(extra_info) if isinstance(extra_info, Mapping) else {}  # verl mutates its own copy
    reference = route.config.reference_column
    carried = {k: _plain(v) for k, v in label_columns(_plain(ground_truth), reference).items()}
    carried.setdefault(reference, None)  # a ground truth of tests is no gold answer
    # The label's columns last, so an extra_info entry named like the gold column (gsm8k's worked "answer")
    # cannot replace the gold.
    row = {**info, **carried, "completion": solution_str, "prompt": info.get("question", info.get("prompt"))}
    return row_sample(row, reference)


def _acc(route: Route, scored: Scored) -> float:
    if scored.total is None:
        return 0.0
    seen = 0
    for path, top in route.acc:
        value = scored.total if path is None else scored.scores[path].value if path in scored.scores else None
        if value is None:
            continue  # a correctness term that did not apply to this row
        if value < top - _TOP:
            return 0.0
        seen += 1
    return 1.0 if seen else 0.0


def _result(router: _Router, route: Route, scored: Scored) -> dict[str, float]:
    out = {"score": 0.0 if scored.total is None else scored.total, "acc": _acc(route, scored),
           MASKED: 1.0 if scored.total is None else 0.0}  # fmt: skip
    for path in router.terms:
        score = scored.scores.get(path)
        value = None if score is None else score.value
        out[path] = 0.0 if value is None else value
        out[path + APPLIED] = 0.0 if value is None else 1.0
    return out


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    *,
    config: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    return_dict: bool = True,
    **kwargs: Any,
) -> float | dict[str, float]:
    """verl's custom reward: the composition routed from ``data_source``, scored on one response.

    ``config`` and ``workers`` come from verl's ``reward_kwargs``: a routing file, and the worker processes
    per verl reward worker (default one per core; 0 scores in the calling thread, leaving time budgets to
    the rewards). ``return_dict=False`` returns the bare total. ``kwargs``: verl's reward-model arguments.
    """
    router = _router(config, workers)
    route = router.route_for(str(data_source))
    scored = router.score(route, _sample(route, solution_str, ground_truth, extra_info))
    if not return_dict:
        return 0.0 if scored.total is None else scored.total
    return _result(router, route, scored)


__all__ = ["APPLIED", "CONFIG_ENV", "close", "compute_score"]
