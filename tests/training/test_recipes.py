"""Every recipe under training/configs/ goes through training/grpo.py's own code path, so a typo fails CI.

The model and the data are replaced by local stand-ins (no hub access here): a tiny random Qwen2 with a
chat template, and rows with the columns the named hub dataset really has. Everything else is the
recipe's own: the settings check, the dataset formatting (`gold_after`, columns), the composed rewards
(names, params, reference column), every GRPOConfig field, the LoRA config, and the GRPOTrainer built
from them. On CPU `bf16` is switched off and `use_vllm` too (vLLM needs a GPU); the vLLM fields are still
checked by name.
"""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path
from typing import Any

import pytest

from rewardkit.errors import ConfigError
from training import grpo, tiny

pytest.importorskip("trl")
import datasets

REPO = Path(__file__).resolve().parents[2]
RECIPES = sorted((REPO / "training" / "configs").glob("*.yaml"))
# Columns of the hub datasets the recipes name, from their dataset cards (openai/gsm8k "main";
# DigitalLearningGmbH/MATH-lighteval "default"), with one row in each one's real shape.
HUB_ROWS: dict[str, dict[str, str]] = {
    "openai/gsm8k": {"question": "Tom has 2 apples and buys 2 more. How many?", "answer": "2+2=4\n#### 4"},
    "DigitalLearningGmbH/MATH-lighteval": {"problem": "What is $2+2$?", "level": "Level 1",
                                           "type": "Prealgebra", "solution": "$2+2=\\boxed{4}$."},
}
CHAT_TEMPLATE = ("{% for m in messages %}{{ m['content'] }}\n{% endfor %}"
                 "{% if add_generation_prompt %}<think>{% endif %}")


@pytest.fixture(scope="module")
def stand_in_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    directory = tmp_path_factory.mktemp("stand-in-model")
    tiny.build_model(directory, {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1})
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(directory))
    tokenizer.chat_template = CHAT_TEMPLATE  # the real recipes' models are chat models
    tokenizer.save_pretrained(str(directory))
    return str(directory)


def stand_ins(monkeypatch: pytest.MonkeyPatch, model: str) -> None:
    real_resolve, real_rows = grpo.resolve_model, grpo.load_rows

    def resolve(block: Any, output_dir: Path, seed: int) -> str:
        return real_resolve(block, output_dir, seed) if "tiny" in block else model

    def rows(block: Any, output_dir: Path, seed: int) -> Any:
        if "hub" in block:
            name = block["hub"]["path"]
            assert name in HUB_ROWS, f"add {name}'s columns to HUB_ROWS"
            return datasets.Dataset.from_list([HUB_ROWS[name]] * 4)
        return real_rows(block, output_dir, seed)

    monkeypatch.setattr(grpo, "resolve_model", resolve)
    monkeypatch.setattr(grpo, "load_rows", rows)


def on_cpu(settings: dict[str, Any]) -> dict[str, Any]:
    block = settings.setdefault("grpo", {})
    block.update(bf16=False, use_cpu=True, use_vllm=False, max_steps=1)
    if settings.get("reward_workers"):
        settings["reward_workers"] = 1  # two shared cores here; the recipe's count is for a GPU host
    return settings


def test_there_are_recipes_for_cpu_and_gpu() -> None:
    names = {p.name for p in RECIPES}
    assert {"tiny-cpu.yaml", "tiny-correctness.yaml", "qwen2.5-0.5b-gsm8k.yaml"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("recipe", RECIPES, ids=[p.stem for p in RECIPES])
def test_each_recipe_builds_its_trainer_and_rewards_a_right_answer(
    recipe: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stand_in_model: str
) -> None:
    stand_ins(monkeypatch, stand_in_model)
    settings = on_cpu(grpo.load_settings(recipe))
    parts = grpo.prepare(settings, tmp_path, seed=0)
    row = parts.dataset[0]
    gold = str(row[settings["rewards"].get("reference_column", "answer")])
    # A right answer in the format earns the math term 1: the gold column, gold_after and the
    # reference column line up (a wrong one would make math n/a or 0 on every row).
    answer = "4" if "tiny_arithmetic" not in settings["dataset"] else gold
    completion = f"<think>ok</think><answer>{answer}</answer>"
    columns = {k: [row[k]] for k in parts.dataset.column_names if k != "prompt"}
    ids = [parts.tokenizer(completion, add_special_tokens=False)["input_ids"]]  # as TRL passes them
    values = {}
    for func in parts.funcs:
        out = func(prompts=[row["prompt"]], completions=[completion], completion_ids=ids, **columns)
        values[func.__name__] = (asyncio.run(out) if inspect.isawaitable(out) else out)[0]
    assert values["math"] == 1.0, (values, gold)
    trainer = grpo.make_trainer(parts, tmp_path)
    assert len(trainer.reward_funcs) == len(parts.funcs)
    assert [type(c).__name__ for c in trainer.callback_handler.callbacks].count("ProgressCallback") == 0


@pytest.mark.parametrize(
    ("block", "key", "value", "message"),
    [
        ("dataset", "question_colum", "question", r"dataset\.question_colum is not a setting\. Did you mean"),
        ("model", "init_kwarg", {}, r"model\.init_kwarg is not a setting\. Did you mean 'init_kwargs'"),
        ("grpo", "learnig_rate", 1e-6, r"'learnig_rate' is not a GRPOConfig field\. Did you mean 'learning_rate'"),
        ("rewards", "reference_column", "solutoin", r"reference_column 'solutoin' is not a dataset column"),
    ],
)
def test_a_typo_in_a_recipe_fails_with_the_fix(
    block: str, key: str, value: Any, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    stand_in_model: str,
) -> None:
    stand_ins(monkeypatch, stand_in_model)
    recipe = REPO / "training" / "configs" / "qwen2.5-0.5b-gsm8k.yaml"
    settings = on_cpu(grpo.load_settings(recipe))
    settings[block][key] = value
    with pytest.raises(ConfigError, match=message):
        grpo.check_settings(settings, recipe)
        grpo.prepare(settings, tmp_path, seed=0)


def test_an_unknown_reward_name_in_a_recipe_fails(tmp_path: Path) -> None:
    recipe = REPO / "training" / "configs" / "qwen2.5-1.5b-gsm8k-lora.yaml"
    settings = grpo.load_settings(recipe)
    settings["rewards"]["rewards"][1]["name"] = "mathh"
    with pytest.raises(Exception, match="mathh"):
        grpo.compose(settings["rewards"])
