"""Format rewards for reasoning models: ``think_format`` (all or nothing) and ``tag_count`` (partial credit).

Both read ``<think>…</think><answer>…</answer>`` with one shared tag scan. They are built against the
reward hacks seen in practice: each tag must appear exactly once (several answer blocks, nested blocks
and tag spam score 0), the answer must not be empty, and nothing but whitespace may sit around the blocks.

Chat templates of reasoning models (Qwen3, DeepSeek-R1 distills) often put ``<think>`` at the end of
the prompt, so the completion starts inside the reasoning. ``prefilled`` handles it: with ``auto`` the
prompt text is checked for a trailing opening tag; when prefilled, the completion is read as if it
began with that tag, so a completion that opens ``<think>`` again has a duplicate.

The scan is one pass of one precompiled regex per tag pair: `re` skips ahead to each ``<`` in C, so
a 7,500-character completion costs ~7 µs, half of what four ``str.count`` plus four ``str.find`` cost.
(A pattern with one capture group per tag loses that skip and runs 30 times slower.)
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple

from ..hookspecs import hookimpl
from ..params import param
from ..types import RewardSpec, Sample, Score, prompt_text


class Tags(NamedTuple):
    """The four tags, in the order they must appear."""

    open_think: str
    close_think: str
    open_answer: str
    close_answer: str


class TagScan(NamedTuple):
    """Where the tags are in a completion (as read, i.e. with a prefilled opening tag put back)."""

    text: str
    tags: Tags
    #: How often each tag occurs, in the order of `Tags`.
    counts: tuple[int, ...]
    #: First occurrence of each tag, -1 when absent.
    starts: tuple[int, ...]
    prefilled: bool


_TAG_NAME_HELP = "without angle brackets; letters, digits, '_', '-', ':' or '.'"


def _check_tag_names(think_tag: str, answer_tag: str) -> None:
    for name in (think_tag, answer_tag):
        if not name or not all(c.isalnum() or c in "_-:." for c in name):
            raise ValueError(f"tag name {name!r} is not valid: give it {_TAG_NAME_HELP}, e.g. 'think'")
    if think_tag == answer_tag:
        raise ValueError(f"think_tag and answer_tag are both {think_tag!r}; they must differ")


@dataclass(frozen=True)
class _TagParams:
    """The tag names and prefill setting both format rewards read."""

    think_tag: str = param("think", f"name of the reasoning tag, {_TAG_NAME_HELP}")
    answer_tag: str = param("answer", f"name of the answer tag, {_TAG_NAME_HELP}")
    prefilled: Literal["auto"] | bool = param(
        "auto",
        "whether the chat template already opened the think tag; auto: when the prompt text ends with it. "
        "Set true for chat prompts whose template adds the tag (it is not visible in the messages)",
    )

    def __post_init__(self) -> None:
        _check_tag_names(self.think_tag, self.answer_tag)


@dataclass(frozen=True)
class ThinkFormatParams(_TagParams):
    allow_trailing_text: bool = param(False, "accept any text after the closing answer tag")
    require_reasoning: bool = param(False, "score 0 when the think block is empty")


@dataclass(frozen=True)
class TagCountParams(_TagParams):
    allow_trailing_text: bool = param(False, "credit the closing answer tag even when text follows it")


class _Scanner(NamedTuple):
    tags: Tags
    pattern: re.Pattern[str]
    positions: dict[str, int]


@functools.lru_cache(maxsize=64)
def _scanner(think_tag: str, answer_tag: str) -> _Scanner:
    tags = Tags(f"<{think_tag}>", f"</{think_tag}>", f"<{answer_tag}>", f"</{answer_tag}>")
    pattern = re.compile(f"</?(?:{re.escape(think_tag)}|{re.escape(answer_tag)})>")
    return _Scanner(tags, pattern, {tag: i for i, tag in enumerate(tags)})


def is_prefilled(prompt: object, setting: Literal["auto"] | bool, open_think: str) -> bool:
    """Whether the completion starts inside an already opened think block."""
    if setting != "auto":
        return bool(setting)
    text = prompt_text(prompt)
    # Only strip when needed: prompts are long and rstrip copies them.
    if text and text[-1].isspace():
        text = text.rstrip()
    return text.endswith(open_think)


def scan_tags(sample: Sample, think_tag: str, answer_tag: str, prefilled: Literal["auto"] | bool) -> TagScan:
    """Count and locate the four tags in the sample's completion; shared by both format rewards."""
    tags = _scanner(think_tag, answer_tag).tags
    pre = is_prefilled(sample.prompt, prefilled, tags.open_think)
    return _scan(sample.text, pre, think_tag, answer_tag)


@functools.lru_cache(maxsize=2048)
def _scan(text: str, pre: bool, think_tag: str, answer_tag: str) -> TagScan:
    # Cached because think_format and tag_count scan the same completions one after the other (a composition
    # computes one term across a chunk, then the next); a str caches its hash, so a hit costs little.
    tags, pattern, positions = _scanner(think_tag, answer_tag)
    if pre:
        text = tags.open_think + text
    counts = [0, 0, 0, 0]
    starts = [-1, -1, -1, -1]
    for match in pattern.finditer(text):
        i = positions[match.group()]
        if not counts[i]:
            starts[i] = match.start()
        counts[i] += 1
    return TagScan(text, tags, tuple(counts), tuple(starts), pre)


def _blank(text: str, start: int, end: int | None = None) -> bool:
    return not visible(text[start:end])


