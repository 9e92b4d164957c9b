"""Config validation: every mistake names its place and how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest

from rewardkit.config import load_config, parse_config
from rewardkit.errors import ConfigError, ParamError, UnknownRewardError


@pytest.mark.parametrize(
    "config, error, message",
    [
        # a typo in a reward name gets a suggestion and a pointer to `rewardkit list`
        ({"rewards": [{"name": "think_fromat"}]}, UnknownRewardError, r"rewards\[0\]: unknown reward 'think_fromat'\. "
         r"Did you mean 'think_format'\?.*rewardkit list"),
        # a typo in a parameter name
        ({"rewards": [{"name": "length", "params": {"targte": 3}}]}, ParamError,
         r"rewards\[0\]: reward 'length' has no parameter 'targte'\. Did you mean 'target'"),
        # a parameter of the wrong type
        ({"rewards": [{"name": "length", "params": {"target": "long"}}]}, ParamError,
         r"parameter 'target': expected int, got 'long' \(str\)"),
        # a parameter out of bounds
        ({"rewards": [{"name": "length", "params": {"target": 0}}]}, ParamError, r"must be >= 1, got 0"),
        # a literal parameter given a value outside its choices
        ({"rewards": [{"name": "length", "params": {"unit": "bytes"}}]}, ParamError, r"expected one of 'chars'"),
        # a typo in a term key
        ({"rewards": [{"name": "length", "wieght": 2}]}, ConfigError, r"unknown key 'wieght'\. Did you mean 'weight'"),
        # a weight that is not a number
        ({"rewards": [{"name": "length", "weight": "high"}]}, ConfigError, r"rewards\[0\]\.weight: expected float"),
        # the same term twice without ids
        ({"rewards": ["think_format", "think_format"]}, ConfigError, r"two terms are named 'think_format'"),
        # a gate on a term that does not exist
        ({"rewards": [{"name": "math", "gate": "format"}]}, ConfigError, r"gated on 'format'"),
        # gates that form a cycle
        ({"rewards": [{"name": "math", "gate": "think_format"}, {"name": "think_format", "gate": "math"}]},
         ConfigError, r"cycle"),
        # a group without an id
        ({"rewards": [{"rewards": ["think_format"]}]}, ConfigError, r"a group needs an 'id'"),
        # no rewards at all
        ({"reward": []}, ConfigError, r"unknown key 'reward'"),
        ({"rewards": []}, ConfigError, r"non-empty list"),
        ({"rewards": [{"name": "math"}], "on_null": "zero"}, ConfigError, r"on_null: expected one of propagate, skip"),
    ],
)
def test_bad_configs_are_rejected_with_the_place_and_a_fix(config: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        parse_config(config)


def test_a_config_file_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rewards.yaml"
    path.write_text("rewards:\n  - name: lenght\n")
    with pytest.raises(UnknownRewardError, match=r"rewards\.yaml: rewards\[0\]: unknown reward 'lenght'"):
        load_config(path)
    path.write_text("rewards: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_dependencies_are_computed_first_whatever_the_declaration_order() -> None:
    config = parse_config({"rewards": [
        {"name": "cosine_length", "params": {"correct_from": "math", "unit": "chars"}},
        {"name": "math", "gate": "think_format"},
        {"name": "think_format"},
    ]})
    assert [t.path for t in config.leaves] == ["think_format", "math", "cosine_length"]


def test_params_are_validated_into_frozen_dataclasses() -> None:
    config = parse_config({"rewards": [{"name": "length", "params": {"target": 10, "scale": 5}}]})
    params = config.terms[0].params
    assert params.target == 10 and params.scale == 5.0 and isinstance(params.scale, float)
    hash(params)  # frozen and hashable: rewards may cache on it
