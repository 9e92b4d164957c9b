"""training/grpo.py: config handling, the tiny local model, and a short real GRPO run of the tiny config."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rewardkit.errors import ConfigError
from training import grpo, progress, tiny

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "training" / "configs" / "tiny-cpu.yaml"
TERMS = ("tag_count", "think_format", "math")


def test_overrides_set_nested_values_read_as_yaml() -> None:
    settings = grpo.load_settings(TINY, ["grpo.max_steps=7", "grpo.learning_rate=1e-3", "dataset.limit=5"])
    assert settings["grpo"]["max_steps"] == 7
    assert settings["dataset"]["limit"] == 5


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("grpoo.max_steps=3", r"unknown block 'grpoo'\. Did you mean 'grpo'"),  # a typo in a block name
        ("max_steps", r"block\.key=value"),  # not an assignment
    ],
)
def test_bad_overrides_say_how_to_fix_them(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        grpo.load_settings(TINY, [override])


def test_grpo_fields_are_checked_and_yaml_floats_read_as_floats(tmp_path: Path) -> None:
    pytest.importorskip("trl")
    args = grpo.grpo_args({"learning_rate": "1e-3", "use_cpu": True, "bf16": False}, tmp_path, [1.0], seed=0)
    assert args.learning_rate == 1e-3 and args.reward_weights == [1.0]
    with pytest.raises(ConfigError, match=r"'learnin_rate' is not a GRPOConfig field\. Did you mean 'learning_rate'"):
        grpo.grpo_args({"learnin_rate": 1e-3}, tmp_path, [1.0], seed=0)
    with pytest.raises(ConfigError, match="reward_weights comes from the rewards block"):
        grpo.grpo_args({"reward_weights": [1.0]}, tmp_path, [1.0], seed=0)


def test_the_char_tokenizer_keeps_tags_whole_and_round_trips(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    from transformers import AutoTokenizer

    tiny.build_tokenizer(tmp_path, chars="0123456789+=")
    tok = AutoTokenizer.from_pretrained(str(tmp_path))
    text = "3+4=<think>7</think><answer>7</answer>"
    ids = tok(text)["input_ids"]
    assert len(ids) == 4 + 6  # "3+4=", then each of the four tags and two digits is one token
    assert tok.decode([*ids, tok.eos_token_id], skip_special_tokens=True) == text  # as TRL decodes


def test_prompts_are_chat_or_plain_with_the_system_prompt(tmp_path: Path) -> None:
    pytest.importorskip("datasets")
    block = {"tiny_arithmetic": {"rows": 4}, "system_prompt": "Use tags.", "shuffle": False}

    class Chat:
        chat_template = "{{ messages }}"

    plain = grpo.build_dataset(block, object(), tmp_path, seed=0)
    chat = grpo.build_dataset(block, Chat(), tmp_path, seed=0)
    rows = tiny.arithmetic_rows(4, seed=0)
    assert plain[0]["prompt"] == f"Use tags.\n{rows[0]['question']}\n" and plain[0]["answer"] == rows[0]["answer"]
    assert chat[0]["prompt"] == [{"role": "system", "content": "Use tags."},
                                 {"role": "user", "content": rows[0]["question"]}]
    with pytest.raises(ConfigError, match="has no 'problem' column"):
        grpo.build_dataset({**block, "question_column": "problem"}, object(), tmp_path, seed=0)


def test_summarize_compares_first_and_last_logged_steps() -> None:
    history = [{"reward": r, "rewards/math/mean": r / 2} for r in (0.0, 0.1, 0.2, 0.5, 0.9, 1.0, 1.1)]
    history.append({"train_runtime": 3.0})
    summary = progress.summarize(history, ["math"])
    assert summary["logged_steps"] == 7
    assert summary["reward"]["first"] == pytest.approx(0.1) and summary["reward"]["last"] == pytest.approx(1.0)
    assert summary["rewards/math/mean"]["last"] == pytest.approx(0.5)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_short_run_of_the_tiny_config_trains_logs_every_term_and_saves(tmp_path: Path) -> None:
    pytest.importorskip("trl")
    steps = 60
    cmd = [sys.executable, str(REPO / "training" / "grpo.py"), "--config", str(TINY), "--output-dir",
           str(tmp_path), "--set", f"grpo.max_steps={steps}", "--set", "grpo.disable_tqdm=true"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=280)
    assert done.returncode == 0, done.stderr[-3000:]
    logged = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    steps_logged = [entry for entry in logged if "reward" in entry]
    assert len(steps_logged) == steps
    for term in TERMS:
        assert all(f"rewards/{term}/mean" in entry for entry in steps_logged), term
        assert all(entry[f"rewardkit/{term}/errors"] == 0 for entry in steps_logged), term
    assert (tmp_path / "final-model" / "config.json").is_file()
    assert (tmp_path / "final-model" / "tokenizer.json").is_file()
    # Within these steps tag_count climbs steadily from random text (measured: 0.27 -> ~0.4 by step 60).
    tags = [entry["rewards/tag_count/mean"] for entry in steps_logged]
    assert sum(tags[-10:]) / 10 > sum(tags[:10]) / 10 + 0.05
    summary = json.loads(done.stdout[done.stdout.rindex("\n{\n") + 1 :])  # the last thing printed
    assert summary["logged_steps"] == steps and set(summary) >= {"reward", "seconds"}
