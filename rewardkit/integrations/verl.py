"""rewardkit rewards as verl's ``custom_reward_function``, with no configuration needed.

    # verl trainer config
    custom_reward_function:
      path: /path/to/site-packages/rewardkit/integrations/verl.py   # or a file doing `from ... import`
      name: compute_score               # compute_score_batch for verl's BatchRewardManager
      reward_kwargs: {config: rewards_verl.yaml}   # optional

With no configuration, math-like data sources (``openai/gsm8k``, ``lighteval/MATH``,
``DigitalLearningGmbH/MATH-lighteval``, ``math_dapo``, ``aime*``, ``numina_*``, ...) get the ``math``
reward, code-like ones (``codecontests``, ``apps``, ``taco``, ``codeforces``, ``*humaneval*``, ...) the
``code`` reward, and any other data source is an error naming the way out. A config file (``config=`` in
reward_kwargs, or the ``REWARDKIT_VERL_CONFIG`` environment variable) routes data sources (glob patterns,
first match wins, built-in routing after them) to compositions written like ``rewardkit score`` configs::

    data_sources:
      "openai/gsm8k": {rewards: [{name: math}, {name: think_format, weight: 0.1}]}
      "my_puzzles_*": {rewards: [{name: math}]}

What verl gets back: a dict with ``score`` (the weighted total) and every term's value under its path, with
the same keys for every sample (NaN where a term did not run), as verl's per-key logs need. verl cannot
skip a sample, so a null total (an infrastructure failure such as a sandbox down, or no term applying to
the row) is sent as ``score`` 0.0 with ``rewardkit_masked`` 1.0, and `ErrorBudgetExceeded` is raised once
more than the config's ``max_error_rate`` of the last 64 samples failed for infrastructure reasons:
counted and loud, never silently a real 0.
"""

from __future__ import annotations

import collections
import fnmatch
import json
import math
import os
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..config import CompositionConfig, parse_config, read_config_file, walk_all
from ..errors import ConfigError, ErrorBudgetExceeded
from ..evaluate import Scored, evaluate_chunk
from ..types import Sample

CONFIG_ENV = "REWARDKIT_VERL_CONFIG"
MASKED_KEY = "rewardkit_masked"
WINDOW = 64

MATH_CONFIG: dict[str, Any] = {"name": "verl_math", "rewards": [{"name": "math"}]}
CODE_CONFIG: dict[str, Any] = {"name": "verl_code", "rewards": [{"name": "code"}]}

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
_TEST_COLUMNS = ("test", "entry_point", "test_list", "test_setup_code", "tests", "input_output")


class _Router:
    """Data source -> composition, built once per process (and per config file) and shared by threads."""

    def __init__(self, path: str | None) -> None:
        self.routes: list[tuple[str, CompositionConfig]] = []
        if path:
            self.routes = _read_routes(Path(path))
        self.math = parse_config(MATH_CONFIG)
        self.code = parse_config(CODE_CONFIG)
        self.is_code: dict[str, bool] = {}
        configs = [c for _, c in self.routes] + [self.math, self.code]
        #: Every term path any route can produce, so every sample returns the same keys.
        self.keys = list(dict.fromkeys(t.path for c in configs for t in walk_all(c.terms)))
        self.recent: collections.deque[bool] = collections.deque(maxlen=WINDOW)
        self.lock = threading.Lock()

    def config_for(self, data_source: str) -> CompositionConfig:
        for pattern, config in self.routes:
            if fnmatch.fnmatchcase(data_source, pattern):
                return config
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

    def record(self, config: CompositionConfig, masked: Sequence[bool]) -> None:
        with self.lock:
            self.recent.extend(masked)
            bad = sum(self.recent)
            if len(self.recent) >= 16 and bad / len(self.recent) > config.max_error_rate:
                self.recent.clear()
                raise ErrorBudgetExceeded(
                    f"{bad} of the last {WINDOW} rewards were masked by infrastructure failures (more than "
                    f"max_error_rate {config.max_error_rate:.0%}); check the sandbox or judge the rewards use"
                )


def _read_routes(path: Path) -> list[tuple[str, CompositionConfig]]:
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
            out.append((str(pattern), parse_config({"name": str(pattern), **dict(body)})))
        except (ConfigError, TypeError, ValueError) as exc:
            raise ConfigError(f"{path}: data_sources[{pattern!r}]: {exc}") from None
    return out


