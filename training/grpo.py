"""GRPO on TRL with rewardkit rewards, configured by one YAML file.

    python training/grpo.py --config training/configs/tiny-cpu.yaml --output-dir runs/tiny
    python training/grpo.py --config training/configs/qwen2.5-0.5b-gsm8k.yaml --set grpo.max_steps=50

The YAML file has five blocks (see training/README.md):

    model:    {path: Qwen/Qwen2.5-0.5B-Instruct, init_kwargs: {dtype: bfloat16}, lora: {r: 16, ...}}
              or {tiny: {hidden_size: 64, ...}} to build a tiny random model locally
    dataset:  {path: data.jsonl | a save_to_disk directory, question_column: question, system_prompt: ...}
              or {hub: {path: openai/gsm8k, name: main, split: train}} or {tiny_arithmetic: {rows: 256}};
              gold_after: "####" keeps only the text after the last "####" of answer_column (GSM8K)
    rewards:  the same block as `rewardkit score --config` reads (reference_column, rewards: [...])
    grpo:     any GRPOConfig field (learning_rate, num_generations, use_vllm, ...)
    warmup:   optional supervised warm-up on the answer format with random answers (training/warmup.py)
    eval:     optional held-out accuracy before and after, scored by the math reward (training/heldout.py)
    seed, torch_threads, report_every

Shows a progress bar (step, ETA, reward, each term) and a table row every `report_every` steps; writes
DIR/metrics.jsonl (TRL's log history, one JSON object per logged step, written as training goes), a plot of
each term over steps in DIR/rewards.png (with matplotlib) and the final model in DIR/final-model.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rewardkit import compose
from rewardkit.errors import ConfigError, did_you_mean
from rewardkit.integrations.trl import reward_funcs, reward_weights
from training import heldout, progress, tiny, warmup

TOP_KEYS = {"model", "dataset", "rewards", "grpo", "seed", "torch_threads", "async_rewards", "reward_workers",
            "warmup", "eval", "report_every"}
BLOCK_KEYS = {
    "model": {"path", "tiny", "init_kwargs", "lora"},
    "dataset": {"path", "split", "hub", "tiny_arithmetic", "question_column", "answer_column", "gold_after",
                "system_prompt", "prompt_format", "plain_template", "limit", "shuffle", "shuffle_answers"},
}
DEFAULT_SYSTEM_PROMPT = (
    "Think step by step inside <think></think>, then give only the final answer inside <answer></answer>."
)
PLAIN_TEMPLATE = "{system}\n{question}\n"


def load_settings(path: str | Path, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """The YAML mapping with ``block.key=value`` overrides applied (values read as YAML)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a training config is a mapping with model, dataset, rewards and grpo blocks")
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: write it as block.key=value, e.g. grpo.max_steps=20")
        node = data
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(raw)
    check_settings(data, path)
    return data


def check_settings(data: Mapping[str, Any], path: str | Path) -> None:
    """Unknown blocks and keys, and missing blocks, named with the closest known name."""
    unknown = set(data) - TOP_KEYS
    if unknown:
        name = sorted(unknown)[0]
        raise ConfigError(f"{path}: unknown block {name!r}.{did_you_mean(name, TOP_KEYS)}")
    for block in ("model", "dataset", "rewards"):
        if not isinstance(data.get(block), dict):
            raise ConfigError(f"{path}: the {block!r} block is missing (see training/README.md)")
    for block, known in BLOCK_KEYS.items():  # a misspelt key would silently fall back to its default
        for key in sorted(set(data[block]) - known):
            raise ConfigError(f"{path}: {block}.{key} is not a setting.{did_you_mean(key, known)}")


# -- model ------------------------------------------------------------------------------------------


def resolve_model(block: Mapping[str, Any], output_dir: Path, seed: int) -> str:
    """A local path or hub id; a ``tiny`` block builds a random model under ``output_dir`` first."""
    if "tiny" in block:
        return str(tiny.build_model(output_dir / f"tiny-model{rank_suffix()}", block["tiny"] or {}, seed=seed))
    if "path" not in block:
        raise ConfigError("model: give 'path' (a local directory or hub id) or a 'tiny' block")
    return str(block["path"])


