"""The data model: what a reward reads (`Sample`), what it returns (`Score`), and how it is declared (`RewardSpec`).

Policy carried by these types (see README, "Scores and failures"):
- a completion's own fault scores low with status ``ok`` (or ``timeout`` with the low value);
- an infrastructure fault (sandbox down, judge unreachable, a reward crashing) is ``value=None`` with
  status ``error``: masked, counted, never silently turned into 0 or 1;
- a reward that does not apply to a row (no gold answer, another task type) is ``None`` with status
  ``not_applicable`` and is left out of weighted sums.
"""

from __future__ import annotations

import contextlib
import enum
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: A chat message as OpenAI and TRL write it: ``{"role": ..., "content": ...}``.
Message = Mapping[str, Any]
#: A completion is plain text or a list of chat messages (TRL's "conversational" format).
Completion = str | Sequence[Message]


class Status(str, enum.Enum):
    """How a score came about; the string values appear in output files."""

    OK = "ok"
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"
    TIMEOUT = "timeout"
    #: The reward itself raised or broke its contract: a bug to fix, masked like an outage but counted apart.
    BUG = "bug"


#: Statuses whose null value masks a total: something failed, so the number is unknown (never a 0 or a 1).
FAILED_STATUSES = frozenset({Status.ERROR, Status.TIMEOUT, Status.BUG})


def message_text(content: Any) -> str:
    """Text of a message's ``content``: a string, or OpenAI-style parts ``[{"type": "text", "text": ...}]``."""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return "".join(
            part.get("text", "") for part in content if isinstance(part, Mapping) and part.get("type") == "text"
        )
    return "" if content is None else str(content)


def completion_text(completion: Completion) -> str:
    """The text a reward grades: the string itself, or the assistant's messages of a chat completion joined.

    TRL passes ``[{"role": "assistant", "content": ...}]``; a multi-turn completion may hold several
    assistant messages (tool use), and the answer is spread over them, so all are joined in order. When TRL
    parses a response template or tools (trl 1.16), the reasoning arrives in ``reasoning_content`` and calls
    in ``tool_calls``, not in ``content``: the reasoning is put back as ``<think>...</think>`` before the
    content and each call after it in the Hermes form ``<tool_call>{"name": ..., "arguments": ...}</tool_call>``,
    so format and answer rewards see what the model wrote.
    """
    if isinstance(completion, str):
        return completion
    parts = [assistant_text(m) for m in completion if m.get("role", "assistant") == "assistant"]
    return "\n".join(parts)


def assistant_text(message: Message) -> str:
    """One assistant message as text: reasoning, content and tool calls, in the order the model wrote them."""
    text = message_text(message.get("content"))
    reasoning = message.get("reasoning_content", message.get("reasoning"))
    if isinstance(reasoning, str) and reasoning.strip() and "<think>" not in text:
        text = f"<think>\n{reasoning.strip()}\n</think>\n{text}"
    calls = message.get("tool_calls")
    if isinstance(calls, Sequence) and not isinstance(calls, str):
        rendered = [_tool_call_text(c) for c in calls if isinstance(c, Mapping)]
        text = "\n".join([text, *rendered]) if text else "\n".join(rendered)
    return text


def _tool_call_text(call: Mapping[str, Any]) -> str:
    function = call.get("function", call)
    name = function.get("name") if isinstance(function, Mapping) else None
    arguments = function.get("arguments") if isinstance(function, Mapping) else None
    if isinstance(arguments, str):
        with contextlib.suppress(ValueError):  # arguments a model wrote as broken JSON stay a string
            arguments = json.loads(arguments)
    try:
        body = json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        body = json.dumps({"name": str(name), "arguments": str(arguments)}, ensure_ascii=False)
    return f"<tool_call>{body}</tool_call>"


def prompt_text(prompt: Any) -> str:
    """The prompt as text; for a chat prompt, its last message (where a template's prefill would sit)."""
    if prompt is None:
        return ""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Sequence) and prompt and isinstance(prompt[-1], Mapping):
        return message_text(prompt[-1].get("content"))
    return str(prompt)


@dataclass(frozen=True, slots=True)
class Sample:
    """One completion to grade, with everything its row carries.

    ``reference`` is the gold answer, read from the configured column (``answer`` by default);
    ``columns`` holds every other column of the row (``tests``, ``task``, ``completion_ids``, ...);
    ``terms`` holds the scores of terms composed before this one (for rewards such as ``cosine_length``
    that depend on another term's verdict).
    """

    completion: Completion
    prompt: Any = None
    reference: Any = None
    columns: Mapping[str, Any] = field(default_factory=dict)
    terms: Mapping[str, Score] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return completion_text(self.completion)

    def with_terms(self, terms: Mapping[str, Score]) -> Sample:
        return Sample(self.completion, self.prompt, self.reference, self.columns, terms)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled by the thousand per second to worker processes: a plain tuple is 3-5x cheaper than the
        # state dict a slots dataclass builds field by field.
        return (Sample, (self.completion, self.prompt, self.reference, self.columns, self.terms))


