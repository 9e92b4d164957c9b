"""The template plugin, installed with pip into a fresh target, is found through its entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewardkit import RewardSpec, Sample
from rewardkit.testing import check_reward_properties, samples

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target",
         str(target), str(REPO / "plugins" / "rewardkit-template")],
        check=True, capture_output=True, timeout=300,
    )
    return target


def test_pip_installed_plugin_is_discovered_by_the_cli(installed: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(installed), "REWARDKIT_LOAD_PLUGINS": "template"}
    listing = subprocess.run([sys.executable, "-m", "rewardkit", "list", "--json"], env=env, capture_output=True,
                             text=True, check=True)
    (entry,) = [r for r in json.loads(listing.stdout) if r["name"] == "exact_match"]
    assert entry["plugin"] == "template"
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"completion": "<answer>Paris</answer>", "answer": "paris"}) + "\n")
    scored = subprocess.run([sys.executable, "-m", "rewardkit", "score", str(rows), "-r", "exact_match", "-j", "1"],
                            env=env, capture_output=True, text=True, check=True)
    assert json.loads(scored.stdout)["rewards"] == {"exact_match": 1.0}


@given(st.lists(samples(reference=st.sampled_from(["Paris", "42", " paris "])), max_size=6))
def test_template_reward_meets_the_shared_properties(batch: list[Sample]) -> None:
    """The properties rewardkit.testing offers plugin authors, on the template's reward."""
    template = pytest.importorskip("rewardkit_template", reason="CI installs plugins/rewardkit-template")
    spec = RewardSpec(name="exact_match", description="", params=template.ExactMatchParams, range=(0.0, 1.0),
                      fn=template.exact_match)
    check_reward_properties(spec, None, batch)
