"""How a row, or a trainer's call, becomes `Sample`s: the one place every front door builds samples.

Decided here and nowhere else:

- which column is the gold (``reference_column``) and which keys are not columns (the completion, the prompt,
  the trainer's own keyword arguments, results of an earlier scoring);
- what a completion is: text, or chat messages (their ``content``, TRL's ``reasoning_content`` and
  ``tool_calls`` are read by `rewardkit.types.completion_text`);
- trailing special tokens: trainers that decode with special tokens kept (OpenRLHF) end every response in
  ``<|im_end|>``, ``</s>``, ``<|eot_id|>``...; a format reward would fail every well-formed answer, so the
  end-of-sequence and padding tokens a response ends with are removed;
- prompt stripping: OpenRLHF sends prompt + response as one query.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import InputError, ShapeError
from .types import Completion, Sample

#: Keyword arguments trainers pass that are not dataset columns (TRL 1.16: trainer_state, log_extra,
#: log_metric, environments; verl: reward_router_address, reward_model_tokenizer).
TRAINER_KWARGS = frozenset({
    "trainer_state", "log_extra", "log_metric", "environments",
    "reward_router_address", "reward_model_tokenizer",
})  # fmt: skip
#: Keys a scored line carries; a file scored again must not read its old results as inputs.
OUTPUT_KEYS = ("rewards", "reward", "reward_details")
_NOT_COLUMNS = frozenset({"completion", "prompt", *OUTPUT_KEYS})

#: End-of-sequence and padding tokens of common chat templates (Qwen/ChatML, Llama 2/3, Mistral, Gemma,
#: Phi, DeepSeek, GPT-OSS), removed from the end of a response however many times they repeat.
SPECIAL_SUFFIXES = (
    "<|im_end|>", "<|endoftext|>", "<|end_of_text|>", "<|eot_id|>", "<|eom_id|>", "</s>", "<eos>",
    "<end_of_turn>", "<|end|>", "<|return|>", "<｜end▁of▁sentence｜>", "<|end▁of▁sentence|>",
    "<pad>", "<|pad|>", "[PAD]", "<|finetune_right_pad_id|>",
)  # fmt: skip
_SUFFIX_ENDS = frozenset(s[-1] for s in SPECIAL_SUFFIXES)


def strip_special_suffix(text: str) -> str:
    """``text`` without the end-of-sequence and padding tokens it ends with (and the whitespace between them).

    Whitespace is removed only around a removed token: a response that ends in whitespace keeps it, since
    length rewards count it (padding to the length limit with newlines must still cost the policy).
    """
    end = len(text)
    while True:
        at = end
        while at and text[at - 1].isspace():
            at -= 1
        # One C-level test of every token first: most responses end in no token, or in one (then in text).
        if not at or text[at - 1] not in _SUFFIX_ENDS or not text.endswith(SPECIAL_SUFFIXES, 0, at):
            break
        token = next(t for t in SPECIAL_SUFFIXES if text.startswith(t, at - len(t)))
        end = at - len(token)
    return text if end == len(text) else text[:end]


def clean_completion(completion: Completion) -> Completion:
    """A completion as rewards should see it: text without trailing special tokens (messages as they are)."""
    if isinstance(completion, str) and completion and completion[-1] in _MAY_END_A_SUFFIX:
        return strip_special_suffix(completion)
    return completion


_MAY_END_A_SUFFIX = _SUFFIX_ENDS | {" ", "\n", "\r", "\t"}


def row_sample(row: Mapping[str, Any], reference_column: str) -> Sample:
    """A `Sample` from one row (a JSONL line, a server request's sample, a dataset row)."""
    columns = {k: v for k, v in row.items() if k not in _NOT_COLUMNS and k != reference_column}
    return Sample(clean_completion(row["completion"]), row.get("prompt"), row.get(reference_column), columns)


def call_samples(
    prompts: Sequence[Any] | None, completions: Sequence[Any] | None, kwargs: Mapping[str, Any],
    reference_column: str,
) -> list[Sample]:
    """`Sample`s from a trainer's call: keyword lists with one entry per completion (TRL's contract)."""
    if completions is None:
        raise InputError("pass completions=[...] (one string or chat-message list per completion)")
    if isinstance(completions, str) or not isinstance(completions, Sequence):
        raise ShapeError(f"completions must be a list, got {type(completions).__name__}")
    n = len(completions)
    columns = {k: v for k, v in kwargs.items() if k not in TRAINER_KWARGS and k not in OUTPUT_KEYS}
    for name, values in {"prompts": prompts, **columns}.items():
        if values is None:
            continue
        if not isinstance(values, Sequence) or isinstance(values, (str, bytes)):
            raise ShapeError(f"{name} must be a list with one entry per completion, got {type(values).__name__}")
        if len(values) != n:
            raise ShapeError(f"{name} has {len(values)} entries but there are {n} completions")
    gold = columns.pop(reference_column, None)
    names = list(columns)
    return [
        Sample(
            clean_completion(completions[i]),
            None if prompts is None else prompts[i],
            None if gold is None else gold[i],
            {k: columns[k][i] for k in names},
        )
        for i in range(n)
    ]


def strip_prompt(query: str, prompt: str) -> str | None:
    """The response part of ``query``: what follows the first occurrence of ``prompt`` (None if absent).

    The trainer's decode may keep a BOS or padding before the prompt, so the prompt is searched, not only
    matched at the start.
    """
    if query.startswith(prompt):
        return query[len(prompt) :]
    at = query.find(prompt) if prompt else 0
    return None if at < 0 else query[at + len(prompt) :]


MISSING: Any = object()


def completion_problem(value: Any) -> str | None:
    """Why ``value`` is not a completion (text or chat messages), or None when it is one."""
    if value is MISSING:
        return "missing; every row needs the model's output in 'completion'"
    if isinstance(value, str):
        return None
    if not isinstance(value, list):
        return f"expected a string or a list of chat messages, got {kind_of(value)}"
    for i, message in enumerate(value):
        if not isinstance(message, dict) or not isinstance(message.get("role", "assistant"), str):
            return f"message [{i}] must be an object like {{\"role\": \"assistant\", \"content\": \"...\"}}"
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            return f"message [{i}] 'content' must be a string or a list of parts, got {kind_of(content)}"
    return None


def kind_of(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def require_columns(config: Any, columns: set[str] | None, where: str, option: str) -> None:
    """Fail before scoring when no row carries a column a term cannot work without.

    The gold column (for rewards with ``needs_reference``): a misnamed one would make every such term
    ``not_applicable``, and a run would score, or a GRPO run train, on the other terms alone without a word.
    And the columns a term's parameters make necessary (`RewardSpec.columns_for`, e.g. ``completion_ids``
    for token lengths without a tokenizer), which would otherwise mask every row.
    ``columns`` None: nothing to judge by (no rows).
    """
    if not columns:
        return
    seen = ", ".join(sorted(c for c in columns if c not in _NOT_COLUMNS)) or "none"
    column = config.reference_column
    needing = [t.path for t in config.leaves if t.spec is not None and t.spec.needs_reference]
    if needing and column not in columns:
        raise InputError(
            f"{where}: {', '.join(needing)} grade against a gold answer in column {column!r}, but no row has "
            f"that column (columns: {seen}). Name the gold column with {option} COLUMN"
            " (or reference_column: COLUMN in the config)."
        )
    for term in config.leaves:
        spec = term.spec
        if spec is None or spec.columns_for is None:
            continue
        missing = [c for c in spec.columns_for(term.params) if c not in columns]
        if missing:
            raise InputError(
                f"{where}: term {term.path!r} needs column {missing[0]!r} with these parameters, and no row has "
                f"it (columns: {seen}). {spec.columns_hint}".rstrip()
            )


#: Columns that carry a row's code tests (HumanEval, MBPP, APPS/TACO, stdin/stdout lists).
TEST_COLUMNS = ("test", "entry_point", "test_list", "test_setup_code", "tests", "input_output")


def label_columns(label: Any, reference_column: str) -> dict[str, Any]:
    """The row columns a trainer's label carries (OpenRLHF's ``labels``, verl's ``ground_truth``).

    A label is the gold answer, or, for code, the row's tests as an object or a JSON string of one (verl and
    PRIME store ``{"inputs": [...], "outputs": [...]}`` or a HumanEval/MBPP row there); tests become their
    columns, so the code reward runs them instead of reading them as an answer.
    """
    value = label
    if isinstance(label, str) and label[:1] in ("{", "["):
        with contextlib.suppress(ValueError, RecursionError):
            value = json.loads(label)
    if isinstance(value, dict):
        keys = set(value)
        if keys & {*TEST_COLUMNS, reference_column}:
            return dict(value)
        if {"inputs", "outputs"} <= keys:  # APPS/TACO's input_output object on its own
            return {"input_output": value}
    elif isinstance(value, list) and value and all(isinstance(t, dict) for t in value):
        return {"tests": value}  # stdin/stdout tests: [{"input": ..., "output": ...}]
    return {reference_column: label}