@dataclass(frozen=True, slots=True)
class Score:
    """A reward's verdict on one sample. Build it with the class methods, which keep the policy straight."""

    value: float | None
    status: Status = Status.OK
    reason: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    def __reduce__(self) -> tuple[Any, ...]:
        # As for Sample: every result crosses back from a worker process; rebuilt through __init__, so a
        # pickled Score is checked by __post_init__ like any other.
        return (Score, (self.value, self.status, self.reason, self.details))

    def __post_init__(self) -> None:
        if self.value is not None and not math.isfinite(self.value):
            raise ValueError(f"a score's value must be finite or None, got {self.value!r}")
        if type(self.status) is not Status:
            raise TypeError(f"a score's status must be a rewardkit.Status, got {self.status!r}")
        if self.status in (Status.ERROR, Status.NOT_APPLICABLE, Status.BUG) and self.value is not None:
            raise ValueError(f"a score with status {self.status.value!r} carries no value")
        if self.status is Status.OK and self.value is None:
            # An "ok" verdict without a number would mask totals without counting as a failure anywhere.
            raise ValueError("a score with status 'ok' needs a value; use Score.error or Score.not_applicable")

    @classmethod
    def ok(cls, value: float, reason: str = "", **details: Any) -> Score:
        return cls(float(value), Status.OK, reason, details)

    @classmethod
    def not_applicable(cls, reason: str, **details: Any) -> Score:
        return cls(None, Status.NOT_APPLICABLE, reason, details)

    @classmethod
    def error(cls, reason: str, **details: Any) -> Score:
        return cls(None, Status.ERROR, reason, details)

    @classmethod
    def bug(cls, reason: str, **details: Any) -> Score:
        """The reward raised or returned garbage: a defect in the reward, not in the completion or a service."""
        return cls(None, Status.BUG, reason, details)

    @classmethod
    def timeout(cls, value: float | None, reason: str, **details: Any) -> Score:
        """A time budget ran out. Pass the reward's low value when the completion is to blame."""
        return cls(None if value is None else float(value), Status.TIMEOUT, reason, details)

    @property
    def is_masked(self) -> bool:
        """True when the value must not reach a trainer as a number (an infrastructure fault)."""
        return self.value is None and self.status in FAILED_STATUSES

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "status": self.status.value, "reason": self.reason}
        if self.details:
            out["details"] = dict(self.details)
        return out


#: A per-sample reward function: pure, deterministic, picklable (defined at module level).
ScoreFn = Callable[[Sample, Any], Score]
#: A batch reward function, for rewards that gain from seeing many samples at once (HTTP judges, sandboxes).
BatchScoreFn = Callable[[Sequence[Sample], Any], Sequence[Score]]
#: Output range, fixed or computed from the validated parameters.
RangeSpec = tuple[float, float] | Callable[[Any], tuple[float, float]]
#: ``(row, reference, params) -> completion`` for `rewardkit check`: a completion built from a dataset row.
CompletionBuilder = Callable[[Mapping[str, Any], Any, Any], "Completion | None"]
#: ``params -> None``: raises `ConfigError` (naming the fix) for parameters that cannot work, before scoring.
ParamsCheck = Callable[[Any], None]
#: What scoring one sample costs, so property tests and schedulers size their work: pure Python, a
#: subprocess per sample (sandboxes), or a network round trip (judges).
Cost = str  # "cheap" | "process" | "network"
COSTS = ("cheap", "process", "network")


@dataclass(frozen=True)
class RewardSpec:
    """How a reward declares itself to the registry.

    ``params`` is a frozen dataclass: its fields, types, defaults and ``metadata["help"]`` are the
    parameters `rewardkit describe` shows and `compose` validates. ``columns`` are the row columns the
    reward needs; a row without them scores ``not_applicable``. ``needs_reference`` does the same for the
    gold answer. ``term_params`` names parameters whose value may name another term of the composition
    (that term is then computed first and its score handed over in ``Sample.terms``).
    """

    name: str
    description: str
    params: type
    range: RangeSpec
    fn: ScoreFn | None = None
    batch_fn: BatchScoreFn | None = None
    columns: tuple[str, ...] = ()
    needs_reference: bool = False
    term_params: tuple[str, ...] = ()
    timeout_s: float = 10.0
    plugin: str = ""
    family: str | None = None
    gold_completion: CompletionBuilder | None = None
    wrong_completion: CompletionBuilder | None = None
    check_tolerance: float = 0.0
    validate: ParamsCheck | None = None
    cost: Cost = "cheap"
    columns_for: Callable[[Any], tuple[str, ...]] | None = None
    columns_hint: str = ""
    group_key: Callable[[Sample, Any], str] | None = None
    reads: str = ""

    def __post_init__(self) -> None:
        if (self.fn is None) == (self.batch_fn is None):
            raise ValueError(f"reward {self.name!r}: give exactly one of fn= or batch_fn=")
        if self.group_key is not None and self.batch_fn is None:
            raise ValueError(f"reward {self.name!r}: group_key= needs batch_fn= (a group is scored together)")
        if self.cost not in COSTS:
            raise ValueError(f"reward {self.name!r}: cost must be one of {', '.join(COSTS)}, got {self.cost!r}")

    @property
    def grades_against_gold(self) -> bool:
        return self.gold_completion is not None

    def output_range(self, params: Any) -> tuple[float, float]:
        return self.range(params) if callable(self.range) else self.range
