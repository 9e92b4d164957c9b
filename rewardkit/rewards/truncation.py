"""``truncation``: a penalty for a generation that stopped at the length limit instead of ending itself,
as open-instruct's non-stop penalty and TRL's ``mask_truncated_completions`` treat it.

The evidence, in order (the first that decides wins; ``source`` in the details says which):

1. ``finish_reason`` / ``stop_reason`` columns (vLLM, OpenAI, Anthropic): ``length``, ``max_tokens`` or
   ``max_length`` mean truncated; ``stop``, ``eos``, ``end_turn``, ``tool_calls``, ``stop_sequence`` (or a
   vLLM ``stop_reason`` naming the stop token or string) mean complete;
2. ``completion_ids`` (TRL passes them; they end with the EOS token when the model emitted one, since TRL
   keeps the tokens up to and including the first EOS): with ``eos_token_id`` set, truncated when the last id
   is not an EOS id; with only ``max_length`` set, truncated when the completion has ``max_length`` tokens;
3. with ``heuristics`` (default on), the text: an unclosed ``<think>`` (also one the chat template opened in
   the prompt), ``<answer>`` or ``<tool_call>``, or an odd number of code fences (at the start of a line).
   A tag merely mentioned in prose ("the <think> tag") reads as unclosed: give finish_reason or token ids
   when completions talk about tags.

Value 0 when complete, ``-penalty`` when truncated. Without any evidence (no column, no ids, heuristics
off) the reward does not apply.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..hookspecs import hookimpl
from ..params import param
from ..types import RewardSpec, Sample, Score, prompt_text

__all__ = ["TruncationParams", "score_truncation", "truncated_by_text"]

TRUNCATED = frozenset({"length", "max_tokens", "max_length", "max_new_tokens", "truncated"})
COMPLETE = frozenset({"stop", "eos", "eos_token", "end_turn", "tool_calls", "function_call", "stop_sequence",
                      "tool_use", "content_filter"})  # fmt: skip
_FENCE = re.compile(r"^[ \t]*```", re.M)
_PAIRS = (("<think>", "</think>"), ("<answer>", "</answer>"), ("<tool_call>", "</tool_call>"))


@dataclass(frozen=True)
class TruncationParams:
    penalty: float = param(1.0, "value -penalty for a truncated completion", ge=0)
    finish_reason_columns: tuple[str, ...] = param(
        ("finish_reason", "stop_reason"), "columns read for the stop reason, in order"
    )
    eos_token_id: int | tuple[int, ...] | None = param(
        None, "EOS token id(s): completion_ids not ending in one are truncated"
    )
    max_length: int | None = param(None, "the generation limit (max_completion_length), in tokens", ge=1)
    heuristics: bool = param(True, "without a stop reason or token ids, read unclosed tags and code fences")


Evidence = tuple[bool, str, str]  # (truncated, why, source)


def _from_reason(sample: Sample, columns: Sequence[str]) -> Evidence | None:
    for column in columns:
        value = sample.columns.get(column)
        if value is None or value == "":
            continue
        text = str(value).strip().lower()
        if text in TRUNCATED:
            return True, f"{column} {value!r}", "finish_reason"
        if text in COMPLETE or column == "stop_reason":  # vLLM's stop_reason: the stop token or string hit
            return False, f"{column} {value!r}", "finish_reason"
    return None


def _from_ids(sample: Sample, params: TruncationParams) -> Evidence | None:
    ids = sample.columns.get("completion_ids")
    if not isinstance(ids, Sequence) or isinstance(ids, (str, bytes)):
        return None
    eos = params.eos_token_id
    if eos is not None:
        eos_ids = {eos} if isinstance(eos, int) else set(eos)
        ended = bool(ids) and ids[-1] in eos_ids
        why = f"completion_ids {'end' if ended else 'do not end'} with EOS ({len(ids)} tokens)"
        return not ended, why, "completion_ids"
    if params.max_length is not None:
        full = len(ids) >= params.max_length
        return full, f"{len(ids)} completion tokens of max_length {params.max_length}", "completion_ids"
    return None


def truncated_by_text(text: str, prefilled_think: bool = False) -> str | None:
    """What in the text shows it was cut off (an unclosed tag, an open code fence), or None."""
    if prefilled_think and "<think>" not in text:
        text = "<think>" + text
    for opening, closing in _PAIRS:
        if text.rfind(opening) > text.rfind(closing):  # the last one opened is never closed
            return f"{opening} is never closed"
    # Only fences that open a line count: "wrap code in ``` fences" mid-sentence is prose, not a fence.
    if len(_FENCE.findall(text)) % 2:
        return "a code fence is never closed"
    return None


def score_truncation(sample: Sample, params: TruncationParams) -> Score:
    found = _from_reason(sample, params.finish_reason_columns) or _from_ids(sample, params)
    if found is None and params.heuristics:
        prefilled = prompt_text(sample.prompt).rstrip().endswith("<think>")
        why = truncated_by_text(sample.text, prefilled)
        found = (why is not None, why or "every tag and code fence is closed", "text")
    elif found is None:
        return Score.not_applicable("no finish_reason, no completion_ids with eos_token_id/max_length, heuristics off")
    truncated, why, source = found
    value = -params.penalty + 0.0 if truncated else 0.0
    return Score.ok(value, ("truncated: " if truncated else "complete: ") + why, truncated=truncated, source=source)


def _range(p: TruncationParams) -> tuple[float, float]:
    return (-p.penalty, 0.0)


def _validate(params: TruncationParams) -> None:
    eos: Any = params.eos_token_id
    if isinstance(eos, tuple) and not eos:
        raise ConfigError("truncation: eos_token_id is an empty list; give the tokenizer's eos_token_id, or null")
    if params.max_length is not None and params.max_length < 2:
        raise ConfigError("truncation: max_length must be the generation limit (max_completion_length), >= 2")


@hookimpl
def register_rewards(register: Callable[[RewardSpec], None]) -> None:
    register(
        RewardSpec(
            name="truncation",
            description="Non-stop penalty: -penalty when the generation hit the length limit (finish_reason "
            "'length', completion_ids without EOS, else unclosed tags or code fences), 0 otherwise.",
            params=TruncationParams, range=_range, fn=score_truncation, timeout_s=5.0,
            family="truncation", validate=_validate, cost="cheap",
        )
    )  # fmt: skip