def rank_suffix() -> str:
    """``""`` in the main (or only) process, ``-rank<N>`` in the others launched by accelerate/torchrun.

    Generated files (tiny model, tiny data) go to per-process paths: each process builds the same files
    from the same seed, and none reads a file another is still writing. (Accelerate's own barrier would
    need its state created here, before TrainingArguments creates it with ``use_cpu``.)
    """
    rank = int(os.environ.get("RANK", "0") or 0)
    return "" if rank == 0 else f"-rank{rank}"


def lora_config(block: Mapping[str, Any]) -> Any:
    if not block.get("lora"):
        return None
    from peft import LoraConfig

    return LoraConfig(task_type="CAUSAL_LM", **block["lora"])


# -- dataset ----------------------------------------------------------------------------------------


def load_rows(block: Mapping[str, Any], output_dir: Path, seed: int) -> Any:
    """A `datasets.Dataset` from a JSONL file, a save_to_disk directory, the hub, or the tiny generator."""
    import datasets

    if "tiny_arithmetic" in block:
        settings = {"seed": seed, **(block["tiny_arithmetic"] or {})}
        path = tiny.write_arithmetic(output_dir / f"data{rank_suffix()}" / "arithmetic.jsonl", **settings)
        return datasets.load_dataset("json", data_files=str(path), split="train")
    if "hub" in block:
        return datasets.load_dataset(**block["hub"])
    if "path" not in block:
        raise ConfigError("dataset: give 'path' (JSONL file or datasets directory), 'hub' or 'tiny_arithmetic'")
    path = Path(block["path"])
    if path.is_dir():
        loaded = datasets.load_from_disk(str(path))
        return loaded[block.get("split", "train")] if isinstance(loaded, datasets.DatasetDict) else loaded
    if not path.exists():
        raise ConfigError(f"dataset.path {str(path)!r} does not exist")
    return datasets.load_dataset("json", data_files=str(path), split="train")


def build_dataset(block: Mapping[str, Any], tokenizer: Any, output_dir: Path, seed: int) -> Any:
    """Rows with a ``prompt`` column (chat messages or plain text) asking for the think/answer format."""
    rows = load_rows(block, output_dir, seed)
    question = block.get("question_column", "question")
    if question not in rows.column_names:
        raise ConfigError(f"dataset has no {question!r} column (columns: {', '.join(rows.column_names)}); "
                          "set dataset.question_column")
    if block.get("shuffle", True):
        rows = rows.shuffle(seed=seed)
    if block.get("limit"):
        rows = rows.select(range(min(int(block["limit"]), len(rows))))
    if block.get("shuffle_answers"):
        rows = shuffle_answers(rows, question, block.get("answer_column", "answer"), seed)
    return format_rows(rows, block, tokenizer)


def shuffle_answers(rows: Any, question: str, answer: str, seed: int) -> Any:
    """The control for a correctness run: each distinct question gets another question's gold, consistently.

    Every repeat of a question keeps the same (wrong) gold, so the control sees a learnable but false
    mapping with the same answer distribution: what it learns is the format and the answers' marginal.
    """
    import random

    if answer not in rows.column_names:
        raise ConfigError(f"dataset.shuffle_answers: there is no {answer!r} column; set dataset.answer_column")
    distinct = sorted(set(rows[question]), key=str)
    golds = dict(zip(rows[question], rows[answer], strict=True))
    donors = distinct[:]
    random.Random(seed + 1).shuffle(donors)
    mapping = {q: golds[d] for q, d in zip(distinct, donors, strict=True)}
    return rows.map(lambda row: {answer: mapping[row[question]]})


def format_rows(rows: Any, block: Mapping[str, Any], tokenizer: Any) -> Any:
    """Add the ``prompt`` column (and cut golds at ``gold_after``) to loaded rows."""
    question = block.get("question_column", "question")
    system = block.get("system_prompt", DEFAULT_SYSTEM_PROMPT)
    fmt = block.get("prompt_format", "auto")
    if fmt == "auto":
        fmt = "chat" if getattr(tokenizer, "chat_template", None) else "plain"
    if fmt not in ("chat", "plain"):
        raise ConfigError(f"dataset.prompt_format: expected auto, chat or plain, got {fmt!r}")
    template = block.get("plain_template", PLAIN_TEMPLATE)
    answer, gold_after = block.get("answer_column", "answer"), block.get("gold_after")

    def to_prompt(row: dict[str, Any]) -> dict[str, Any]:
        extra = {answer: str(row[answer]).split(gold_after)[-1].strip()} if gold_after else {}
        if fmt == "chat":
            messages = [{"role": "user", "content": str(row[question])}]
            return {"prompt": ([{"role": "system", "content": system}] if system else []) + messages, **extra}
        return {"prompt": template.format(system=system, question=row[question]), **extra}

    return rows.map(to_prompt)


