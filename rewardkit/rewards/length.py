"""Built-in length rewards (being written; registers its rewards through the public plugin hook)."""

from __future__ import annotations

from collections.abc import Callable

from ..hookspecs import hookimpl
from ..types import RewardSpec


@hookimpl
def register_rewards(register: Callable[[RewardSpec], None]) -> None:
    """Register this module's rewards (none yet)."""
