"""``json_schema``: structured outputs. The answer parses as JSON, validates against a JSON Schema, and
optionally matches gold fields.

Where the JSON is read from, in order: the text after the first ``</think>``; inside it, the one
``<answer>…</answer>`` block if there is one; inside that, the one fenced block (```` ```json ```` or a bare
```` ``` ````) if there is one, with prose allowed around it; else the whole stripped text, which must then be
JSON and nothing else (``allow_prose: true`` takes the first JSON object or array in the text instead).
Several answer blocks or several fenced blocks are a hedge and score 0, as do duplicate keys in an object
(``{"a": 1, "a": 2}`` is read differently by different parsers), ``NaN``/``Infinity`` (not JSON) and
nesting too deep to parse.

The schema comes from the row (column ``schema``, an object or a JSON string) or else the ``schema``
parameter, and is checked with the `jsonschema` library (the draft named by ``$schema``, else 2020-12; no
remote ``$ref`` is fetched). Gold fields come from the reference (an object or a JSON string).

Value (partial credit):

- not JSON, or invalid against the schema: 0;
- valid, no gold: 1;
- valid, with a gold object: ``valid_credit + (1 - valid_credit) * matched``, where ``matched`` is the
  share of the gold's top-level fields (or the ``fields`` listed) whose values match, or with
  ``partial: false`` 1 when all match else 0. A gold that is not an object matches as one field.

Values match by ``match``: ``exact`` (JSON equality: ``1 == 1.0``, but ``true != 1``), ``numeric`` (numbers
within ``tolerance``, absolute or relative, at any depth), ``set`` (arrays as unordered collections, at
any depth). ``match_fields`` overrides the mode per field.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ConfigError
from ..hookspecs import hookimpl
from ..params import param
from ..types import Completion, RewardSpec, Sample, Score

__all__ = ["JsonError", "JsonSchemaParams", "extract_json", "loads_strict", "values_match"]

MatchMode = Literal["exact", "numeric", "set"]
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n?(.*?)```", re.S)
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.S | re.I)


class JsonError(ValueError):
    """The text holds no (single, well-formed) JSON value; the message is the reason."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JsonError(f"duplicate key {key!r} in an object")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise JsonError(f"{name} is not JSON")