def heldout_rows(settings: Mapping[str, Any], tokenizer: Any, output_dir: Path) -> Any:
    """The ``eval`` block's questions, formatted like the training prompts (golds never shuffled)."""
    import datasets

    block, data = settings.get("eval") or {}, settings["dataset"]
    for key in sorted(set(block) - heldout.KEYS):  # checked before training, not after it
        raise ConfigError(f"eval.{key} is not a setting.{did_you_mean(key, heldout.KEYS)}")
    if settings.get("warmup") is not None:
        warmup.settings(settings["warmup"] or {})
    path = block.get("path")
    if path is None and (data.get("tiny_arithmetic") or {}).get("holdout"):
        path = output_dir / f"data{rank_suffix()}" / "heldout.jsonl"
    if path is None or not Path(path).is_file():
        raise ConfigError(f"eval: give eval.path (a JSONL file of held-out questions); {path} is not a file")
    rows = datasets.load_dataset("json", data_files=str(path), split="train")
    return format_rows(rows, data, tokenizer)


def check_reference_column(settings: Mapping[str, Any], dataset: Any) -> None:
    """An explicit ``reference_column`` missing from the data would score every row n/a: say so now."""
    column = settings["rewards"].get("reference_column")
    if column is not None and column not in dataset.column_names:
        raise ConfigError(f"rewards.reference_column {column!r} is not a dataset column "
                          f"(columns: {', '.join(dataset.column_names)})")


# -- training ---------------------------------------------------------------------------------------


def grpo_args(block: Mapping[str, Any], output_dir: Path, weights: list[float], seed: int) -> Any:
    """A GRPOConfig from the YAML block; unknown fields are reported with the closest names."""
    from trl.trainer.grpo_config import GRPOConfig

    names = {f.name for f in dataclasses.fields(GRPOConfig)}
    for key in block:
        if key not in names:
            raise ConfigError(f"grpo: {key!r} is not a GRPOConfig field.{did_you_mean(key, names)}")
    if "reward_weights" in block:
        raise ConfigError("grpo.reward_weights comes from the rewards block's weights; remove it")
    defaults = {f.name: f.default for f in dataclasses.fields(GRPOConfig)}
    fields = {"seed": seed, "report_to": "none", **{k: _yaml_float(v, defaults[k]) for k, v in block.items()}}
    return GRPOConfig(output_dir=str(output_dir), reward_weights=weights, **fields)


def _yaml_float(value: Any, default: Any) -> Any:
    """YAML 1.1 reads ``1e-3`` (no dot) as a string; read it as the float the field expects."""
    if isinstance(default, float) and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


@dataclasses.dataclass
class Parts:
    """Everything `train` hands to GRPOTrainer, built from a config by `prepare`."""

    model_path: str
    tokenizer: Any
    dataset: Any
    funcs: list[Any]
    args: Any
    peft_config: Any


def prepare(settings: Mapping[str, Any], output_dir: Path, seed: int) -> Parts:
    """Model path, tokenizer, dataset, reward functions and GRPOConfig: every check a config can fail."""
    from transformers import AutoTokenizer

    model_path = resolve_model(settings["model"], output_dir, seed)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    dataset = build_dataset(settings["dataset"], tokenizer, output_dir, seed)
    check_reference_column(settings, dataset)
    reward = compose(settings["rewards"])
    funcs: list[Any] = reward_funcs(reward, asynchronous=bool(settings.get("async_rewards", False)),
                                    workers=settings.get("reward_workers"))
    args = grpo_args(settings.get("grpo") or {}, output_dir, reward_weights(reward), seed)
    if settings["model"].get("init_kwargs"):
        args.model_init_kwargs = dict(settings["model"]["init_kwargs"])
    return Parts(model_path, tokenizer, dataset, funcs, args, lora_config(settings["model"]))


