"""``tool_call``: the function calls of a completion against the gold calls.

Calls are read from (``formats``):

- ``openai``: the ``tool_calls`` list of the assistant messages of a chat completion (what TRL passes when
  tools are set), each ``{"type": "function", "function": {"name": ..., "arguments": ...}}`` or the flat
  ``{"name": ..., "arguments": ...}``; arguments as a JSON string (OpenAI) or an object (TRL);
- ``hermes``: ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` in the text (Hermes, Qwen);
- ``mistral``: ``[TOOL_CALLS] [{"name": ..., "arguments": {...}}, ...]`` in the text.

Structured ``tool_calls`` win when a completion has any (a parser already took the calls out of the text);
otherwise the text after the first ``</think>`` is searched. A call whose JSON does not parse, whose name is
missing or whose arguments are not an object (an unclosed ``<tool_call>`` too) is **malformed**: it counts
as a call that matches nothing.

Gold calls come from the ``gold_column`` column (default ``tool_calls``), else the reference: a list of calls
in either shape (or a JSON string of one); an empty list means no call should be made.

Matching: a predicted call matches a gold call when the names are equal and the arguments are equal after
normalisation: where the gold (or the row's ``tools`` schema) says a value is a number or a boolean, the
strings ``"3"`` and ``"true"`` read as ``3`` and ``true``; a number where the gold has a string compares as
its text. With ``partial_args`` a call with the right name earns the share of argument names (gold's and
predicted's together) whose values match. Calls are paired in order, or with ``ordered: false`` (default) in
the pairing that earns most. Value: the summed credit of the pairs divided by the larger of the two call
counts, so a missing call, an extra call and a malformed one all cost the same share. No gold calls and no
predicted calls: 1.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..errors import ConfigError
from ..hookspecs import hookimpl
from ..params import param
from ..types import Completion, RewardSpec, Sample, Score
from .json_schema import JsonError, loads_strict

__all__ = ["Call", "ToolCallParams", "gold_calls", "predicted_calls", "score_tool_call"]

FORMATS = ("openai", "hermes", "mistral")
_HERMES = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.S)
_MISTRAL = "[TOOL_CALLS]"


class Call(NamedTuple):
    name: str
    arguments: Mapping[str, Any]
    #: Why the call is malformed, or "" when it is well formed.
    problem: str = ""


def _malformed(problem: str) -> Call:
    return Call("", {}, problem)


def to_call(raw: Any) -> Call:
    """One call from its OpenAI, TRL or text-encoded object."""
    if not isinstance(raw, Mapping):
        return _malformed(f"a call must be an object, got {type(raw).__name__}")
    fn = raw.get("function", raw)
    if not isinstance(fn, Mapping):
        return _malformed("'function' must be an object")
    name = fn.get("name")
    args = fn.get("arguments", fn.get("parameters", {}))
    if not isinstance(name, str) or not name.strip():
        return _malformed("the call has no function name")
    if isinstance(args, str):
        try:
            args = loads_strict(args) if args.strip() else {}
        except JsonError as exc:
            return _malformed(f"arguments of {name!r}: {exc}")
    if not isinstance(args, Mapping):
        return _malformed(f"arguments of {name!r} must be an object, got {type(args).__name__}")
    return Call(name.strip(), dict(args))


def _text_calls(text: str, formats: Sequence[str]) -> list[Call]:
    end = text.find("</think>")
    text = text[end + len("</think>") :] if end >= 0 else text
    calls: list[Call] = []
    if "hermes" in formats:
        for body in _HERMES.findall(text):
            try:
                calls.append(to_call(loads_strict(body.strip())))
            except JsonError as exc:
                calls.append(_malformed(f"<tool_call> body: {exc}"))
    if "mistral" in formats and _MISTRAL in text:
        body = text.split(_MISTRAL, 1)[1].strip()
        try:
            found = json.JSONDecoder().raw_decode(body)[0]
        except (json.JSONDecodeError, RecursionError):
            return [*calls, _malformed("[TOOL_CALLS] is not followed by JSON")]
        calls.extend(to_call(c) for c in (found if isinstance(found, list) else [found]))
    return calls


def predicted_calls(completion: Completion, text: str, formats: Sequence[str]) -> list[Call]:
    """The completion's calls: structured ``tool_calls`` when there are any, else text-encoded ones."""
    if "openai" in formats and not isinstance(completion, str):
        structured = [c for m in completion if m.get("role", "assistant") == "assistant"
                      for c in (m.get("tool_calls") or [])]  # fmt: skip
        if structured:
            return [to_call(c) for c in structured]
    return _text_calls(text, formats)


