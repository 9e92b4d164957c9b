"""The composition config: the ``rewards:`` mapping of the YAML file, validated into a tree of terms.

    reference_column: answer        # column holding the gold answer
    on_null: propagate              # an infrastructure null in a weighted term nulls the total (or: skip)
    max_error_rate: 0.5             # a batch with more infrastructure errors than this raises
    rewards:
      - name: think_format          # a reward from the registry
        weight: 0.2
      - name: math
        weight: 1.0
        gate: think_format          # counts only when think_format >= 1.0 (or {term:, min:, value:})
        params: {}
      - id: brevity                 # a nested group; its value is the weighted sum of its terms
        weight: 0.1
        aggregate: sum              # sum | mean | min | max
        rewards:
          - {name: length, params: {target: 400}}
          - {name: repetition, weight: 0}   # weight 0: reported, not summed

Every error names the place (``rewards[2].params.target``) and how to fix it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from . import registry
from .errors import ConfigError, ParamError, did_you_mean
from .params import build_params
from .types import RewardSpec, Sample

Aggregate = Literal["sum", "mean", "min", "max"]
NullPolicy = Literal["propagate", "skip"]

_TOP_KEYS = {"rewards", "reference_column", "on_null", "max_error_rate", "aggregate", "name", "workers"}
_TERM_KEYS = {"name", "id", "weight", "params", "gate", "timeout_s", "rewards", "aggregate"}


@dataclass(frozen=True)
class Gate:
    """A term counts only when ``term`` scored at least ``min``; otherwise it takes ``value``."""

    term: str
    min: float = 1.0
    value: float = 0.0


@dataclass(frozen=True)
class Term:
    """A leaf (``spec`` set) or a group (``children`` set). ``path`` is its dotted name in outputs."""

    path: str
    weight: float
    spec: RewardSpec | None = None
    params: Any = None
    gate: Gate | None = None
    timeout_s: float = 10.0
    children: tuple[Term, ...] = ()
    aggregate: Aggregate = "sum"

    @property
    def is_group(self) -> bool:
        return self.spec is None

    def output_range(self) -> tuple[float, float]:
        if self.spec is not None:
            return self.spec.output_range(self.params)
        return combine_ranges(self.children, self.aggregate)


def combine_ranges(terms: Sequence[Term], aggregate: Aggregate) -> tuple[float, float]:
    return combine_parts([(t.weight, t.output_range()) for t in terms if t.weight != 0], aggregate)


def combine_parts(parts: Sequence[tuple[float, tuple[float, float]]], aggregate: str) -> tuple[float, float]:
    """The range of an aggregate of ``(weight, (low, high))`` parts, as `_aggregate` in evaluate combines them."""
    scaled = [sorted((w * lo, w * hi)) for w, (lo, hi) in parts]
    if not scaled:
        return (0.0, 0.0)
    if aggregate == "sum":
        return (sum(s[0] for s in scaled), sum(s[1] for s in scaled))
    if aggregate == "mean":
        total = sum(abs(w) for w, _ in parts)
        return (sum(s[0] for s in scaled) / total, sum(s[1] for s in scaled) / total)
    return (min(s[0] for s in scaled), max(s[1] for s in scaled))


@dataclass(frozen=True)
class CompositionConfig:
    terms: tuple[Term, ...]
    reference_column: str = "answer"
    on_null: NullPolicy = "propagate"
    max_error_rate: float = 0.5
    aggregate: Aggregate = "sum"
    name: str = "rewardkit"
    workers: int = 0

    @functools.cached_property
    def leaves(self) -> tuple[Term, ...]:
        """Leaf terms in an order where every term comes after the terms it depends on."""
        return tuple(_dependency_order(_walk_leaves(self.terms)))

    def output_range(self) -> tuple[float, float]:
        return combine_ranges(self.terms, self.aggregate)

    @functools.cached_property
    def grouping(self) -> Term | None:
        """The first term that scores groups of samples together (its spec has a ``group_key``), if any."""
        return next((t for t in self.leaves if t.spec is not None and t.spec.group_key is not None), None)

    def group_of(self, sample: Sample) -> str | None:
        """The group a sample belongs to, for compositions with a grouping term (else None)."""
        term = self.grouping
        if term is None or term.spec is None or term.spec.group_key is None:
            return None
        return term.spec.group_key(sample, term.params)

    @functools.cached_property
    def is_flat(self) -> bool:
        """No groups: the leaves' scores are already the output, in declaration order."""
        return not any(t.is_group for t in self.terms) and [t.path for t in self.terms] == [
            t.path for t in self.leaves
        ]