def make_trainer(parts: Parts, output_dir: Path, report_every: int | None = None) -> Any:
    """The GRPOTrainer, with the metrics file and the readable progress output in place of the default."""
    from trl.trainer.grpo_trainer import GRPOTrainer

    callbacks = [progress.metrics_callback(output_dir / "metrics.jsonl"),
                 progress.make_callback([f.__name__ for f in parts.funcs], report_every)]
    trainer = GRPOTrainer(model=parts.model_path, reward_funcs=parts.funcs, args=parts.args,
                          train_dataset=parts.dataset, processing_class=parts.tokenizer,
                          peft_config=parts.peft_config, callbacks=callbacks)
    progress.quiet_default_printing(trainer)
    return trainer


def evaluate(settings: Mapping[str, Any], model: Any, parts: Parts, rows: Any) -> dict[str, Any] | None:
    if rows is None:
        return None
    if isinstance(model, str):
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(model)
    return heldout.accuracy(model, parts.tokenizer, rows, settings.get("eval") or {}, settings["rewards"])


def train(settings: Mapping[str, Any], output_dir: Path) -> dict[str, Any]:
    """Build everything from ``settings``, (warm up,) train, save; returns `summarize` of the logged rewards."""
    import torch

    seed = int(settings.get("seed", 0))
    if settings.get("torch_threads"):
        torch.set_num_threads(int(settings["torch_threads"]))
    _quiet_libraries()
    output_dir.mkdir(parents=True, exist_ok=True)
    parts = prepare(settings, output_dir, seed)
    rows = heldout_rows(settings, parts.tokenizer, output_dir) if "eval" in settings else None
    extra: dict[str, Any] = {}
    if settings.get("warmup") is not None:
        data = settings["dataset"]
        columns = (data.get("question_column", "question"), data.get("answer_column", "answer"))
        start = time.perf_counter()
        parts.model_path, loss = warmup.warm_up(parts.model_path, parts.dataset, settings["warmup"] or {},
                                                columns, output_dir / "warm-model", seed)
        extra["warmup"] = {"loss": round(loss, 4), "seconds": round(time.perf_counter() - start, 1)}
    before = evaluate(settings, parts.model_path, parts, rows)
    trainer = make_trainer(parts, output_dir, settings.get("report_every"))
    trainer.train()
    after = evaluate(settings, trainer.model, parts, rows)
    if before is not None and after is not None:
        extra["heldout"] = {"before": before, "after": after}
    trainer.save_model(str(output_dir / "final-model"))
    parts.tokenizer.save_pretrained(str(output_dir / "final-model"))
    terms = [f.__name__ for f in parts.funcs]
    image = progress.plot(output_dir / "metrics.jsonl", terms)
    extra["plot"] = str(image) if image else None
    return {**progress.summarize(trainer.state.log_history, terms), **extra}


def _quiet_libraries() -> None:
    """Progress bars of dataset maps and weight loading would bury the training's own output."""
    import datasets
    from transformers.utils import logging

    datasets.disable_progress_bars()
    logging.disable_progress_bar()  # type: ignore[no-untyped-call]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="training YAML (see training/configs/)")
    parser.add_argument("--output-dir", default=None, help="where metrics.jsonl and final-model go")
    parser.add_argument("--set", action="append", default=[], metavar="BLOCK.KEY=VALUE",
                        help="override one config value, e.g. --set grpo.max_steps=20 (repeatable)")
    ns = parser.parse_args(argv)
    try:
        settings = load_settings(ns.config, ns.set)
        output_dir = Path(ns.output_dir or Path("runs") / Path(ns.config).stem)
        start = time.perf_counter()
        summary = train(settings, output_dir)
    except ConfigError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    summary["seconds"] = round(time.perf_counter() - start, 1)
    metrics = output_dir / "metrics.jsonl"
    if summary.get("plot"):
        print(f"Reward per term over steps: {summary['plot']}  (metrics: {metrics})")
    else:
        print(f"Metrics: {metrics}  (pip install matplotlib for a plot of reward per term over steps)")
    (output_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
