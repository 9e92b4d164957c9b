"""Importing rewardkit stays light, and its public names are deliberate."""

from __future__ import annotations

import subprocess
import sys

import rewardkit


def test_import_rewardkit_and_its_registry_import_no_heavy_framework() -> None:
    code = (
        "import sys, rewardkit, rewardkit.registry, rewardkit.cli\n"
        "rewardkit.registry.rewards()\n"
        "heavy = [m for m in ('torch', 'transformers', 'trl', 'datasets', 'httpx', 'hypothesis') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_all_is_sorted_and_every_name_exists() -> None:
    assert rewardkit.__all__ == sorted(rewardkit.__all__)
    for name in rewardkit.__all__:
        assert hasattr(rewardkit, name), name


def test_the_error_tree_has_one_root() -> None:
    for name in rewardkit.__all__:
        obj = getattr(rewardkit, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, rewardkit.RewardkitError), name
