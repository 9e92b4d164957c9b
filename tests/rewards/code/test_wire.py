"""The trust boundary's codec: plain data round-trips exactly; nothing else crosses, whatever is sent."""

from __future__ import annotations

import collections
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewardkit.rewards.code.sandbox import judge, wire

_scalars = (
    st.none() | st.booleans() | st.integers(-(10**300), 10**300) | st.floats(allow_nan=True)
    | st.text(max_size=20) | st.binary(max_size=20) | st.complex_numbers(allow_nan=False)
)  # fmt: skip
_hashable = st.recursive(_scalars, lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3),
                         max_leaves=8)  # fmt: skip
plain = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner) | st.dictionaries(_hashable, inner, max_size=3)
    | st.sets(_hashable, max_size=3) | st.frozensets(_hashable, max_size=3),
    max_leaves=20,
)  # fmt: skip


def _types_are_builtin(value: Any) -> bool:
    kind = type(value)
    if kind in (list, tuple, set, frozenset):
        return all(_types_are_builtin(v) for v in value)
    if kind is dict:
        return all(_types_are_builtin(k) and _types_are_builtin(v) for k, v in value.items())
    return kind in (type(None), bool, int, float, complex, str, bytes)


@given(plain)
def test_plain_data_round_trips_exactly(value: Any) -> None:
    back = wire.decode(wire.encode(value))
    assert wire.same(back, value), (value, back)


@given(plain)
def test_what_decodes_is_built_in_data_only(value: Any) -> None:
    assert _types_are_builtin(wire.decode(wire.encode(value)))


class Int(int):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = int.__hash__


class AlwaysEqual:
    def __eq__(self, other: object) -> bool:
        return True


def _recursive() -> list[Any]:
    a: list[Any] = []
    a.append(a)
    return a


NOT_DATA = [
    Int(3), type("S", (str,), {})("x"), type("L", (list,), {})(), collections.OrderedDict(a=1), AlwaysEqual(),
    [1, AlwaysEqual()], {"k": (1, object())}, _recursive(), print, range(3), bytearray(b"x"), 10**5000,
    [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
]  # fmt: skip


@pytest.mark.parametrize("value", NOT_DATA, ids=lambda v: type(v).__name__)
def test_anything_else_is_refused(value: Any) -> None:
    with pytest.raises(wire.NotData):
        wire.encode(value)


def test_oversized_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wire, "MAX_ITEMS", 100)
    with pytest.raises(wire.NotData):
        wire.encode(list(range(200)))
    monkeypatch.setattr(wire, "MAX_BYTES", 50)
    with pytest.raises(wire.NotData):
        wire.decode(b"[" + b"1," * 40 + b"1]")


MALFORMED = [
    b'{"x": 1}', b'{"t": [1], "s": [2]}', b'{"t": 1}', b'{"d": [[1]]}', b'{"d": [[[1], 2]]}', b'{"s": [[1]]}',
    b'{"c": [1, 2]}', b'{"b": "zz"}', b'{"h": 3}', b"[" * 100000 + b"]" * 100000, b"\xff", b"", b"[1,",
    b'{"__class__": "os.system"}', b'"\\ud800', "[1]".encode("utf-16"),
]  # fmt: skip


@pytest.mark.parametrize("raw", MALFORMED, ids=range(len(MALFORMED)))
def test_the_strict_decoder_refuses_malformed_frames(raw: bytes) -> None:
    with pytest.raises(wire.NotData):
        wire.decode(raw)


@given(st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
def test_arbitrary_bytes_give_data_or_refusal(raw: bytes) -> None:
    try:
        value = wire.decode(raw)
    except wire.NotData:
        return
    assert _types_are_builtin(value)


@given(st.recursive(st.none() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                    max_leaves=10))  # fmt: skip
def test_json_objects_that_are_not_tags_are_refused_or_plain(value: Any) -> None:
    """Whatever JSON a candidate writes, the decoder yields built-in data or refuses it."""
    try:
        got = wire.decode(json.dumps(value).encode())
    except wire.NotData:
        return
    assert _types_are_builtin(got)


def test_handles_only_where_the_caller_allows_them() -> None:
    link: Any = object()
    handle = judge.Handle(4, link)
    assert wire.decode(b'{"h": 4}', handle=lambda n: judge.Handle(n, link))._n == 4
    frame = wire.encode(("call", handle, (), {}), opaque=judge.handle_number)
    assert frame == b'{"t":["call",{"h":4},{"t":[]},{"d":[]}]}'
    with pytest.raises(wire.NotData):
        wire.encode(AlwaysEqual(), opaque=judge.handle_number)  # the judge never sends its own objects
    with pytest.raises(TypeError):
        bool(handle)  # an opaque object has no truth value: `assert candidate(x)` cannot pass with one
    assert handle != handle.__class__(4, link) and handle == handle  # identity only
