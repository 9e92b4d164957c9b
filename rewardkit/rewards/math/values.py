"""What the fast parser (`latex`, `answers`) reads an answer into; compared by `structure`."""

from __future__ import annotations

from dataclasses import dataclass

from .algebra import Ratio


@dataclass(frozen=True, slots=True, eq=False)
class Scalar:
    """One number or expression; ``text`` keeps its source for the decimal rules of `numeric`."""

    value: Ratio | None  # None for an infinity
    text: str
    decimal: bool = False
    infinity: int = 0


@dataclass(frozen=True, slots=True, eq=False)
class Group:
    """``ordered``: tuple or interval (``left``/``right`` brackets); ``set``: ``\\{..\\}`` or a bare list;
    ``matrix``: ``items`` row by row with ``shape``."""

    kind: str
    items: tuple[Value, ...]
    left: str = ""
    right: str = ""
    shape: tuple[int, int] = (0, 0)


@dataclass(frozen=True, slots=True, eq=False)
class Cup:
    """``A \\cup B``: a union of intervals or sets, compared part by part."""

    parts: tuple[Value, ...]


@dataclass(frozen=True, slots=True, eq=False)
class Labeled:
    """``x = value``, ``(p,q) = (3,2)``, ``x \\in [a,b]``: the value counts when one side is labeled."""

    name: str
    value: Value
    op: str = "="  # or "in"


@dataclass(frozen=True, slots=True, eq=False)
class Relation:
    """``a < b``, ``a \\le x < b``, ``2x + 4y = 3``: ``sides`` joined by ``ops`` (``= < <= > >= !=``)."""

    sides: tuple[Ratio, ...]
    ops: tuple[str, ...]
    decimal: bool = False


Value = Scalar | Group | Cup | Labeled | Relation


@dataclass(frozen=True, slots=True)
class Inf:
    sign: int
