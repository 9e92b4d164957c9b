"""Reward parameters: frozen dataclasses validated from plain mappings (YAML, CLI, Python).

A reward declares its parameters as a frozen dataclass; each field has a type hint, a default and
``metadata={"help": ..., "ge": ..., "le": ...}``. `build_params` checks names (with "did you mean"),
types and bounds, and returns the dataclass; `describe_params` lists them for `rewardkit describe`.
Frozen dataclasses are hashable, so rewards may cache work keyed on them.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, Union

from .errors import ParamError, did_you_mean


def param(default: Any, help: str, **bounds: float) -> Any:
    """A dataclass field with a help text and optional bounds ``ge``, ``gt``, ``le``, ``lt``."""
    unknown = set(bounds) - {"ge", "gt", "le", "lt"}
    if unknown:
        raise TypeError(f"param(): unknown bound(s) {sorted(unknown)}; use ge, gt, le, lt")
    return dataclasses.field(default=default, metadata={"help": help, **bounds})


@dataclasses.dataclass(frozen=True)
class ParamInfo:
    name: str
    type: str
    default: Any
    help: str
    bounds: dict[str, float]


def describe_params(params_cls: type) -> list[ParamInfo]:
    hints = typing.get_type_hints(params_cls)
    out = []
    for f in dataclasses.fields(params_cls):
        default = f.default if f.default is not dataclasses.MISSING else None
        bounds = {k: v for k, v in f.metadata.items() if k in ("ge", "gt", "le", "lt")}
        out.append(ParamInfo(f.name, type_name(hints[f.name]), default, f.metadata.get("help", ""), bounds))
    return out


def build_params(reward: str, params_cls: type, values: Mapping[str, Any] | None) -> Any:
    """Validate ``values`` against ``params_cls`` and return an instance; raise `ParamError` naming the field."""
    values = dict(values or {})
    if not isinstance(values, dict):
        raise ParamError(f"reward {reward!r}: params must be a mapping, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(params_cls)}
    for key in values:
        if key not in fields:
            raise ParamError(
                f"reward {reward!r} has no parameter {key!r}.{did_you_mean(key, fields)} "
                f"Run 'rewardkit describe {reward}' to see its parameters."
            )
    hints = typing.get_type_hints(params_cls)
    checked = {}
    for key, value in values.items():
        where = f"reward {reward!r}, parameter {key!r}"
        checked[key] = _coerce(value, hints[key], where)
        _check_bounds(checked[key], fields[key].metadata, where)
    try:
        return params_cls(**checked)
    except (ValueError, TypeError) as exc:  # __post_init__ cross-field checks
        raise ParamError(f"reward {reward!r}: {exc}") from None


def _check_bounds(value: Any, meta: Mapping[str, Any], where: str) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    for key, sym in _BOUNDS.items():
        if key in meta and not _within(key, value, meta[key]):
            raise ParamError(f"{where}: must be {sym} {meta[key]}, got {value!r}")


_BOUNDS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def _within(key: str, value: float, bound: float) -> bool:
    if key == "ge":
        return value >= bound
    if key == "gt":
        return value > bound
    if key == "le":
        return value <= bound
    return value < bound


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Check ``value`` against a type hint; allow the lossless conversions YAML users expect."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg, where)
            except ParamError:
                continue
        raise ParamError(f"{where}: expected {type_name(hint)}, got {_show(value)}")
    if origin is Literal:
        if value in args:
            return value
        raise ParamError(f"{where}: expected one of {', '.join(map(repr, args))}, got {_show(value)}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ParamError(f"{where}: expected a list, got {_show(value)}")
        item = args[0] if args else Any
        return tuple(_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ParamError(f"{where}: expected a mapping, got {_show(value)}")
        return dict(value)
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    elif isinstance(hint, type) and isinstance(value, hint):
        return value
    raise ParamError(f"{where}: expected {type_name(hint)}, got {_show(value)}")


def _show(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (list, tuple):
        return f"list[{type_name(args[0])}]" if args else "list"
    if hint is type(None):
        return "null"
    return getattr(hint, "__name__", str(hint))
