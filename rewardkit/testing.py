"""Hypothesis strategies and property checks for reward authors (built-in or plugin).

    from hypothesis import given, strategies as st
    from rewardkit import registry
    from rewardkit.testing import check_reward_properties, samples

    @given(st.lists(samples(), min_size=1, max_size=8))
    def test_my_reward(batch):
        check_reward_properties(registry.get("my_reward"), {"strict": True}, batch)

Hypothesis is a test dependency (``rewardkit[test]``), so only this module imports it and nothing in
rewardkit imports this module.
"""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

from .params import build_params
from .types import RewardSpec, Sample, Score, Status

__all__ = ["chat_completions", "check_reward_properties", "completions", "prompts", "samples"]

_WORDS = ("the", "answer", "is", "so", "x", "=", "2", "42", "\\frac{1}{2}", "wait", "Therefore", "é", "∑")
_SPACE = st.sampled_from(("", " ", "\n", "\r\n", "\n\n", "  \n", "\t"))


@st.composite
def _prose(draw: st.DrawFn, max_words: int = 30, min_words: int = 0) -> str:
    """Text built from words that look like model output, with any whitespace, sometimes raw unicode."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(min_size=min_words, max_size=60))
    words = draw(st.lists(st.sampled_from(_WORDS), min_size=min_words, max_size=max_words))
    seps = draw(st.lists(st.sampled_from((" ", " ", "\n", ", ")), min_size=len(words), max_size=len(words)))
    return "".join(w + s for w, s in zip(words, seps, strict=True)).strip()


@st.composite
def completions(draw: st.DrawFn, think_tag: str = "think", answer_tag: str = "answer") -> str:
    """Completion text: well formed ``<think>…</think><answer>…</answer>`` with newline and spacing
    variants, the same broken in the ways models break it (missing, duplicated, nested or reordered tags,
    empty answer, trailing text), or plain prose."""
    tags = [f"<{think_tag}>", f"</{think_tag}>", f"<{answer_tag}>", f"</{answer_tag}>"]
    kind = draw(st.sampled_from(("well_formed", "broken", "prose")))
    if kind == "prose":
        return draw(_prose())
    think, answer = draw(_prose()), draw(_prose(max_words=4, min_words=1))
    parts = [tags[0], think, tags[1], tags[2], answer, tags[3]]
    if kind == "broken":
        parts = draw(_broken(parts, tags))
    spaces = draw(st.lists(_SPACE, min_size=len(parts) + 1, max_size=len(parts) + 1))
    return spaces[0] + "".join(p + s for p, s in zip(parts, spaces[1:], strict=True))


@st.composite
def _broken(draw: st.DrawFn, parts: list[str], tags: list[str]) -> list[str]:
    how = draw(st.sampled_from(("drop", "duplicate", "swap", "trailing", "leading", "empty", "insert")))
    parts = list(parts)
    if how == "drop":
        del parts[draw(st.sampled_from((0, 2, 3, 5)))]
    elif how == "duplicate":
        parts.extend(parts[2:6] if draw(st.booleans()) else parts[:3])
    elif how == "swap":
        i, j = draw(st.sampled_from(((0, 2), (2, 5), (1, 3), (0, 5))))
        parts[i], parts[j] = parts[j], parts[i]
    elif how == "trailing":
        parts.append(draw(_prose(max_words=5)) or "junk")
    elif how == "leading":
        parts.insert(0, draw(_prose(max_words=5)) or "junk")
    elif how == "empty":
        parts[4] = draw(st.sampled_from(("", " ", "\n")))
    else:
        parts.insert(draw(st.integers(0, len(parts))), draw(st.sampled_from(tags)))
    return parts


@st.composite
def chat_completions(
    draw: st.DrawFn, think_tag: str = "think", answer_tag: str = "answer"
) -> list[dict[str, Any]]:
    """A completion in TRL's conversational format: ``[{"role": "assistant", "content": ...}]``."""
    return [{"role": "assistant", "content": draw(completions(think_tag, answer_tag))}]


@st.composite
def prompts(draw: st.DrawFn, think_tag: str = "think") -> Any:
    """A prompt: None, text (sometimes ending with an opened think tag, as reasoning templates prefill
    it), or chat messages."""
    question = draw(_prose(max_words=12)) or "What is 6 * 7?"
    kind = draw(st.sampled_from(("none", "text", "prefilled", "chat")))
    if kind == "none":
        return None
    if kind == "text":
        return question
    if kind == "prefilled":
        return f"<|user|>{question}<|assistant|><{think_tag}>" + draw(_SPACE)
    return [{"role": "system", "content": "Reason, then answer."}, {"role": "user", "content": question}]


