"""Reward names to `RewardSpec`s, gathered from every plugin's ``register_rewards`` hook."""

from __future__ import annotations

import threading
from dataclasses import replace

from .errors import PluginError, UnknownRewardError, did_you_mean
from .types import RewardSpec

_lock = threading.Lock()
_rewards: dict[str, RewardSpec] | None = None


def _collect() -> dict[str, RewardSpec]:
    from .plugins import get_plugin_manager

    pm = get_plugin_manager()
    found: dict[str, RewardSpec] = {}
    # Call each implementation on its own so every registration is tied to the plugin that made it.
    for impl in pm.hook.register_rewards.get_hookimpls():

        def register(spec: RewardSpec, _plugin: str = impl.plugin_name) -> None:
            _add(found, spec, _plugin)

        impl.function(register=register)
    return found


def _add(found: dict[str, RewardSpec], spec: RewardSpec, plugin: str) -> None:
    if not isinstance(spec, RewardSpec):
        raise PluginError(f"plugin {plugin!r} registered {spec!r}; register() takes a rewardkit.RewardSpec")
    if not spec.name or not spec.name.replace("_", "").replace("-", "").isalnum():
        raise PluginError(f"plugin {plugin!r}: reward name {spec.name!r} must be letters, digits, '_' or '-'")
    if spec.name in found:
        raise PluginError(
            f"reward {spec.name!r} is registered by both plugin {found[spec.name].plugin!r} and plugin "
            f"{plugin!r}. Uninstall one, or set REWARDKIT_LOAD_PLUGINS to the plugins you want."
        )
    found[spec.name] = replace(spec, plugin=plugin)


def rewards() -> dict[str, RewardSpec]:
    """All installed rewards by name (built once per process; `rewardkit.plugins.reset` rebuilds)."""
    global _rewards
    with _lock:
        if _rewards is None:
            _rewards = _collect()
        return dict(_rewards)


def get(name: str) -> RewardSpec:
    """The reward called ``name``; raise `UnknownRewardError` with a "did you mean" hint otherwise."""
    available = rewards()
    if name not in available:
        raise UnknownRewardError(
            f"unknown reward {name!r}.{did_you_mean(name, available)} "
            "Run 'rewardkit list' to see installed rewards."
        )
    return available[name]


def reset() -> None:
    global _rewards
    with _lock:
        _rewards = None
