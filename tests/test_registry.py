"""The registry: built-ins through the public hook, plugins through entry points, clear conflicts."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from rewardkit import PluginError, UnknownRewardError, hookimpl, plugins, registry

from ._fixtures import CONTAINS_X

BUILTINS = {"think_format", "tag_count", "length", "cosine_length", "soft_overlong", "repetition", "math", "code",
            "judge"}


@pytest.fixture
def fresh_registry() -> Iterator[None]:
    plugins.reset()
    yield
    plugins.reset()


def test_builtins_are_registered_through_the_plugin_hook() -> None:
    found = registry.rewards()
    assert set(found) >= BUILTINS
    for name in BUILTINS:
        assert found[name].plugin in plugins.BUILTIN_PLUGINS


def test_every_reward_declares_typed_documented_params_and_a_range() -> None:
    from rewardkit.params import describe_params

    for spec in registry.rewards().values():
        defaults = spec.params()
        lo, hi = spec.output_range(defaults)
        assert lo <= hi, spec.name
        assert spec.description, spec.name
        for p in describe_params(spec.params):
            assert p.help, f"{spec.name}.{p.name} has no help text"


def test_unknown_names_get_a_did_you_mean_hint() -> None:
    with pytest.raises(UnknownRewardError, match=r"Did you mean 'cosine_length'\?"):
        registry.get("cosine_lenght")


def test_a_duplicate_name_is_an_error_naming_both_plugins(fresh_registry: None) -> None:
    class Clash:
        @hookimpl
        def register_rewards(self, register):  # type: ignore[no-untyped-def]
            register(dataclasses.replace(CONTAINS_X, name="think_format"))

    plugins.get_plugin_manager().register(Clash(), name="clashing-plugin")
    with pytest.raises(PluginError, match=r"'think_format' is registered by both plugin "
                                          r"'rewardkit.rewards.format' and plugin 'clashing-plugin'"):
        registry.rewards()


def test_a_plugin_registered_at_run_time_is_found(fresh_registry: None) -> None:
    plugin = SimpleNamespace(register_rewards=hookimpl(lambda register: register(CONTAINS_X)))
    plugins.get_plugin_manager().register(plugin, name="runtime-plugin")
    assert registry.get("contains_x").plugin == "runtime-plugin"


def test_register_rejects_what_is_not_a_spec(fresh_registry: None) -> None:
    plugin = SimpleNamespace(register_rewards=hookimpl(lambda register: register("think_format")))
    plugins.get_plugin_manager().register(plugin, name="sloppy")
    with pytest.raises(PluginError, match="plugin 'sloppy' registered 'think_format'; register\\(\\) takes"):
        registry.rewards()


def test_the_template_plugin_is_found_through_its_entry_point() -> None:
    """CI installs plugins/rewardkit-template with pip; its reward must come through the entry point."""
    try:
        spec = registry.get("exact_match")
    except UnknownRewardError:
        pytest.fail("install the template plugin: pip install ./plugins/rewardkit-template")
    assert spec.plugin == "template"
    assert plugins.plugin_distribution("template").startswith("rewardkit-template ")
    from rewardkit import compose

    reward = compose(["exact_match"])
    assert reward(completions=["<answer> Paris </answer>", "Lyon"], answer=["paris"] * 2) == [1.0, 0.0]


def test_load_plugins_env_can_turn_entry_point_plugins_off() -> None:
    code = "import rewardkit.registry as r; print('exact_match' in r.rewards())"
    env_off = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={"REWARDKIT_LOAD_PLUGINS": "", "PATH": "/usr/bin:/bin"})
    assert env_off.stdout.strip() == "False"
