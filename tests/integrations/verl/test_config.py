"""How verl 0.9.1 finds the reward function: its loader (verl/utils/import_utils.py), its trainer config
(verl/trainer/config/ppo_trainer.yaml + reward/reward.yaml), get_custom_reward_fn (verl/trainer/ppo/reward.py),
and the documented snippets of docs/trainers/verl.md."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from verl.experimental.reward_loop import migrate_legacy_reward_impl
from verl.trainer.ppo.reward import get_custom_reward_fn
from verl.utils.import_utils import load_extern_object

from rewardkit.integrations import verl as adapter

from ._support import doc_block, verl_config

GSM = {"data_source": "openai/gsm8k", "solution_str": "so 40 + 2\n#### 42", "ground_truth": "42", "extra_info": {}}


@pytest.mark.parametrize("path", ["pkg://rewardkit.integrations.verl", "pkg://rewardkit/integrations/verl"])
def test_the_pkg_form_loads_through_verls_loader(path: str) -> None:
    assert load_extern_object(module_path=path, object_name="compute_score") is adapter.compute_score


def test_a_file_path_loads_too_because_the_module_imports_absolutely() -> None:
    fn = load_extern_object(module_path=adapter.__file__, object_name="compute_score")
    assert fn is not adapter.compute_score  # verl runs the file as a fresh module outside the package
    assert fn(**GSM)["score"] == 1.0


def test_verls_file_loader_has_no_package_so_relative_imports_fail(tmp_path: Path) -> None:
    # Why the docs say pkg://: what happened to this module's file path while it imported relatively.
    module = tmp_path / "reward.py"
    module.write_text("from ..config import parse_config\n\ndef compute_score(**kwargs):\n    return 0.0\n")
    with pytest.raises(RuntimeError, match="Error loading module") as info:
        load_extern_object(module_path=str(module), object_name="compute_score")
    assert "relative import" in str(info.value.__cause__)


def test_the_documented_yaml_config_reaches_compute_score(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rewards_verl.yaml").write_text(doc_block("verl-routes"))
    (tmp_path / "my_trainer.yaml").write_text(doc_block("verl-config"))
    with initialize_config_dir(config_dir=str(tmp_path), version_base=None):
        config = compose("my_trainer")  # as main_ppo --config-path ... --config-name my_trainer does
    assert config.algorithm.adv_estimator == verl_config().algorithm.adv_estimator  # verl's defaults are in
    fn = get_custom_reward_fn(config)
    assert fn is not None
    result = fn(**{**GSM, "solution_str": "<think>40 + 2</think>\n<answer>42</answer>"})
    assert result["math"] == result["think_format"] == result["acc"] == 1.0  # the routing file's gsm8k route
    assert result["score"] == pytest.approx(1.1)


def test_the_documented_command_line_overrides_reach_compute_score(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rewards_verl.yaml").write_text(doc_block("verl-routes"))
    words = shlex.split(doc_block("verl-overrides").replace("\\\n", " "))
    assert words[:3] == ["python", "-m", "verl.trainer.main_ppo"]
    config = verl_config(words[3:])
    assert config.reward.custom_reward_function.reward_kwargs == {"config": "rewards_verl.yaml"}
    fn = get_custom_reward_fn(config)
    assert fn is not None and fn(**GSM)["think_format_applied"] == 1.0  # the routing file was read


def test_reward_kwargs_need_the_plus_on_the_command_line() -> None:
    with pytest.raises(Exception, match="reward_kwargs"):
        verl_config(["reward.custom_reward_function.reward_kwargs.workers=1"])


def test_main_ppo_ignores_a_top_level_custom_reward_function() -> None:
    config = verl_config(["custom_reward_function.path=pkg://rewardkit.integrations.verl",
                          "custom_reward_function.name=compute_score"])  # fmt: skip
    assert get_custom_reward_fn(config) is None  # verl's default scorer would run, silently
    # Only verl's fully-async entry (fully_async_main.py) migrates the old key.
    migrated = migrate_legacy_reward_impl(config)
    fn = get_custom_reward_fn(migrated)
    assert fn is not None and fn(**GSM)["score"] == 1.0


def test_verls_default_config_names_compute_score() -> None:
    assert verl_config().reward.custom_reward_function.name == "compute_score"