# Characters that print nothing: str.strip() keeps zero-width spaces and joiners, soft hyphens, BOMs, and
# combining marks with nothing to combine with, so "<answer>\u200b</answer>" would pass as an answer.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"})


def visible(text: str) -> str:
    """``text`` stripped of white space and invisible characters at both ends ('' when nothing shows)."""
    text = text.strip()
    if text.isascii():
        return text  # the common case: ASCII strip() already removed everything invisible
    chars = [unicodedata.category(ch) not in _INVISIBLE_CATEGORIES for ch in text]
    if not any(chars):
        return ""
    return text[chars.index(True) : len(chars) - chars[::-1].index(True)]


def _count_problem(scan: TagScan) -> str | None:
    # Duplicates first: they are the reward-hacking signal worth reading in an audit.
    for tag, n in zip(scan.tags, scan.counts, strict=True):
        if n > 1:
            reopened = scan.prefilled and tag == scan.tags.open_think
            extra = " (the prompt already opened it)" if reopened else ""
            return f"{n} {tag} tags; exactly one is allowed{extra}"
    for tag, n in zip(scan.tags, scan.counts, strict=True):
        if n == 0:
            return f"no {tag} tag"
    return None


def _layout_problem(scan: TagScan, params: ThinkFormatParams) -> str | None:
    """The first misplaced piece of a text holding each tag once, or None."""
    text, tags, starts = scan.text, scan.tags, scan.starts
    for i in range(3):
        if starts[i + 1] < starts[i]:
            return f"{tags[i + 1]} comes before {tags[i]} (tags out of order or nested)"
    ends = [s + len(t) for s, t in zip(starts, tags, strict=True)]
    if not _blank(text, 0, starts[0]):
        return f"text before {tags.open_think}"
    if not _blank(text, ends[1], starts[2]):
        return f"text between {tags.close_think} and {tags.open_answer}"
    if not params.allow_trailing_text and not _blank(text, ends[3]):
        return f"text after {tags.close_answer}"
    return None


def _think_format(sample: Sample, params: ThinkFormatParams) -> Score:
    scan = scan_tags(sample, params.think_tag, params.answer_tag, params.prefilled)
    problem = _count_problem(scan) or _layout_problem(scan, params)
    if problem is not None:
        return Score.ok(0.0, problem, prefilled=scan.prefilled)
    text, tags, starts = scan.text, scan.tags, scan.starts
    think = visible(text[starts[0] + len(tags.open_think) : starts[1]])
    answer = visible(text[starts[2] + len(tags.open_answer) : starts[3]])
    details = {"answer_chars": len(answer), "think_chars": len(think), "prefilled": scan.prefilled}
    if not answer:
        return Score.ok(0.0, f"empty {tags.open_answer} block", **details)
    if params.require_reasoning and not think:
        return Score.ok(0.0, f"empty {tags.open_think} block and require_reasoning is on", **details)
    reason = f"well formed: {len(think)} chars of reasoning, {len(answer)} chars of answer"
    return Score.ok(1.0, reason, **details)


def _tag_count(sample: Sample, params: TagCountParams) -> Score:
    scan = scan_tags(sample, params.think_tag, params.answer_tag, params.prefilled)
    text, tags, counts, starts = scan.text, scan.tags, scan.counts, scan.starts
    for tag, n in zip(tags, counts, strict=True):
        if n > 1:
            return Score.ok(0.0, f"{n} {tag} tags; each tag may appear once", prefilled=scan.prefilled)
    placed = []
    problems = []
    latest = -1  # start of the latest tag present so far: each tag must follow every earlier one
    for i, tag in enumerate(tags):
        if counts[i] == 0:
            problems.append(f"no {tag}")
            continue
        ok = starts[i] > latest
        if not ok:
            problems.append(f"{tag} is out of order")
        elif i == 0 and not _blank(text, 0, starts[0]):
            ok = False
            problems.append(f"{tag} is not at the start")
        elif i == 3 and not params.allow_trailing_text and not _blank(text, starts[3] + len(tag)):
            ok = False
            problems.append(f"{tag} is not at the end")
        elif i == 3 and counts[2] and _blank(text, starts[2] + len(tags.open_answer), starts[3]):
            ok = False  # full credit for an empty answer block would reward format without content
            problems.append(f"the {tags.open_answer} block is empty")
        if ok:
            placed.append(tag)
        latest = max(latest, starts[i])
    reason = f"{len(placed)} of 4 tags well placed" + (": " + "; ".join(problems) if problems else "")
    return Score.ok(0.25 * len(placed), reason, placed=placed, prefilled=scan.prefilled)


@hookimpl
def register_rewards(register: Callable[[RewardSpec], None]) -> None:
    register(
        RewardSpec(
            name="think_format",
            description="1 when the completion is exactly <think>…</think> then a non-empty "
            "<answer>…</answer>, each tag once; else 0 with the first problem as reason. "
            "Handles templates that prefill <think>.",
            params=ThinkFormatParams,
            range=(0.0, 1.0),
            fn=_think_format,
            timeout_s=5.0,
            family="format",
        )
    )
    register(
        RewardSpec(
            name="tag_count",
            description="0.25 per well-placed tag (<think> at the start, then </think>, <answer>, "
            "</answer> at the end); 0 when any tag appears more than once.",
            params=TagCountParams,
            range=(0.0, 1.0),
            fn=_tag_count,
            timeout_s=5.0,
            family="format",
        )
    )