def gold_calls(value: Any) -> list[Call]:
    """The gold calls of a row; `ValueError` when they are malformed (a dataset problem)."""
    if isinstance(value, str):
        value = loads_strict(value)
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list):
        raise ValueError(f"gold calls must be a list of calls, got {type(value).__name__}")
    calls = [to_call(c) for c in value]
    bad = next((c.problem for c in calls if c.problem), None)
    if bad:
        raise ValueError(f"a gold call is malformed: {bad}")
    return calls


# --- normalising and comparing arguments -------------------------------------------------------------------


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def same_value(gold: Any, pred: Any, declared: str | None = None) -> bool:
    """Whether an argument value matches the gold's, with the type normalisation the module describes."""
    if isinstance(gold, bool) or declared == "boolean":
        if isinstance(pred, str) and pred.strip().lower() in ("true", "false"):
            pred = pred.strip().lower() == "true"
        return isinstance(pred, bool) and pred == gold
    if _as_number(gold) is not None and (declared in ("number", "integer") or not isinstance(gold, str)):
        g, p = _as_number(gold), _as_number(pred)
        return g is not None and p is not None and abs(g - p) <= 1e-9 * max(1.0, abs(g))
    if isinstance(gold, str):
        if _as_number(pred) is not None and not isinstance(pred, str):
            pred = json.dumps(pred)
        return isinstance(pred, str) and pred.strip() == gold.strip()
    if isinstance(gold, Mapping):
        return isinstance(pred, Mapping) and gold.keys() == pred.keys() and all(
            same_value(gold[k], pred[k]) for k in gold
        )
    if isinstance(gold, list):
        return isinstance(pred, list) and len(gold) == len(pred) and all(
            same_value(g, p) for g, p in zip(gold, pred, strict=True)
        )
    return bool(gold == pred)


def _declared_types(tools: Any) -> dict[str, dict[str, str]]:
    """function name -> parameter name -> JSON Schema type, from an OpenAI ``tools`` list (may be absent)."""
    out: dict[str, dict[str, str]] = {}
    for tool in tools if isinstance(tools, list) else []:
        fn = tool.get("function", tool) if isinstance(tool, Mapping) else None
        props = fn.get("parameters", {}).get("properties", {}) if isinstance(fn, Mapping) else None
        if isinstance(fn, Mapping) and isinstance(props, Mapping):
            out[str(fn.get("name"))] = {k: str(v["type"]) for k, v in props.items()
                                        if isinstance(v, Mapping) and isinstance(v.get("type"), str)}  # fmt: skip
    return out


def call_credit(gold: Call, pred: Call, types: Mapping[str, str], partial: bool) -> float:
    if pred.problem or pred.name != gold.name:
        return 0.0
    names = set(gold.arguments) | set(pred.arguments)
    good = sum(1 for n in names if n in gold.arguments and n in pred.arguments
               and same_value(gold.arguments[n], pred.arguments[n], types.get(n)))  # fmt: skip
    if not names:
        return 1.0
    return good / len(names) if partial else float(good == len(names))


def _best_pairing(credit: list[list[float]], ordered: bool) -> float:
    """The largest summed credit over one-to-one pairings of gold (rows) and predicted (columns) calls."""
    if not credit or not credit[0]:
        return 0.0
    if ordered:
        return sum(row[i] for i, row in enumerate(credit) if i < len(row))
    rows, cols = len(credit), len(credit[0])
    if min(rows, cols) <= 6 and max(rows, cols) <= 8:
        if rows <= cols:
            return max(sum(credit[r][c] for r, c in enumerate(p)) for p in itertools.permutations(range(cols), rows))
        return max(sum(credit[r][c] for c, r in enumerate(p)) for p in itertools.permutations(range(rows), cols))
    pairs = sorted(((credit[r][c], r, c) for r in range(rows) for c in range(cols)), reverse=True)
    used_r: set[int] = set()
    used_c: set[int] = set()
    total = 0.0
    for value, r, c in pairs:  # many calls: greedy, exact when credit is all-or-nothing
        if r not in used_r and c not in used_c:
            used_r.add(r)
            used_c.add(c)
            total += value
    return total