def loads_strict(text: str) -> Any:
    """`json.loads` without its extensions (NaN, Infinity) and without silently dropping duplicate keys."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except RecursionError:
        raise JsonError("nested too deeply to parse") from None
    except json.JSONDecodeError as exc:
        raise JsonError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def _first_value(text: str) -> Any:
    decoder = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    for m in re.finditer(r"[\[{]", text):
        try:
            return decoder.raw_decode(text, m.start())[0]
        except RecursionError:
            raise JsonError("nested too deeply to parse") from None
        except json.JSONDecodeError:
            continue
    raise JsonError("no JSON object or array in the text")


def answer_region(text: str) -> str:
    """The text after the first ``</think>``, narrowed to the one ``<answer>`` block when there is one."""
    end = text.find("</think>")
    if end >= 0:
        text = text[end + len("</think>") :]
    elif "<think>" in text:
        raise JsonError("the <think> block never closes: no answer")
    blocks = _ANSWER.findall(text)
    if len(blocks) > 1:
        raise JsonError(f"{len(blocks)} answer blocks: a hedge")
    return blocks[0] if blocks else text


def extract_json(text: str, allow_prose: bool = False) -> Any:
    """The JSON value of a completion, read as the module docstring says; `JsonError` otherwise."""
    region = answer_region(text)
    fences = _FENCE.findall(region)
    if len(fences) > 1:
        raise JsonError(f"{len(fences)} fenced blocks: a hedge")
    if fences:
        return loads_strict(fences[0][1].strip())
    body = region.strip()
    if not body:
        raise JsonError("the answer is empty")
    return _first_value(body) if allow_prose else loads_strict(body)


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def values_match(gold: Any, pred: Any, mode: MatchMode, tolerance: float = 1e-6) -> bool:
    """Whether ``pred`` matches ``gold`` under ``mode``, recursively (see the module docstring)."""
    if _number(gold) and _number(pred):
        if mode == "numeric":
            return math.isclose(gold, pred, rel_tol=tolerance, abs_tol=tolerance)
        return bool(gold == pred)
    if type(gold) is not type(pred) and not (_number(gold) and _number(pred)):
        return False
    if isinstance(gold, dict):
        return gold.keys() == pred.keys() and all(values_match(gold[k], pred[k], mode, tolerance) for k in gold)
    if isinstance(gold, list):
        if len(gold) != len(pred):
            return False
        if mode != "set":
            return all(values_match(g, p, mode, tolerance) for g, p in zip(gold, pred, strict=True))
        return _unordered(gold, list(pred), tolerance)
    return bool(gold == pred)


def _unordered(gold: list[Any], pred: list[Any], tolerance: float) -> bool:
    # Greedy pairing is exact here: "matches" is an equivalence for exact values, and near-enough for numbers.
    for g in gold:
        hit = next((i for i, p in enumerate(pred) if values_match(g, p, "set", tolerance)), None)
        if hit is None:
            return False
        pred.pop(hit)
    return True


@dataclass(frozen=True)
class JsonSchemaParams:
    schema: dict[str, Any] | None = param(None, "JSON Schema used when the row has none in schema_column")  # noqa: RUF009
    schema_column: str = param("schema", "column holding each row's JSON Schema (an object or a JSON string)")
    allow_prose: bool = param(False, "without a fenced block, take the first JSON object/array in the text")
    check_formats: bool = param(False, "also check 'format' keywords (date-time, email, ...)")
    fields: tuple[str, ...] | None = param(None, "gold fields to compare; null: every top-level field of the gold")
    match: Literal["exact", "numeric", "set"] = param("exact", "how gold and answer values are compared")
    match_fields: dict[str, str] | None = param(None, "per-field match mode, e.g. {price: numeric, tags: set}")  # noqa: RUF009
    tolerance: float = param(1e-6, "absolute and relative tolerance of numeric matches", ge=0)
    partial: bool = param(True, "credit the share of gold fields matched; false: all or nothing")
    valid_credit: float = param(0.0, "value of a schema-valid answer that matches no gold field", ge=0, le=1)

    def __hash__(self) -> int:  # the dict fields are not hashable; their JSON text is
        return hash(json.dumps(self.__dict__, sort_keys=True, default=str))


@functools.lru_cache(maxsize=256)
def _validator(schema_text: str, check_formats: bool) -> Any:
    from jsonschema import FormatChecker, validators

    schema = json.loads(schema_text)
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=FormatChecker() if check_formats else None)


def _schema_errors(instance: Any, schema: Any, check_formats: bool) -> list[str]:
    try:
        validator = _validator(json.dumps(schema, sort_keys=True), check_formats)
        return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in
                validator.iter_errors(instance)][:5]  # fmt: skip
    except RecursionError:
        return ["nested too deeply to validate"]


def _row_json(value: Any, what: str) -> Any:
    if isinstance(value, str):
        try:
            return loads_strict(value)
        except JsonError as exc:
            raise JsonError(f"the {what} is a string that is not JSON ({exc})") from None
    return value


def _field_score(gold: Any, pred: Any, params: JsonSchemaParams) -> tuple[float, list[str]]:
    modes = params.match_fields or {}
    if not isinstance(gold, dict):
        ok = values_match(gold, pred, params.match, params.tolerance)
        return float(ok), [] if ok else ["(root)"]
    names = list(params.fields) if params.fields is not None else list(gold)
    if not isinstance(pred, dict):
        return 0.0, names
    wrong = [n for n in names if n not in pred or n not in gold
             or not values_match(gold[n], pred[n], modes.get(n, params.match), params.tolerance)]  # type: ignore[arg-type]  # fmt: skip
    share = 1 - len(wrong) / len(names) if names else 1.0
    return (share if params.partial else float(not wrong)), wrong


def score_json_schema(sample: Sample, params: JsonSchemaParams) -> Score:
    try:
        schema = _row_json(sample.columns.get(params.schema_column), "row's schema")
        gold = _row_json(sample.reference, "gold") if sample.reference not in (None, "") else None
    except JsonError as exc:
        return Score.not_applicable(str(exc))
    schema = schema if schema is not None else params.schema
    if schema is None and gold is None:
        return Score.not_applicable(f"no schema (column {params.schema_column!r} or param schema) and no gold")
    try:
        answer = extract_json(sample.text, params.allow_prose)
    except JsonError as exc:
        return Score.ok(0.0, str(exc))
    if schema is not None:
        try:
            errors = _schema_errors(answer, schema, params.check_formats)
        except Exception as exc:  # jsonschema.SchemaError: the row's schema is broken, not the answer
            return Score.not_applicable(f"the row's schema is not a valid JSON Schema: {exc}".splitlines()[0])
        if errors:
            return Score.ok(0.0, "invalid against the schema: " + "; ".join(errors), errors=errors)
    if gold is None:
        return Score.ok(1.0, "valid JSON" + (" against the schema" if schema is not None else ""))
    share, wrong = _field_score(gold, answer, params)
    value = params.valid_credit + (1 - params.valid_credit) * share
    reason = "valid; " + ("every gold field matches" if not wrong else "fields not matching: " + ", ".join(wrong[:8]))
    return Score.ok(value, reason, mismatched=wrong)


def _gold(row: Mapping[str, Any], reference: Any, params: JsonSchemaParams) -> Completion | None:
    if reference in (None, ""):
        return None
    value = reference if not isinstance(reference, str) else reference.strip()
    body = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return f"```json\n{body}\n```"


def _wrong(row: Mapping[str, Any], reference: Any, params: JsonSchemaParams) -> Completion:
    return "I cannot answer in JSON."


def _validate(params: JsonSchemaParams) -> None:
    if params.schema is not None:
        from jsonschema import SchemaError

        try:
            _validator(json.dumps(params.schema, sort_keys=True), params.check_formats)
        except SchemaError as exc:
            raise ConfigError(
                f"json_schema: param schema is not a valid JSON Schema: {exc.message}; fix it "
                "(see https://json-schema.org) or give each row's schema in a column"
            ) from None
    bad = {k: v for k, v in (params.match_fields or {}).items() if v not in ("exact", "numeric", "set")}
    if bad:
        raise ConfigError(f"json_schema: match_fields {bad} name unknown modes; use exact, numeric or set")
    if params.fields is not None and not params.fields:
        raise ConfigError("json_schema: fields is an empty list; give field names, or null for all gold fields")


@hookimpl
def register_rewards(register: Callable[[RewardSpec], None]) -> None:
    register(
        RewardSpec(
            name="json_schema",
            description="Structured output: the answer is JSON (fenced block tolerated) valid against the "
            "row's or the params' JSON Schema, and optionally matches the gold's fields (partial credit).",
            params=JsonSchemaParams, range=(0.0, 1.0), fn=score_json_schema, timeout_s=10.0,
            family="json_schema", gold_completion=_gold, wrong_completion=_wrong, validate=_validate,
            cost="cheap",
        )
    )  # fmt: skip