def load_config(path: str | Path) -> CompositionConfig:
    """Read and validate a YAML (or JSON) config file."""
    try:
        return parse_config(read_config_file(path))
    except ConfigError as exc:
        raise type(exc)(f"{path}: {exc}") from None


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The raw mapping of a config file (a bare list of terms becomes ``{"rewards": [...]}``)."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8-sig") as f:  # a stream, so YAML errors name the file, not <unicode string>
            data = yaml.safe_load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid YAML: {exc}") from None
    if isinstance(data, list):
        return {"rewards": data}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config is a mapping with a 'rewards' list")
    return data


def parse_config(data: Any) -> CompositionConfig:
    """Validate a config mapping (the same shape as the YAML file) into a `CompositionConfig`."""
    if isinstance(data, CompositionConfig):
        return data
    if isinstance(data, Sequence) and not isinstance(data, str):
        data = {"rewards": list(data)}  # a bare list of terms is accepted too
    if not isinstance(data, Mapping):
        raise ConfigError(f"a config is a mapping with a 'rewards' list, got {type(data).__name__}")
    _check_keys(data, _TOP_KEYS, "config")
    if "rewards" not in data:
        raise ConfigError("config has no 'rewards' list; add e.g. rewards: [{name: think_format}]")
    terms = _parse_terms(data["rewards"], "rewards", prefix="")
    config = CompositionConfig(
        terms=terms,
        reference_column=_typed(data, "reference_column", str, "answer", "config"),
        on_null=_choice(data, "on_null", ("propagate", "skip"), "config"),
        max_error_rate=_typed(data, "max_error_rate", float, 0.5, "config"),
        aggregate=_choice(data, "aggregate", ("sum", "mean", "min", "max"), "config"),
        name=_typed(data, "name", str, "rewardkit", "config"),
        workers=_typed(data, "workers", int, 0, "config"),
    )
    _check_gates_and_refs(config)
    _ = config.leaves  # raises on dependency cycles now rather than at scoring time
    return config


def config_from_options(path: Path | None, reward_args: Sequence[str], reference_column: str | None
                        ) -> CompositionConfig:
    """The composition of a command line: ``--config FILE``, ``-r NAME[:WEIGHT]`` terms added to it, and the
    gold column (``--reference-column``); the one reading shared by `score`, `check` and `serve`."""
    data: dict[str, Any] = read_config_file(path) if path is not None else {}
    listed = data.get("rewards") or []
    if isinstance(listed, (str, dict)):
        where = f"{path}: " if path else ""
        raise ConfigError(f"{where}'rewards' must be a list of terms, e.g. rewards: [{{name: math}}] or "
                          f"rewards:\n  - name: math   (got {type(listed).__name__} {listed!r})")
    terms = list(listed)
    for arg in reward_args:
        name, _, weight = arg.partition(":")
        try:
            terms.append({"name": name, "weight": float(weight) if weight else 1.0})
        except ValueError:
            raise ConfigError(f"--reward {arg!r}: the weight after ':' must be a number") from None
    if not terms:
        raise ConfigError("no rewards to score: pass --config FILE or -r NAME (see 'rewardkit list')")
    data["rewards"] = terms
    if reference_column:
        data["reference_column"] = reference_column
    try:
        return parse_config(data)
    except ConfigError as exc:
        raise type(exc)(f"{path}: {exc}" if path else str(exc)) from None


def _parse_terms(items: Any, where: str, prefix: str) -> tuple[Term, ...]:
    if not isinstance(items, Sequence) or isinstance(items, str) or not items:
        raise ConfigError(f"{where} must be a non-empty list of terms")
    terms = tuple(_parse_term(item, f"{where}[{i}]", prefix) for i, item in enumerate(items))
    seen: set[str] = set()
    for term in terms:
        if term.path in seen:
            raise ConfigError(f"{where}: two terms are named {term.path!r}; give one an 'id'")
        seen.add(term.path)
    return terms