_routers: dict[str | None, _Router] = {}
_routers_lock = threading.Lock()


def _router(config: str | os.PathLike[str] | None) -> _Router:
    path = str(config) if config is not None else os.environ.get(CONFIG_ENV) or None
    with _routers_lock:
        router = _routers.get(path)
        if router is None:
            router = _routers[path] = _Router(path)
        return router


def _as_tests(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _columns(ground_truth: Any, extra_info: Mapping[str, Any] | None) -> dict[str, Any]:
    """Row columns: extra_info's, plus test columns read from a code ground truth (verl stores tests there)."""
    columns = dict(extra_info or {})
    tests = _as_tests(ground_truth)
    if isinstance(tests, Mapping):
        if any(k in tests for k in _TEST_COLUMNS):
            columns.update({k: tests[k] for k in _TEST_COLUMNS if k in tests})
        elif "inputs" in tests and "outputs" in tests:
            columns["input_output"] = dict(tests)
    elif isinstance(tests, list) and tests and all(isinstance(t, Mapping) for t in tests):
        columns["tests"] = tests
    return columns


def _sample(solution_str: str, ground_truth: Any, extra_info: Mapping[str, Any] | None) -> Sample:
    info = extra_info if isinstance(extra_info, Mapping) else None
    prompt = None if info is None else info.get("question", info.get("prompt"))
    reference = ground_truth if not isinstance(ground_truth, (Mapping, list)) else None
    return Sample(solution_str, prompt, reference, _columns(ground_truth, info))


def _result(router: _Router, scored: Scored, return_dict: bool) -> float | dict[str, float]:
    total = 0.0 if scored.total is None else scored.total
    if not return_dict:
        return total
    out = {"score": total}
    for key in router.keys:
        score = scored.scores.get(key)
        out[key] = math.nan if score is None or score.value is None else score.value
    out[MASKED_KEY] = 0.0 if scored.total is not None else 1.0
    return out


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    config: str | os.PathLike[str] | None = None,
    return_dict: bool = True,
) -> float | dict[str, float]:
    """verl's custom reward: the composition routed from ``data_source``, scored on one response.

    ``config`` (verl's reward_kwargs) names a routing file; ``return_dict=False`` returns the bare total.
    """
    return compute_score_batch([data_source], [solution_str], [ground_truth], [extra_info], config,
                               return_dict)[0]  # fmt: skip


def compute_score_batch(
    data_sources: Sequence[str],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Mapping[str, Any] | None] | None = None,
    config: str | os.PathLike[str] | None = None,
    return_dict: bool = True,
) -> list[float | dict[str, float]]:
    """The batch form, for verl's BatchRewardManager: samples of one route are scored together (the code
    reward then runs their programs concurrently)."""
    n = len(solution_strs)
    infos = list(extra_infos) if extra_infos is not None else [None] * n
    if not len(data_sources) == len(ground_truths) == len(infos) == n:
        raise ConfigError(
            f"compute_score_batch got {len(data_sources)} data sources, {n} solutions, "
            f"{len(ground_truths)} ground truths and {len(infos)} extra_infos; pass one of each per sample"
        )
    router = _router(config)
    groups: dict[int, tuple[CompositionConfig, list[int]]] = {}
    for i, source in enumerate(data_sources):
        chosen = router.config_for(str(source))
        groups.setdefault(id(chosen), (chosen, []))[1].append(i)
    out: list[float | dict[str, float]] = [0.0] * n
    for chosen, indices in groups.values():
        samples = [_sample(solution_strs[i], ground_truths[i], infos[i]) for i in indices]
        results = evaluate_chunk(chosen, samples)
        router.record(chosen, [r.total is None and _masked(r) for r in results])
        for i, scored in zip(indices, results, strict=True):
            out[i] = _result(router, scored, return_dict)
    return out


def _masked(scored: Scored) -> bool:
    """A null total from a failure (error or timeout), not from a reward that does not apply."""
    return any(s.is_masked for s in scored.scores.values())


__all__ = ["CONFIG_ENV", "compute_score", "compute_score_batch"]
