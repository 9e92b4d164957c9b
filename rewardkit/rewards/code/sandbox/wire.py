"""Plain data across the trust boundary: the only thing that leaves a candidate's process.

`encode` accepts exact built-in types only (``type(x) is int``, never ``isinstance``): None, bool, int,
float, complex, str, bytes, list, tuple, dict, set, frozenset, nested at most `MAX_DEPTH` deep and
`MAX_ITEMS` items in all. Anything else (a subclass, a proxy, an object with ``__eq__``, a recursive
list) raises `NotData`, or, when the caller passes ``opaque``, travels as a numbered handle that means
nothing but "that object over there".

`decode` is the trusted side's half: it reads JSON (at most `MAX_BYTES`) whose only objects are
one-key tags, and builds fresh built-in values from them. It cannot produce anything else: whatever the
candidate wrote, the trusted side holds ints, strs, lists... that compare the way Python's own do.

Standard library only: this module is also shipped, as source, to remote sandboxes.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Callable
from typing import Any

MAX_DEPTH = 64
MAX_ITEMS = 2_000_000
MAX_BYTES = 32 << 20

_SCALARS = (type(None), bool, int, float, str)
_TAGS = ("t", "d", "s", "f", "b", "c", "h")


class NotData(ValueError):
    """The value is not plain data (or is too big, too deep, or malformed)."""


def encode(value: Any, opaque: Callable[[Any], int] | None = None) -> bytes:
    """``value`` as tagged JSON bytes; ``opaque(obj)`` numbers a non-data object, or it is refused."""
    budget = [MAX_ITEMS]
    try:
        text = json.dumps(_enc(value, 0, budget, opaque), separators=(",", ":"))
    except (ValueError, RecursionError, OverflowError) as exc:  # ints past the 4,300-digit limit
        raise NotData(f"cannot encode: {exc}") from None
    if len(text) > MAX_BYTES:
        raise NotData(f"{len(text)} bytes of data, more than {MAX_BYTES}")
    return text.encode("ascii")


def _enc(v: Any, depth: int, budget: list[int], opaque: Callable[[Any], int] | None) -> Any:
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise NotData("too many items or nested too deep")
    kind = type(v)
    if kind in _SCALARS:
        return v
    d = depth + 1
    if kind is list:
        return [_enc(x, d, budget, opaque) for x in v]
    if kind is tuple:
        return {"t": [_enc(x, d, budget, opaque) for x in v]}
    if kind is dict:
        return {"d": [[_enc(k, d, budget, opaque), _enc(x, d, budget, opaque)] for k, x in v.items()]}
    if kind is set or kind is frozenset:
        return {"s" if kind is set else "f": [_enc(x, d, budget, opaque) for x in v]}
    if kind is bytes:
        return {"b": v.hex()}
    if kind is complex:
        return {"c": [v.real, v.imag]}
    if opaque is not None:
        return {"h": opaque(v)}
    raise NotData(f"a {kind.__name__} is not plain data")


def decode(data: bytes, handle: Callable[[int], Any] | None = None) -> Any:
    """Rebuild the value from `encode`'s bytes; raise `NotData` for anything malformed or oversized."""
    if type(data) is not bytes or len(data) > MAX_BYTES:
        raise NotData("not bytes, or too many")
    try:
        return json.loads(data.decode("ascii"), object_pairs_hook=lambda pairs: _tag(pairs, handle))
    except NotData:
        raise
    except (ValueError, TypeError, RecursionError, MemoryError) as exc:
        raise NotData(f"malformed data: {type(exc).__name__}: {str(exc)[:200]}") from None


def _tag(pairs: list[tuple[str, Any]], handle: Callable[[int], Any] | None) -> Any:
    if len(pairs) != 1 or pairs[0][0] not in _TAGS:
        raise NotData("an object that is not a known tag")
    tag, body = pairs[0]
    if tag == "b" and type(body) is str:
        return bytes.fromhex(body)
    if tag == "h" and type(body) is int and handle is not None:
        return handle(body)
    if tag == "c" and type(body) is list and len(body) == 2 and all(type(x) is float for x in body):
        return complex(body[0], body[1])
    if type(body) is not list:
        raise NotData(f"tag {tag!r} with a malformed body")
    if tag == "t":
        return tuple(body)
    if tag == "s":
        return set(body)
    if tag == "f":
        return frozenset(body)
    if tag == "d" and all(type(p) is list and len(p) == 2 for p in body):
        return {k: x for k, x in body}
    raise NotData(f"tag {tag!r} with a malformed body")


def same(a: Any, b: Any) -> bool:
    """Equal with the exact same types all the way down (what a round trip must preserve)."""
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return (a != a and b != b) or (a == b and str(a) == str(b))  # NaN, and -0.0 vs 0.0
    if type(a) is complex:
        return same(a.real, b.real) and same(a.imag, b.imag)
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is dict:
        return same(set(a), set(b)) and _matched(list(a.items()), list(b.items()))
    if type(a) in (set, frozenset):
        return _matched(list(a), list(b))
    return bool(a == b)


def _matched(xs: list[Any], ys: list[Any]) -> bool:
    """Each x pairs off with a distinct `same` y (sets and dicts: NaN never equals itself)."""
    rest = list(ys)
    for x in xs:
        hit = next((i for i, y in enumerate(rest) if same(x, y)), None)
        if hit is None:
            return False
        rest.pop(hit)
    return not rest


def send(fd: int, payload: bytes) -> None:
    """One length-prefixed frame."""
    data = struct.pack(">I", len(payload)) + payload
    while data:
        data = data[os.write(fd, data) :]


def recv(fd: int, limit: int = MAX_BYTES + 64) -> bytes | None:
    """One frame, or None at end of stream; a frame over ``limit`` bytes raises `NotData`."""
    head = _exactly(fd, 4)
    if head is None:
        return None
    size = struct.unpack(">I", head)[0]
    if size > limit:
        raise NotData(f"a frame of {size} bytes, more than {limit}")
    return _exactly(fd, size)


def _exactly(fd: int, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)
