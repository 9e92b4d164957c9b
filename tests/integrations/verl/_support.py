"""Fixtures for the verl 0.9.1 conformance suite: verl's own config, a local tokenizer, DataProto batches.

Everything here is verl's code (verl 0.9.1 from PyPI, Apache-2.0) driven on CPU: Hydra composes verl's
``ppo_trainer.yaml``, its reward loop and managers score, its metric code aggregates. Nothing is replayed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
import verl
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from rewardkit import hookimpl, plugins
from rewardkit.integrations import verl as adapter

from ..._fixtures import HOSTILE, INFRA

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "trainers" / "verl.md"
VERL_CONFIG_DIR = Path(verl.__file__).parent / "trainer" / "config"
assert verl.__version__ == "0.9.1", f"this suite is written against verl 0.9.1, found {verl.__version__}"


def _register(register):  # type: ignore[no-untyped-def]
    register(HOSTILE)
    register(INFRA)


PLUGIN = SimpleNamespace(register_rewards=hookimpl(_register))


@pytest.fixture(autouse=True)
def fresh_adapter(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(adapter.CONFIG_ENV, raising=False)
    plugins.reset()
    plugins.get_plugin_manager().register(PLUGIN, name="verl-test-rewards")
    adapter.close()
    yield
    adapter.close()
    plugins.reset()


def doc_block(name: str) -> str:
    """The fenced block after ``<!-- test: name -->`` in docs/trainers/verl.md."""
    found = re.search(rf"<!-- test: {re.escape(name)} -->\n```\w*\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert found, f"{DOC} has no block marked {name}"
    return found.group(1)


def verl_config(overrides: Sequence[str] = ()) -> DictConfig:
    """verl 0.9.1's trainer config, composed by Hydra as ``python -m verl.trainer.main_ppo`` does."""
    with initialize_config_dir(config_dir=str(VERL_CONFIG_DIR), version_base=None):
        return compose("ppo_trainer", overrides=list(overrides))


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A byte-level tokenizer without merges: every text round-trips, as a real model's tokenizer does."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {"<pad>": 0, "<eos>": 1, **{c: i + 2 for i, c in enumerate(alphabet)}}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    core.add_special_tokens(["<pad>", "<eos>"])
    tok = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<eos>", pad_token="<pad>")
    directory = tmp_path_factory.mktemp("tokenizer")
    tok.save_pretrained(str(directory))
    return directory


@pytest.fixture(scope="session")
def tokenizer(tokenizer_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tokenizer_dir))


Row = tuple[str, str, Any, dict[str, Any]]  # data_source, response text, ground truth, extra_info


def data_proto(tokenizer: Any, rows: Sequence[Row], prompt: str = "Q? ") -> Any:
    """A rollout batch shaped like verl's: left-padded prompts, right-padded responses ending in EOS."""
    from verl import DataProto

    prompt_ids = tokenizer.encode(prompt)
    responses = [[*tokenizer.encode(text), tokenizer.eos_token_id] for _, text, _, _ in rows]
    width = max(len(r) for r in responses)
    pad = tokenizer.pad_token_id
    n = len(rows)
    mask = [[1] * (len(prompt_ids) + len(r)) + [0] * (width - len(r)) for r in responses]
    return DataProto.from_dict(
        tensors={
            "prompts": torch.tensor([prompt_ids] * n),
            "responses": torch.tensor([r + [pad] * (width - len(r)) for r in responses]),
            "attention_mask": torch.tensor(mask),
        },
        non_tensors={
            "data_source": np.array([r[0] for r in rows], dtype=object),
            "reward_model": np.array([{"ground_truth": r[2], "style": "rule"} for r in rows], dtype=object),
            "extra_info": np.array([dict(r[3]) for r in rows], dtype=object),
            "uid": np.array([f"p{i // 2}" for i in range(n)], dtype=object),  # two responses per prompt
        },
    )
