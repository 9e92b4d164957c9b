"""json_schema and tool_call: reading the output, validating and matching it, hedges, properties."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardkit import Sample, registry
from rewardkit.errors import ConfigError
from rewardkit.params import build_params
from rewardkit.rewards.json_schema import JsonError, extract_json, score_json_schema, values_match
from rewardkit.rewards.tool_call import predicted_calls, score_tool_call
from rewardkit.testing import check_reward_properties, samples
from rewardkit.types import Status

PERSON = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
          "required": ["name", "age"], "additionalProperties": False}  # fmt: skip


def _js(**values: Any) -> Any:
    return build_params("json_schema", registry.get("json_schema").params, values)


def _json_value(text: str, reference: Any = None, schema: Any = PERSON, **params: Any) -> float | None:
    columns = {"schema": schema} if schema is not None else {}
    return score_json_schema(Sample(text, reference=reference, columns=columns), _js(**params)).value


# --- json_schema ----------------------------------------------------------------------------------------

EXTRACT = [
    ('{"a": 1}', {"a": 1}),  # bare JSON
    ('Here you go:\n```json\n{"a": 1}\n```\nDone.', {"a": 1}),  # a fenced block, prose around it
    ('```\n[1, 2]\n```', [1, 2]),  # a bare fence
    ('<think>maybe {"a": 0}</think><answer>{"a": 2}</answer>', {"a": 2}),  # reasoning skipped, answer tag read
    ("<answer>\n```json\n{\"a\": 3}\n```\n</answer>", {"a": 3}),  # a fence inside the answer tag
]


@pytest.mark.parametrize(("text", "expected"), EXTRACT)
def test_extracts_the_json(text: str, expected: Any) -> None:
    assert extract_json(text) == expected


REJECT = [
    ('{"a": 1, "a": 2}', "duplicate key"),  # parsers disagree on which wins
    ('{"a": NaN}', "NaN is not JSON"),
    ('```json\n{"a": 1}\n```\n```json\n{"a": 2}\n```', "2 fenced blocks"),  # one per candidate: a hedge
    ('<answer>{"a": 1}</answer><answer>{"a": 2}</answer>', "2 answer blocks"),
    ('Sure! {"a": 1}', "not JSON"),  # prose without a fence: not JSON (unless allow_prose)
    ("<think>{\"a\": 1}", "never closes"),  # all of it is reasoning
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("", "empty"),
]


@pytest.mark.parametrize(("text", "message"), REJECT)
def test_rejects_hedges_and_non_json(text: str, message: str) -> None:
    with pytest.raises(JsonError, match=message):
        extract_json(text)


def test_allow_prose_takes_the_first_json_value() -> None:
    assert extract_json('Sure! {"a": 1} is it', allow_prose=True) == {"a": 1}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"name": "Ada", "age": 36}', 1.0),  # valid
        ('{"name": "Ada", "age": "36"}', 0.0),  # wrong type
        ('{"name": "Ada"}', 0.0),  # required field missing
        ('{"name": "Ada", "age": 36, "admin": true}', 0.0),  # additional property
        ('{"name": "Ada", "age": -1}', 0.0),  # below the minimum
        ("not json", 0.0),
    ],
)
def test_schema_validation(text: str, value: float) -> None:
    assert _json_value(text) == value


def test_gold_fields_give_partial_credit_and_modes() -> None:
    gold = {"name": "Ada", "age": 36}
    assert _json_value('{"name": "Ada", "age": 36}', gold) == 1.0
    assert _json_value('{"name": "Bob", "age": 36}', gold) == 0.5  # one of two fields
    assert _json_value('{"name": "Bob", "age": 36}', gold, partial=False) == 0.0
    assert _json_value('{"name": "Bob", "age": 36}', gold, valid_credit=0.2) == pytest.approx(0.6)
    assert _json_value('{"name": "Bob", "age": 36}', json.dumps(gold), fields=["age"]) == 1.0  # gold as a string
    price = {"type": "object"}
    assert _json_value('{"p": 3.3333}', {"p": 10 / 3}, price) == 0.0
    assert _json_value('{"p": 3.3333}', {"p": 10 / 3}, price, match="numeric", tolerance=1e-3) == 1.0
    assert _json_value('{"t": ["b", "a"]}', {"t": ["a", "b"]}, price) == 0.0
    assert _json_value('{"t": ["b", "a"]}', {"t": ["a", "b"]}, price, match_fields={"t": "set"}) == 1.0


@pytest.mark.parametrize(
    ("gold", "pred", "mode", "same"),
    [
        (1, 1.0, "exact", True),  # JSON numbers: 1 == 1.0
        (True, 1, "exact", False),  # but a boolean is not a number
        ([1, [2, 3]], [1, [3, 2]], "set", True),  # unordered at every depth
        ([1, 1, 2], [1, 2, 2], "set", False),  # multisets, not sets
        ({"a": 0.1 + 0.2}, {"a": 0.3}, "numeric", True),
        ({"a": 1}, {"a": 1, "b": 2}, "exact", False),  # an extra key inside a nested value
    ],
)
def test_values_match(gold: Any, pred: Any, mode: Any, same: bool) -> None:
    assert values_match(gold, pred, mode) is same


def test_schema_from_params_rows_without_anything_and_broken_row_schemas() -> None:
    params = _js(schema=PERSON)
    assert score_json_schema(Sample('{"name": "A", "age": 1}'), params).value == 1.0
    assert score_json_schema(Sample("{}"), _js()).status is Status.NOT_APPLICABLE  # no schema, no gold
    broken = Sample("{}", columns={"schema": {"type": 12}})
    assert score_json_schema(broken, _js()).status is Status.NOT_APPLICABLE


def test_json_schema_spec_builders_and_params_check() -> None:
    spec = registry.get("json_schema")
    assert spec.family == "json_schema" and spec.cost == "cheap"
    assert spec.gold_completion is not None and spec.wrong_completion is not None and spec.validate is not None
    row, gold = {"schema": PERSON}, {"name": "Ada", "age": 36}
    good = spec.gold_completion(row, gold, _js())
    assert good is not None
    assert score_json_schema(Sample(good, reference=gold, columns=row), _js()).value == 1.0
    wrong = spec.wrong_completion(row, gold, _js())
    assert score_json_schema(Sample(wrong, reference=gold, columns=row), _js()).value == 0.0
    with pytest.raises(ConfigError, match="not a valid JSON Schema"):
        spec.validate(_js(schema={"type": "no-such-type"}))
    with pytest.raises(ConfigError, match="unknown modes"):
        spec.validate(_js(match_fields={"a": "fuzzy"}))


json_values = st.recursive(st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=4),
                           lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c, max_size=3),
                           max_leaves=8)  # fmt: skip
json_texts = st.one_of(json_values.map(json.dumps), json_values.map(lambda v: f"```json\n{json.dumps(v)}\n```"),
                       st.text(max_size=30))  # fmt: skip


json_samples = samples(completion=json_texts, reference=st.one_of(st.none(), json_values),
                       columns=st.just({"schema": PERSON}))  # fmt: skip
json_params = st.fixed_dictionaries({"match": st.sampled_from(["exact", "numeric", "set"]), "partial": st.booleans()})


@settings(max_examples=50, deadline=None)
@given(batch=st.lists(json_samples, min_size=1, max_size=6), values=json_params)
def test_json_schema_properties(batch: list[Sample], values: dict[str, Any]) -> None:
    check_reward_properties(registry.get("json_schema"), values, batch)


@settings(max_examples=50, deadline=None)
@given(value=json_values, prose=st.text(max_size=20).filter(lambda t: "`" not in t and "<" not in t))
def test_fencing_and_prose_around_a_fence_never_change_the_score(value: Any, prose: str) -> None:
    schema = {"type": ["object", "array", "string", "integer", "boolean", "null"]}
    gold = json.dumps(value)  # a string reference is read as JSON text
    bare = _json_value(json.dumps(value), gold, schema)
    assert _json_value(f"{prose}\n```json\n{json.dumps(value)}\n```\n{prose}", gold, schema) == bare == 1.0


# --- tool_call --------------------------------------------------------------------------------------------

WEATHER = {"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}
TIME = {"name": "get_time", "arguments": {"tz": "CET"}}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}}}]  # fmt: skip


def _tc(**values: Any) -> Any:
    return build_params("tool_call", registry.get("tool_call").params, values)


def _openai(*calls: dict[str, Any], as_string: bool = True) -> list[dict[str, Any]]:
    encoded = [{"type": "function", "function": {"name": c["name"],
                "arguments": json.dumps(c["arguments"]) if as_string else c["arguments"]}} for c in calls]  # fmt: skip
    return [{"role": "assistant", "content": None, "tool_calls": encoded}]


def _hermes(*calls: dict[str, Any]) -> str:
    return "".join(f"<tool_call>\n{json.dumps(c)}\n</tool_call>\n" for c in calls)


def _tool_value(completion: Any, gold: Any, columns: dict[str, Any] | None = None, **params: Any) -> float | None:
    sample = Sample(completion, columns={"tool_calls": gold, **(columns or {})})
    return score_tool_call(sample, _tc(**params)).value


TOOL_CASES = [
    (_openai(WEATHER), [WEATHER], 1.0),  # OpenAI shape, arguments as a JSON string
    (_openai(WEATHER, as_string=False), [WEATHER], 1.0),  # TRL shape, arguments as an object
    (_hermes(WEATHER), [WEATHER], 1.0),  # Hermes text
    ("<think>call it</think>" + _hermes(WEATHER), [WEATHER], 1.0),
    ('[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}]', [WEATHER], 1.0),  # Mistral
    (_hermes(TIME, WEATHER), [WEATHER, TIME], 1.0),  # order-insensitive by default
    (_hermes(WEATHER, WEATHER), [WEATHER], 0.5),  # a duplicate call is an extra call
    (_hermes(WEATHER, {"name": "rm_rf", "arguments": {}}), [WEATHER], 0.5),  # an extra call
    (_hermes(WEATHER), [WEATHER, TIME], 0.5),  # a missing call
    (_hermes({"name": "get_weather", "arguments": {"city": "Paris", "days": "3"}}), [WEATHER], 1.0),  # "3" vs 3
    (_hermes({"name": "get_weather", "arguments": {"city": "Paris", "days": 4}}), [WEATHER], 0.0),
    (_hermes({"name": "get_weather", "arguments": {"city": "Paris"}}), [WEATHER], 0.0),  # a missing argument
    (_hermes({"name": "get_weather", "arguments": {"city": "Paris", "days": 3, "x": 1}}), [WEATHER], 0.0),  # extra
    (_hermes({"name": "get_wether", "arguments": WEATHER["arguments"]}), [WEATHER], 0.0),  # wrong name
    ("<tool_call>{not json}</tool_call>", [WEATHER], 0.0),  # malformed
    (_hermes(WEATHER) + "<tool_call>{broken", [WEATHER], 0.5),  # a malformed extra (unclosed) call costs a share
    ("It is sunny in Paris.", [WEATHER], 0.0),  # no call
    ("It is sunny in Paris.", [], 1.0),  # no call expected, none made
    (_hermes(WEATHER), [], 0.0),  # no call expected
    ("<think>" + _hermes(WEATHER) + "</think>It is sunny.", [WEATHER], 0.0),  # a call inside the reasoning
]


@pytest.mark.parametrize(("completion", "gold", "value"), TOOL_CASES)
def test_tool_calls(completion: Any, gold: Any, value: float) -> None:
    assert _tool_value(completion, gold) == value


def test_order_partial_arguments_and_declared_types() -> None:
    assert _tool_value(_hermes(TIME, WEATHER), [WEATHER, TIME], ordered=True) == 0.0
    half = {"name": "get_weather", "arguments": {"city": "Lyon", "days": 3}}
    assert _tool_value(_hermes(half), [WEATHER], partial_args=True) == 0.5
    as_text = {"name": "get_weather", "arguments": {"city": "Paris", "days": "3"}}
    assert _tool_value(_hermes(WEATHER), [as_text]) == 1.0  # a number where the gold has a string: its text
    float_text = {"name": "get_weather", "arguments": {"city": "Paris", "days": "3.0"}}
    assert _tool_value(_hermes(float_text), [as_text]) == 0.0  # two strings: compared as text...
    assert _tool_value(_hermes(float_text), [as_text], {"tools": TOOLS}) == 1.0  # ...unless the tool says integer
    assert _tool_value(_hermes(WEATHER), json.dumps([WEATHER])) == 1.0  # gold as a JSON string


def test_structured_calls_win_over_text() -> None:
    message = {"role": "assistant", "content": _hermes(TIME), "tool_calls": _openai(WEATHER)[0]["tool_calls"]}
    assert [c.name for c in predicted_calls([message], _hermes(TIME), ("openai", "hermes"))] == ["get_weather"]


def test_gold_from_the_reference_and_malformed_golds() -> None:
    sample = Sample(_hermes(WEATHER), reference=[WEATHER])
    assert score_tool_call(sample, _tc()).value == 1.0
    assert score_tool_call(Sample("x", reference=[{"arguments": {}}]), _tc()).status is Status.NOT_APPLICABLE
    assert score_tool_call(Sample("x"), _tc()).status is Status.NOT_APPLICABLE


def test_tool_call_spec_builders_and_params_check() -> None:
    spec = registry.get("tool_call")
    assert spec.family == "tool_call" and spec.cost == "cheap"
    assert spec.gold_completion is not None and spec.wrong_completion is not None and spec.validate is not None
    for gold in ([WEATHER, TIME], []):
        row = {"tool_calls": gold}
        good, bad = spec.gold_completion(row, None, _tc()), spec.wrong_completion(row, None, _tc())
        assert score_tool_call(Sample(good, columns=row), _tc()).value == 1.0  # type: ignore[arg-type]
        assert score_tool_call(Sample(bad, columns=row), _tc()).value == 0.0
    hermes_only = spec.gold_completion({"tool_calls": [WEATHER]}, None, _tc(formats=["hermes"]))
    assert isinstance(hermes_only, str) and "<tool_call>" in hermes_only
    with pytest.raises(ConfigError, match="subset"):
        spec.validate(_tc(formats=["xml"]))


calls = st.lists(st.sampled_from([WEATHER, TIME, {"name": "get_time", "arguments": {"tz": 1}}]), max_size=3)
tool_completions = st.one_of(calls.map(lambda c: _hermes(*c)), calls.map(lambda c: _openai(*c)), st.text(max_size=20))


tool_samples = samples(completion=tool_completions, columns=calls.map(lambda c: {"tool_calls": c}))
tool_params = st.fixed_dictionaries({"ordered": st.booleans(), "partial_args": st.booleans()})


@settings(max_examples=50, deadline=None)
@given(batch=st.lists(tool_samples, min_size=1, max_size=6), values=tool_params)
def test_tool_call_properties(batch: list[Sample], values: dict[str, Any]) -> None:
    check_reward_properties(registry.get("tool_call"), values, batch)


@settings(max_examples=50, deadline=None)
@given(gold=calls, made=calls, extra=st.sampled_from([WEATHER, TIME]))
def test_adding_a_call_never_helps_when_all_gold_calls_are_made(gold: Any, made: Any, extra: Any) -> None:
    # Making the gold calls exactly earns 1; any call added on top costs.
    assert _tool_value(_hermes(*gold), gold) == 1.0
    assert _tool_value(_hermes(*gold, extra), gold) < 1.0  # type: ignore[operator]
    # Order never matters unless asked for.
    assert _tool_value(_hermes(*reversed(made)), gold) == _tool_value(_hermes(*made), gold)