def _parse_term(item: Any, where: str, prefix: str) -> Term:
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, Mapping):
        raise ConfigError(f"{where} must be a mapping such as {{name: think_format, weight: 1.0}}")
    _check_keys(item, _TERM_KEYS, where)
    weight = _typed(item, "weight", float, 1.0, where)
    if ("name" in item) == ("rewards" in item):
        raise ConfigError(f"{where}: give either 'name' (a reward) or 'rewards' (a group of terms)")
    term_id = _typed(item, "id", str, item.get("name", ""), where)
    if not term_id or "." in term_id:
        raise ConfigError(f"{where}: a group needs an 'id' without dots, e.g. id: correctness")
    path = prefix + term_id
    gate = _parse_gate(item.get("gate"), where)
    if "rewards" in item:
        children = _parse_terms(item["rewards"], f"{where}.rewards", prefix=path + ".")
        aggregate = _choice(item, "aggregate", ("sum", "mean", "min", "max"), where)
        return Term(path, weight, gate=gate, children=children, aggregate=aggregate)
    try:
        spec = registry.get(_typed(item, "name", str, "", where))
        params = build_params(spec.name, spec.params, item.get("params"))
    except ConfigError as exc:
        raise type(exc)(f"{where}: {exc}") from None
    if spec.validate is not None:
        try:
            spec.validate(params)
        except ConfigError as exc:
            raise type(exc)(f"{where} ({spec.name}): {exc}") from None
    timeout = _typed(item, "timeout_s", float, spec.timeout_s, where)
    if timeout <= 0:
        raise ConfigError(f"{where}.timeout_s must be > 0, got {timeout}")
    return Term(path, weight, spec, params, gate, timeout)


def _parse_gate(raw: Any, where: str) -> Gate | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        return Gate(raw)
    if not isinstance(raw, Mapping) or "term" not in raw:
        raise ConfigError(f"{where}.gate must be a term name or {{term: NAME, min: 1.0, value: 0.0}}")
    _check_keys(raw, {"term", "min", "value"}, f"{where}.gate")
    return Gate(
        str(raw["term"]), _typed(raw, "min", float, 1.0, f"{where}.gate"),
        _typed(raw, "value", float, 0.0, f"{where}.gate"),
    )


def _check_gates_and_refs(config: CompositionConfig) -> None:
    paths = {t.path for t in walk_all(config.terms)}
    for term in walk_all(config.terms):
        if term.gate and term.gate.term not in paths:
            raise ConfigError(
                f"term {term.path!r} is gated on {term.gate.term!r}, which is not a term of this config."
                f"{did_you_mean(term.gate.term, paths)}"
            )
        if term.gate and (term.gate.term == term.path or term.gate.term.startswith(term.path + ".")):
            raise ConfigError(f"term {term.path!r} cannot be gated on itself")


def term_dependencies(term: Term, leaf_paths: set[str]) -> set[str]:
    """Leaf paths a term needs computed first: its gate, and parameters that name other terms."""
    deps: set[str] = set()
    if term.gate:
        deps |= {p for p in leaf_paths if p == term.gate.term or p.startswith(term.gate.term + ".")}
    if term.spec is not None:
        for name in term.spec.term_params:
            value = getattr(term.params, name, None)
            if isinstance(value, str) and value in leaf_paths:
                deps.add(value)
    return deps


def _dependency_order(leaves: list[Term]) -> list[Term]:
    paths = {t.path for t in leaves}
    deps = {t.path: term_dependencies(t, paths) for t in leaves}
    done: list[Term] = []
    placed: set[str] = set()
    pending = list(leaves)
    while pending:
        ready = [t for t in pending if deps[t.path] <= placed]
        if not ready:
            cycle = ", ".join(t.path for t in pending)
            raise ConfigError(f"these terms depend on each other in a cycle (gates or term params): {cycle}")
        for t in ready:
            done.append(t)
            placed.add(t.path)
        pending = [t for t in pending if t.path not in placed]
    return done


def _walk_leaves(terms: Sequence[Term]) -> list[Term]:
    return [t for t in walk_all(terms) if not t.is_group]


def walk_all(terms: Sequence[Term]) -> list[Term]:
    """Every term, groups included, parents before children."""
    out: list[Term] = []
    for t in terms:
        out.append(t)
        out.extend(walk_all(t.children))
    return out


def _check_keys(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in data:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key {key!r}.{did_you_mean(str(key), allowed)}")


def _typed(data: Mapping[str, Any], key: str, kind: type, default: Any, where: str) -> Any:
    value = data.get(key, default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(f"{where}.{key}: expected {kind.__name__}, got {value!r}")
    return value


def _choice(data: Mapping[str, Any], key: str, choices: tuple[str, ...], where: str) -> Any:
    value = data.get(key, choices[0])
    if value not in choices:
        raise ConfigError(f"{where}.{key}: expected one of {', '.join(choices)}, got {value!r}")
    return cast(Any, value)


__all__ = ["CompositionConfig", "Gate", "ParamError", "Term", "load_config", "parse_config", "walk_all"]
