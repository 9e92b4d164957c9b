"""The plugin hooks. A plugin is a module or object with functions marked ``@rewardkit.hookimpl``.

Built-in rewards use these same hooks (see ``rewardkit/rewards/``), which proves them sufficient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

from .types import RewardSpec

hookspec = pluggy.HookspecMarker("rewardkit")
hookimpl = pluggy.HookimplMarker("rewardkit")


@hookspec
def register_rewards(register: Callable[[RewardSpec], None]) -> None:
    """Call ``register(RewardSpec(...))`` once for each reward this plugin provides."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add commands to the ``rewardkit`` click group, e.g. ``@cli.command() def audit(): ...``."""