@dataclass(frozen=True)
class ToolCallParams:
    gold_column: str = param("tool_calls", "column holding the gold calls; absent: the reference is used")
    tools_column: str = param("tools", "column holding the OpenAI tools list, used for argument types")
    ordered: bool = param(False, "the calls must come in the gold's order")
    partial_args: bool = param(False, "credit the share of matching arguments of a call with the right name")
    formats: tuple[str, ...] = param(FORMATS, "where calls are read: openai (tool_calls), hermes, mistral")


def _gold_value(columns: Mapping[str, Any], reference: Any, params: ToolCallParams) -> Any:
    value = columns.get(params.gold_column)
    return value if value is not None else reference


def score_tool_call(sample: Sample, params: ToolCallParams) -> Score:
    raw = _gold_value(sample.columns, sample.reference, params)
    if raw is None or raw == "":
        return Score.not_applicable(f"no gold calls (column {params.gold_column!r} or the reference)")
    try:
        gold = gold_calls(raw)
    except ValueError as exc:
        return Score.not_applicable(f"the gold calls do not parse: {exc}")
    pred = predicted_calls(sample.completion, sample.text, params.formats)
    if not gold and not pred:
        return Score.ok(1.0, "no call expected and none made")
    types = _declared_types(sample.columns.get(params.tools_column))
    credit = [[call_credit(g, p, types.get(g.name, {}), params.partial_args) for p in pred] for g in gold]
    total = _best_pairing(credit, params.ordered) if gold and pred else 0.0
    value = total / max(len(gold), len(pred))
    malformed = [p.problem for p in pred if p.problem]
    reason = f"{total:g} of {len(gold)} gold call(s) matched; {len(pred)} call(s) made"
    if malformed:
        reason += f", {len(malformed)} malformed ({malformed[0]})"
    return Score.ok(value, reason, called=[p.name for p in pred if not p.problem], malformed=malformed)


def _gold(row: Mapping[str, Any], reference: Any, params: ToolCallParams) -> Completion | None:
    try:
        calls = gold_calls(_gold_value(row, reference, params))
    except (ValueError, TypeError):
        return None
    encoded = [{"type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}} for c in calls]
    if "openai" in params.formats:
        return [{"role": "assistant", "content": "", "tool_calls": encoded}]
    body = "".join(f"<tool_call>{json.dumps({'name': c.name, 'arguments': c.arguments})}</tool_call>" for c in calls)
    return body


def _wrong(row: Mapping[str, Any], reference: Any, params: ToolCallParams) -> Completion:
    try:
        expected = gold_calls(_gold_value(row, reference, params))
    except (ValueError, TypeError):
        expected = [Call("?", {})]
    if expected:
        return "I will answer without calling any tool."
    return '<tool_call>{"name": "__no_such_tool__", "arguments": {}}</tool_call>'


def _validate(params: ToolCallParams) -> None:
    unknown = [f for f in params.formats if f not in FORMATS]
    if unknown or not params.formats:
        raise ConfigError(f"tool_call: formats {list(params.formats)} must be a non-empty subset of {list(FORMATS)}")


@hookimpl
def register_rewards(register: Callable[[RewardSpec], None]) -> None:
    register(
        RewardSpec(
            name="tool_call",
            description="Function calls (OpenAI tool_calls, Hermes <tool_call>, Mistral [TOOL_CALLS]) against "
            "the gold calls: name and normalised arguments; extra, missing and malformed calls cost alike.",
            params=ToolCallParams, range=(0.0, 1.0), fn=score_tool_call, timeout_s=10.0,
            family="tool_call", gold_completion=_gold, wrong_completion=_wrong, validate=_validate, cost="cheap",
        )
    )  # fmt: skip
