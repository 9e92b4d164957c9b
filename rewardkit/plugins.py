"""The plugin manager: built-in reward modules, then installed plugins (entry-point group ``rewardkit``).

Set ``REWARDKIT_LOAD_PLUGINS`` to a comma-separated list of entry-point names to load only those
(an empty string loads none: built-ins only), e.g. to rule out a broken plugin.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import threading

import pluggy

from . import hookspecs
from .errors import PluginError

ENTRY_POINT_GROUP = "rewardkit"
LOAD_ENV = "REWARDKIT_LOAD_PLUGINS"

#: Built-in reward families, each a plugin module like any other.
BUILTIN_PLUGINS = (
    "rewardkit.rewards.format",
    "rewardkit.rewards.length",
    "rewardkit.rewards.math",
    "rewardkit.rewards.code",
    "rewardkit.rewards.judge",
    "rewardkit.rewards.ifeval",
    "rewardkit.rewards.json_schema",
    "rewardkit.rewards.tool_call",
    "rewardkit.rewards.qa",
    "rewardkit.rewards.truncation",
    "rewardkit.audit.commands",
    "rewardkit.server.commands",
)

_lock = threading.Lock()
_pm: pluggy.PluginManager | None = None
_dists: dict[str, str] = {}  # entry-point plugin name -> "package version"


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, built on first use (thread-safe)."""
    global _pm
    with _lock:
        if _pm is None:
            _pm = _build()
        return _pm


def reset() -> None:
    """Forget the plugin manager and the registry built from it (for tests and after installs)."""
    global _pm
    with _lock:
        _pm = None
    from . import registry

    registry.reset()


def _build() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("rewardkit")
    pm.add_hookspecs(hookspecs)
    for module_name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
    wanted = os.environ.get(LOAD_ENV)
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if wanted is not None and ep.name not in {w.strip() for w in wanted.split(",")}:
            continue
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        try:
            plugin = ep.load()
        except Exception as exc:
            dist = ep.dist.name if ep.dist else "?"
            raise PluginError(
                f"plugin {ep.name!r} (package {dist!r}) failed to load: {type(exc).__name__}: {exc}. "
                f"Fix or uninstall it, or set {LOAD_ENV} to the plugins you want."
            ) from exc
        pm.register(plugin, name=ep.name)
        if ep.dist is not None:
            _dists[ep.name] = f"{ep.dist.name} {ep.dist.version}"
    return pm


def plugin_distribution(plugin_name: str) -> str:
    """``package version`` of the distribution that installed a plugin, or ``rewardkit`` for built-ins."""
    get_plugin_manager()
    if plugin_name in _dists:
        return _dists[plugin_name]
    return "rewardkit (built-in)" if plugin_name in BUILTIN_PLUGINS else "registered at run time"
