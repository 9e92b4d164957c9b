"""think_format and tag_count: tables of real completions, then hypothesis properties."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from rewardkit import ParamError, Sample, Score, registry
from rewardkit.params import build_params
from rewardkit.rewards.format import is_prefilled, scan_tags
from rewardkit.testing import chat_completions, check_reward_properties, completions, samples

PREFILL = "<|im_start|>user\nWhat is 6*7?<|im_end|>\n<|im_start|>assistant\n<think>\n"


def score(name: str, completion: Any, prompt: Any = None, **params: Any) -> Score:
    spec = registry.get(name)
    assert spec.fn is not None
    return spec.fn(Sample(completion, prompt=prompt), build_params(name, spec.params, params))


# completion, prompt, params, expected value, words the reason must contain
THINK_FORMAT_CASES = [
    # the canonical format, no whitespace at all
    ("<think>6*7=42</think><answer>42</answer>", None, {}, 1.0, "well formed"),
    # open-r1's layout: newline after each tag
    ("<think>\n6*7=42\n</think>\n<answer>\n42\n</answer>", None, {}, 1.0, "well formed"),
    # Windows newlines everywhere
    ("<think>\r\n6*7\r\n</think>\r\n<answer>\r\n42\r\n</answer>\r\n", None, {}, 1.0, "well formed"),
    # spaces and blank lines around every tag, leading and trailing whitespace
    ("  \n<think> a </think>  \n\n  <answer> 42 </answer> \n ", None, {}, 1.0, "well formed"),
    # multi-line reasoning with markdown inside the think block
    ("<think>\n## Plan\n- multiply\n\n```\n6*7\n```\n</think>\n<answer>42</answer>", None, {}, 1.0, ""),
    # empty think is fine by default ...
    ("<think></think><answer>42</answer>", None, {}, 1.0, "0 chars of reasoning"),
    # ... but not with require_reasoning
    ("<think> \n </think><answer>42</answer>", None, {"require_reasoning": True}, 0.0, "empty <think>"),
    # template prefilled <think>: the completion starts inside the reasoning
    ("6*7=42\n</think>\n<answer>42</answer>", PREFILL, {}, 1.0, "well formed"),
    # prefilled, and the model opens <think> again: a duplicate
    ("<think>6*7</think><answer>42</answer>", PREFILL, {}, 0.0, "2 <think> tags"),
    # prefill given explicitly (chat prompts do not show the template's prefill)
    ("6*7\n</think><answer>42</answer>", [{"role": "user", "content": "6*7?"}], {"prefilled": True}, 1.0, ""),
    # prefilled: false overrides auto detection, so the missing <think> counts
    ("6*7</think><answer>42</answer>", PREFILL, {"prefilled": False}, 0.0, "no <think> tag"),
    # a prompt mentioning <think> mid-text is not a prefill
    ("6*7</think><answer>42</answer>", "Use <think> tags. Q: 6*7?", {}, 0.0, "no <think> tag"),
    # two answer blocks (hedging): 0
    ("<think>a</think><answer>41</answer><answer>42</answer>", None, {}, 0.0, "2 <answer> tags"),
    # two full think/answer rounds
    ("<think>a</think><answer>1</answer><think>b</think><answer>2</answer>", None, {}, 0.0, "2 <think> tags"),
    # tag spam
    ("<think><think><think>a</think><answer>42</answer>", None, {}, 0.0, "3 <think> tags"),
    # answer nested inside think
    ("<think>a <answer>42</answer> b</think>", None, {}, 0.0, "out of order or nested"),
    # think nested inside answer
    ("<answer><think>a</think>42</answer>", None, {}, 0.0, "out of order or nested"),
    # answer block before the think block
    ("<answer>42</answer><think>a</think>", None, {}, 0.0, "out of order"),
    # closing before opening
    ("</think>a<think><answer>42</answer>", None, {}, 0.0, "</think> comes before <think>"),
    # empty answer
    ("<think>6*7=42</think><answer></answer>", None, {}, 0.0, "empty <answer> block"),
    # whitespace-only answer
    ("<think>6*7=42</think><answer> \r\n </answer>", None, {}, 0.0, "empty <answer> block"),
    # an answer of invisible characters only (zero-width space, joiner, BOM): str.strip() keeps them
    ("<think>6*7=42</think><answer>\u200b</answer>", None, {}, 0.0, "empty <answer> block"),
    ("<think>6*7=42</think><answer>\u200d\ufeff\u00ad</answer>", None, {}, 0.0, "empty <answer> block"),
    # invisible characters around a real answer do not hide it
    ("<think>6*7=42</think><answer>\u200b42\u200b</answer>", None, {}, 1.0, "well formed"),
    # a non-ASCII answer is an answer
    ("<think>a</think><answer>é</answer>", None, {}, 1.0, "well formed"),
    # the answer only inside think, no answer block
    ("<think>the answer is 42</think>", None, {}, 0.0, "no <answer> tag"),
    # no tags at all
    ("The answer is 42.", None, {}, 0.0, "no <think> tag"),
    # missing closing answer tag (truncated generation)
    ("<think>a</think><answer>42", None, {}, 0.0, "no </answer> tag"),
    # trailing junk after the answer
    ("<think>a</think><answer>42</answer> I hope this helps!", None, {}, 0.0, "text after </answer>"),
    # trailing junk allowed on request
    ("<think>a</think><answer>42</answer> I hope this helps!", None, {"allow_trailing_text": True}, 1.0, ""),
    # preamble before <think>
    ("Sure! <think>a</think><answer>42</answer>", None, {}, 0.0, "text before <think>"),
    # text between the blocks
    ("<think>a</think> so: <answer>42</answer>", None, {}, 0.0, "text between </think> and <answer>"),
    # tags are case-sensitive
    ("<THINK>a</THINK><ANSWER>42</ANSWER>", None, {}, 0.0, "no <think> tag"),
    # custom tag names
    ("<reasoning>a</reasoning><solution>42</solution>", None,
     {"think_tag": "reasoning", "answer_tag": "solution"}, 1.0, ""),
    # default tags do not count when custom ones are asked for
    ("<think>a</think><answer>42</answer>", None, {"think_tag": "reasoning"}, 0.0, "no <reasoning> tag"),
    # conversational completion (TRL)
    ([{"role": "assistant", "content": "<think>a</think><answer>42</answer>"}], None, {}, 1.0, ""),
]


@pytest.mark.parametrize(("completion", "prompt", "params", "expected", "reason"), THINK_FORMAT_CASES)
def test_think_format_table(
    completion: Any, prompt: Any, params: dict[str, Any], expected: float, reason: str
) -> None:
    result = score("think_format", completion, prompt, **params)
    assert result.value == expected, result.reason
    assert reason in result.reason


def test_think_format_details_give_lengths():
    result = score("think_format", "<think> abc </think><answer> 42 </answer>")
    assert result.details["answer_chars"] == 2
    assert result.details["think_chars"] == 3
    assert result.details["prefilled"] is False


# completion, prompt, params, expected value
TAG_COUNT_CASES = [
    # all four tags well placed
    ("<think>a</think>\n<answer>42</answer>\n", None, {}, 1.0),
    # prefilled <think> counts as placed
    ("a</think><answer>42</answer>", PREFILL, {}, 1.0),
    # no tags: nothing
    ("42", None, {}, 0.0),
    # answer block only: its two tags
    ("<answer>42</answer>", None, {}, 0.5),
    # think block only: its two tags
    ("<think>a</think>", None, {}, 0.5),
    # text after </answer>: that tag loses its quarter
    ("<think>a</think><answer>42</answer> bye", None, {}, 0.75),
    # ... unless trailing text is allowed
    ("<think>a</think><answer>42</answer> bye", None, {"allow_trailing_text": True}, 1.0),
    # text before <think>: that tag loses its quarter
    ("hi <think>a</think><answer>42</answer>", None, {}, 0.75),
    # nested answer inside think: only the think tags are placed
    ("<think><answer>42</answer></think>", None, {}, 0.5),
    # any tag twice: 0 overall, however well placed the rest is
    ("<think>a</think><answer>1</answer><answer>2</answer>", None, {}, 0.0),
    # tag spam cannot farm credit
    ("<think></think>" * 5 + "<answer>42</answer>", None, {}, 0.0),
    # prefilled and reopened: duplicate <think>
    ("<think>a</think><answer>42</answer>", PREFILL, {}, 0.0),
    # truncated: closing answer tag missing
    ("<think>a</think><answer>42", None, {}, 0.75),
    # an empty answer block loses the closing tag's quarter: full credit needs an answer
    ("<think>a</think>\n<answer></answer>", None, {}, 0.75),
    ("<think>a</think>\n<answer> \n</answer>", None, {}, 0.75),
    ("a</think>\n<answer>\u200b</answer>", PREFILL, {}, 0.75),
]


@pytest.mark.parametrize(("completion", "prompt", "params", "expected"), TAG_COUNT_CASES)
def test_tag_count_table(completion: Any, prompt: Any, params: dict[str, Any], expected: float):
    result = score("tag_count", completion, prompt, **params)
    assert result.value == expected, result.reason


def test_tag_count_reason_names_the_problems():
    result = score("tag_count", "<think>a</think><answer>42</answer> bye")
    assert result.reason == "3 of 4 tags well placed: </answer> is not at the end"
    assert result.details["placed"] == ["<think>", "</think>", "<answer>"]


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        (PREFILL, True),  # string prompt ending with the tag and a newline
        ("Q?<think>", True),  # no trailing whitespace
        ("Q? <think> then answer", False),  # the tag mid-prompt
        (None, False),  # no prompt
        ([{"role": "assistant", "content": "<think>\n"}], True),  # chat prompt with an assistant prefill
        ([{"role": "user", "content": "Q?"}], False),  # plain chat prompt
    ],
)
def test_prefill_auto_detection(prompt: Any, expected: bool):
    assert is_prefilled(prompt, "auto", "<think>") is expected


@pytest.mark.parametrize(
    "params",
    [
        {"think_tag": "answer"},  # both tags named answer
        {"answer_tag": "<answer>"},  # angle brackets given
        {"think_tag": ""},  # empty
        {"prefilled": "yes"},  # not auto, true or false
    ],
)
@pytest.mark.parametrize("name", ["think_format", "tag_count"])
def test_bad_params_are_rejected(name: str, params: dict[str, Any]):
    with pytest.raises(ParamError):
        build_params(name, registry.get(name).params, params)


def test_registry_describes_both_rewards():
    for name in ("think_format", "tag_count"):
        spec = registry.get(name)
        assert spec.plugin == "rewardkit.rewards.format"
        assert spec.output_range(build_params(name, spec.params, {})) == (0.0, 1.0)


# ------------------------------------------------------------------------------------------ properties


@pytest.mark.parametrize("name", ["think_format", "tag_count"])
@given(
    batch=st.lists(samples(), min_size=1, max_size=6),
    trailing=st.booleans(),
    prefilled=st.sampled_from(["auto", True, False]),
    reasoning=st.booleans(),
)
def test_properties(name: str, batch: list[Sample], trailing: bool, prefilled: Any, reasoning: bool):
    params = {"allow_trailing_text": trailing, "prefilled": prefilled}
    if name == "think_format":
        params["require_reasoning"] = reasoning
    scores = check_reward_properties(registry.get(name), params, batch)
    assert all(s.value is not None and s.value in (0.0, 0.25, 0.5, 0.75, 1.0) for s in scores)
    if name == "think_format":
        assert all(s.value in (0.0, 1.0) for s in scores)


_PAD = st.sampled_from(["", " ", "\n", "\r\n\t "])


@given(text=completions(), left=_PAD, right=_PAD)
def test_surrounding_whitespace_changes_nothing(text: str, left: str, right: str):
    for name in ("think_format", "tag_count"):
        assert score(name, left + text + right).value == score(name, text).value


@given(text=completions())
def test_newline_style_changes_nothing(text: str):
    crlf = text.replace("\r\n", "\n").replace("\n", "\r\n")
    for name in ("think_format", "tag_count"):
        assert score(name, crlf).value == score(name, text.replace("\r\n", "\n")).value


@given(chat=chat_completions())
def test_chat_and_plain_completions_agree(chat: list[dict[str, Any]]):
    for name in ("think_format", "tag_count"):
        assert score(name, chat) == score(name, chat[0]["content"])


@given(text=completions())
def test_prefill_equals_putting_the_tag_back(text: str):
    """A prefilled completion scores as the same completion with the tag written out."""
    body = text.lstrip()
    if not body.startswith("<think>"):
        body = "<think>" + body
    without = body[len("<think>") :]
    for name in ("think_format", "tag_count"):
        assert score(name, without, prompt=PREFILL).value == score(name, body).value


@given(text=completions())
def test_think_format_one_implies_tag_count_one(text: str):
    if score("think_format", text).value == 1.0:
        assert score("tag_count", text).value == 1.0


@given(text=completions(), extra=st.sampled_from(["<think>", "</think>", "<answer>", "</answer>"]))
def test_an_extra_tag_anywhere_scores_zero(text: str, extra: str):
    """Resistance to tag spam: adding any tag to a completion that holds it already gives 0."""
    if extra not in text:
        text = text + extra
    spammed = text + " " + extra
    for name in ("think_format", "tag_count"):
        assert score(name, spammed).value == 0.0


@given(text=completions())
def test_scan_counts_match_str_count(text: str):
    scan = scan_tags(Sample(text), "think", "answer", False)
    assert scan.counts == tuple(text.count(t) for t in ("<think>", "</think>", "<answer>", "</answer>"))


@given(text=completions())
def test_renaming_tags_in_text_and_params_changes_nothing(text: str):
    assume("reasoning>" not in text and "solution>" not in text)
    renamed = text.replace("think>", "reasoning>").replace("answer>", "solution>")
    for name in ("think_format", "tag_count"):
        custom = score(name, renamed, think_tag="reasoning", answer_tag="solution")
        assert custom.value == score(name, text).value
        assert custom.reason == score(name, text).reason.replace("think>", "reasoning>").replace(
            "answer>", "solution>"
        )


@pytest.mark.parametrize("name", ["think_format", "tag_count"])
def test_spec_and_params_pickle(name: str):
    """Worker processes receive the spec's function and the params by pickle."""
    spec = registry.get(name)
    params = build_params(name, spec.params, {"prefilled": True, "think_tag": "reasoning"})
    spec2, params2 = pickle.loads(pickle.dumps((spec, params)))
    sample = Sample("a</reasoning><answer>1</answer>")
    assert spec2.fn(sample, params2) == spec.fn(sample, params)
