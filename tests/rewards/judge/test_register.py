"""The judge registers through the public hook; importing it stays cheap (no httpx, torch, transformers)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rewardkit import RewardSpec, registry
from rewardkit.errors import ParamError
from rewardkit.params import build_params, describe_params
from rewardkit.plugins import BUILTIN_PLUGINS
from rewardkit.rewards import judge


def test_registers_the_judge_kinds_as_batch_rewards() -> None:
    specs: list[RewardSpec] = []
    judge.register_rewards(register=specs.append)
    assert [s.name for s in specs] == ["judge", "rubric_judge", "verifier", "math_verifier", "group_judge"]
    spec = specs[0]
    assert spec.batch_fn is judge.judge_batch and spec.fn is None
    assert spec.params is judge.JudgeParams and spec.output_range(None) == (0.0, 1.0)
    assert all(s.batch_fn is not None and s.output_range(None) == (0.0, 1.0) for s in specs)
    assert {s.name for s in specs if s.needs_reference} == {"verifier", "math_verifier"}


def test_batch_functions_are_module_level_so_they_pickle() -> None:
    import pickle

    specs: list[RewardSpec] = []
    judge.register_rewards(register=specs.append)
    for spec in specs:
        assert pickle.loads(pickle.dumps(spec.batch_fn)) is spec.batch_fn


def test_is_a_builtin_found_by_name() -> None:
    assert "rewardkit.rewards.judge" in BUILTIN_PLUGINS
    assert registry.get("judge").plugin == "rewardkit.rewards.judge"


def test_parameters_are_described_and_validated() -> None:
    names = {p.name for p in describe_params(judge.JudgeParams)}
    required = {
        "base_url",
        "model",
        "api_key_env",
        "timeout_s",
        "max_retries",
        "concurrency",
        "template",
        "scale",
        "cache_path",
        "max_error_rate",
    }
    assert required <= names
    assert build_params("judge", judge.JudgeParams, {"cache_path": None}).cache_path is None
    with pytest.raises(ParamError, match="must be >= 1"):
        build_params("judge", judge.JudgeParams, {"concurrency": 0})
    with pytest.raises(ParamError, match="must start with http"):
        build_params("judge", judge.JudgeParams, {"base_url": "127.0.0.1:8000"})


def test_import_stays_light() -> None:
    code = (
        "import sys, rewardkit, rewardkit.rewards.judge, rewardkit.registry as r; r.get('judge'); "
        "print(sorted(m for m in ('httpx', 'torch', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