@st.composite
def samples(
    draw: st.DrawFn,
    completion: st.SearchStrategy[Any] | None = None,
    prompt: st.SearchStrategy[Any] | None = None,
    reference: st.SearchStrategy[Any] | None = None,
    columns: st.SearchStrategy[Mapping[str, Any]] | None = None,
    terms: st.SearchStrategy[Mapping[str, Score]] | None = None,
) -> Sample:
    """A `Sample`; each part is drawn from the strategy given, or from a default that covers plain and
    chat completions, prefilled prompts, rows with and without ``completion_ids`` and gold answers."""
    comp = draw(completion if completion is not None else st.one_of(completions(), chat_completions()))
    text = comp if isinstance(comp, str) else "".join(str(m.get("content", "")) for m in comp)
    if columns is None:
        # Roughly one token per 4 characters, like a real tokenizer on English text.
        ids = draw(st.lists(st.integers(0, 50_000), min_size=len(text) // 4, max_size=len(text) // 4 + 2))
        columns = st.sampled_from(({}, {"completion_ids": ids}))
    return Sample(
        completion=comp,
        prompt=draw(prompt if prompt is not None else prompts()),
        reference=draw(reference if reference is not None else st.one_of(st.none(), _prose(max_words=3))),
        columns=draw(columns),
        terms=draw(terms if terms is not None else st.just({})),
    )


def scores(spec: RewardSpec, params: Any, batch: Sequence[Sample]) -> list[Score]:
    """Call a reward on a batch in process, through ``fn`` or ``batch_fn``, whichever it defines."""
    if spec.batch_fn is not None:
        return list(spec.batch_fn(list(batch), params))
    assert spec.fn is not None
    return [spec.fn(s, params) for s in batch]


def check_reward_properties(spec: RewardSpec, params: Any, batch: Sequence[Sample]) -> list[Score]:
    """Assert the properties every reward must have on ``batch``, and return its scores.

    ``params`` is the params instance or a mapping (validated with `build_params`). Checked: each result is
    a `Score`; status and value agree (ok carries a finite value, error and not_applicable none); values lie
    in the declared range; scores are deterministic and independent of batch order and batch size;
    scores survive pickling (workers send them back) and serialize to JSON (the output files).
    """
    if params is None or isinstance(params, Mapping):
        params = build_params(spec.name, spec.params, params)
    lo, hi = spec.output_range(params)
    first = scores(spec, params, batch)
    assert len(first) == len(batch), f"{spec.name}: {len(first)} scores for {len(batch)} samples"
    for sample, score in zip(batch, first, strict=True):
        _check_one(spec, sample, score, lo, hi)
    again = scores(spec, params, batch)
    assert again == first, f"{spec.name}: not deterministic on the same batch"
    backwards = scores(spec, params, list(reversed(batch)))[::-1]
    assert backwards == first, f"{spec.name}: scores depend on the order of the batch"
    one_by_one = [scores(spec, params, [s])[0] for s in batch]
    assert one_by_one == first, f"{spec.name}: batch scores differ from scoring each sample alone"
    return first


def _check_one(spec: RewardSpec, sample: Sample, score: Score, lo: float, hi: float) -> None:
    where = f"{spec.name} on {sample.completion!r:.200}"
    assert isinstance(score, Score), f"{where}: returned {type(score).__name__}, not a Score"
    if score.status is Status.OK:
        assert score.value is not None, f"{where}: status ok without a value"
    if score.status in (Status.ERROR, Status.NOT_APPLICABLE):
        assert score.value is None, f"{where}: status {score.status.value} with value {score.value}"
    if score.value is not None:
        assert math.isfinite(score.value), f"{where}: value {score.value} is not finite"
        assert lo - 1e-9 <= score.value <= hi + 1e-9, f"{where}: value {score.value} outside [{lo}, {hi}]"
    assert isinstance(score.reason, str), f"{where}: reason is {type(score.reason).__name__}, not str"
    assert pickle.loads(pickle.dumps(score)) == score, f"{where}: score does not survive pickling"
    json.dumps(score.to_json())
