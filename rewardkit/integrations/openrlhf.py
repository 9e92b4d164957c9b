"""OpenRLHF 0.11: its remote reward protocol, served by `rewardkit serve` (``POST /get_reward``) and by
`reward_func` (its in-process custom reward, ``--reward.remote_url path/to/file.py``), on the one core.

    rewardkit serve --config rewards.yaml --port 8000          # then, in OpenRLHF:
    --reward.remote_url http://host:8000/get_reward --data.label_key answer

What OpenRLHF 0.11.2 does, read from its wheel (``openrlhf/utils/agent.py``, ``SingleTurnAgentExecutor``;
``openrlhf/trainer/ppo_utils/samples_generator.py``), and what follows here:

- The query is ``tokenizer.decode(prompt + response, skip_special_tokens=False)``: the response ends in the
  EOS text (``<|im_end|>``...), which `rewardkit.rows.clean_completion` removes. An over-long prompt is cut
  from the left (``prompt_token_ids[-max_prompt_length:]``), so the query may start inside the prompt:
  the response is then found after the prompt's end (`response_of`).
- One sample per request, from many rollouts at once: the error budget is the core's sliding window
  across requests, and time budgets are the `Scorer`'s, which hold at batch 1.
- ``raise_for_status()``: a 4xx/5xx is retried 5 times, 1 s apart; then the reward is None and the
  experience maker fails. So a row that cannot be scored (a query without its prompt, a label nested past
  reason) is never answered with an error: it gets ``null_reward``, ``scores`` 0, ``rewardkit/invalid`` 1
  and a logged reason. Only a body that is not the protocol at all is refused (400).
- ``rewards`` becomes the sample's reward tensor (a number is required: None crashes the trainer);
  ``scores`` feeds dynamic filtering (``--algo.dynamic_filtering_enable``), which drops a prompt's group
  when the mean of its scores is not strictly inside ``--algo.dynamic_filtering_range`` (default 0 1).
  ``scores`` is the total rescaled to [0, 1] by the range of the terms that applied to the row
  (`rewardkit.evaluate.applicable_range`): in a math + code composition a correct math row scores 1.
- An infrastructure failure (a masked total) is sent as ``null_reward`` (0.0) with ``scores`` 0 and
  ``rewardkit/masked`` 1: a group whose every sample is masked (an outage) averages 0 and dynamic
  filtering drops it; the error budget raises once more than ``max_error_rate`` of the recent samples
  failed (the server answers 503, which OpenRLHF retries and then stops on; `reward_func` raises).
- ``extra_logs`` values become per-sample tensors (numbers only) and the experiences' info dicts are
  merged key by key, so every sample carries the same keys: each term's value (0 when null), each term's
  error, timeout and bug counts, ``rewardkit/masked`` and ``rewardkit/invalid``.
- Labels (``--data.label_key``) are the gold answer; a label that is a JSON object (or a string holding
  one) is read as row columns: its gold column, and code tests (``tests``, ``input_output``,
  ``test`` + ``entry_point``, ``test_list``...) so the ``code`` reward runs.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from ..budget import ErrorBudget
from ..config import CompositionConfig, load_config, parse_config, walk_all
from ..errors import InputError, did_you_mean
from ..evaluate import Scored, applicable_range
from ..rows import label_columns, row_sample, strip_prompt
from ..scorer import Scorer
from ..stats import MASKED, TermStats
from ..types import Sample, Status

__all__ = ["INVALID", "MASKED", "OpenRLHFReward", "Replies", "label_columns", "parse_request", "reply",
           "response_of", "reward_func"]  # fmt: skip

log = logging.getLogger("rewardkit.openrlhf")

REQUEST_KEYS = ("query", "prompts", "labels")
#: Per-sample flag in ``extra_logs``: the row could not be scored (the reason is in the server's log).
INVALID = "rewardkit/invalid"
#: Columns the ``code`` reward reads its tests from, when a label carries them.
#: Deepest label accepted: deeper values cost recursion in pickling and in rewards.
MAX_DEPTH = 64
_TAIL = 256  # characters of the prompt's end searched for in a query whose prompt was cut from the left
_FUZZ = 16  # characters a cut at a token boundary may garble at the query's start


def response_of(query: str, prompt: str | None) -> str | None:
    """The response in ``query`` (prompt + response as OpenRLHF decodes it), or None if it cannot be found."""
    if prompt is None:
        return query
    rest = strip_prompt(query, prompt)
    if rest is not None or len(prompt) <= _TAIL:
        return rest
    # OpenRLHF keeps the prompt's last tokens only: the query starts with the prompt's end.
    tail = prompt[-_TAIL:]
    at = query.find(tail)
    for _ in range(4):  # the tail may recur inside the kept part; a few tries, then give up
        if at < 0:
            return None
        end = at + _TAIL
        head = query[:end]
        if any(prompt.endswith(head[skip:]) for skip in range(min(_FUZZ, len(head)) + 1)):
            return query[end:]
        at = query.find(tail, at + 1)
    return None


def parse_request(doc: Any, reference_column: str, max_samples: int | None = None) -> list[Sample | str]:
    """OpenRLHF's ``{"query", "prompts", "labels"}``: per query its `Sample`, or why it cannot be scored.

    Raises `InputError` only when the document is not the protocol (not an object, unknown fields, lists
    missing or of different lengths); a bad row is a string, answered with a low reward.
    """
    if not isinstance(doc, dict):
        raise InputError(f"/get_reward expects a JSON object with keys {', '.join(REQUEST_KEYS)}")
    for key in doc:
        if key not in REQUEST_KEYS:
            raise InputError(f"/get_reward: unknown field {key!r}.{did_you_mean(str(key), REQUEST_KEYS)} "
                             f"Allowed fields: {', '.join(REQUEST_KEYS)}")  # fmt: skip
    queries = _list(doc, "query", required=True)
    if max_samples is not None and len(queries) > max_samples:
        raise InputError(f"/get_reward: {len(queries)} samples in one request, more than this server's limit of "
                         f"{max_samples}; split the batch or raise --max-samples")  # fmt: skip
    prompts = _list(doc, "prompts", required=False, n=len(queries))
    labels = _list(doc, "labels", required=False, n=len(queries))
    return [row(q, prompts[i] if prompts else None, labels[i] if labels else None, reference_column)
            for i, q in enumerate(queries)]  # fmt: skip


def _list(doc: Mapping[str, Any], key: str, required: bool, n: int | None = None) -> list[Any]:
    value = doc.get(key)
    if value is None:
        if required:
            raise InputError(f"/get_reward: field {key!r} is required (a list)")
        return []
    if not isinstance(value, list):
        raise InputError(f"/get_reward: field {key!r} must be a list, got {type(value).__name__}")
    if n is not None and len(value) != n:
        raise InputError(f"/get_reward: {key!r} has {len(value)} entries but 'query' has {n}; send one per query")
    return value


def row(query: Any, prompt: Any, label: Any, reference_column: str) -> Sample | str:
    """One query as a `Sample`, or the reason it cannot be scored."""
    if not isinstance(query, str):
        return f"the query must be a string, got {type(query).__name__}"
    if prompt is not None and not isinstance(prompt, str):
        return f"the prompt must be a string, got {type(prompt).__name__}"
    for name, text in (("query", query), ("prompt", prompt)):
        if text is not None and not _utf8(text):
            return f"the {name} holds a lone UTF-16 surrogate (not valid Unicode text)"
    problem = _label_problem(label)
    if problem:
        return problem
    response = response_of(query, prompt)
    if response is None:
        return ("the query does not contain its prompt (nor the end of a prompt cut from the left); "
                "each query must be the prompt followed by the response, as OpenRLHF sends it")  # fmt: skip
    columns = label_columns(label, reference_column)
    return row_sample({**columns, "completion": response, "prompt": prompt}, reference_column)


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _label_problem(label: Any) -> str | None:
    """Why a label cannot be handed to rewards (too deep, lone surrogates), walked without recursion."""
    stack: list[tuple[Any, int]] = [(label, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"the label is nested more than {MAX_DEPTH} levels deep"
        if isinstance(value, str):
            if not _utf8(value):
                return "the label holds a lone UTF-16 surrogate (not valid Unicode text)"
        elif isinstance(value, dict):
            stack.extend((v, depth + 1) for v in (*value.keys(), *value.values()))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return None


def samples_of(entries: Sequence[Sample | str]) -> list[Sample]:
    return [e for e in entries if isinstance(e, Sample)]


class _ProblemLog:
    """Logs row problems: the first few, then every thousandth, so a systematic one is seen, not a flood."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, reason: str) -> None:
        with self._lock:
            self.count += 1
            count = self.count
        if count <= 10 or count % 1000 == 0:
            log.warning("OpenRLHF row not scored (%d so far; it gets the null reward): %s", count, reason)


problems = _ProblemLog()


class Replies:
    """Builds OpenRLHF's replies for one composition (its range and log keys worked out once)."""

    def __init__(self, config: CompositionConfig, null_reward: float = 0.0) -> None:
        self.config = config
        self.null_reward = null_reward
        self.paths = [t.path for t in walk_all(config.terms)]
        self.keys = [*self.paths, *(f"rewardkit/{p}/{k}" for p in self.paths for k in _COUNTS), MASKED, INVALID]
        self._ranges: dict[tuple[str, ...], tuple[float, float]] = {}

    def reply(self, entries: Sequence[Sample | str], results: Sequence[Scored]) -> dict[str, Any]:
        """``rewards``, ``scores`` in [0, 1] and ``extra_logs`` (numbers only), one per query.

        ``results`` are the scores of the entries that are samples, in order.
        """
        rewards: list[float] = []
        scores: list[float] = []
        columns: list[list[float]] = [[] for _ in self.keys]
        scored = iter(results)
        for entry in entries:
            result = next(scored) if isinstance(entry, Sample) else None
            if result is None:
                problems(str(entry))
            total = None if result is None else result.total
            rewards.append(self.null_reward if total is None else total)
            scores.append(self._normalised(result))
            for column, value in zip(columns, self._logs(result), strict=True):
                column.append(value)
        return {"rewards": rewards, "scores": scores, "extra_logs": dict(zip(self.keys, columns, strict=True))}

    def _normalised(self, result: Scored | None) -> float:
        """The total rescaled by the range of the terms that applied to the row (a math row in a math + code
        composition reaches 1.0, so dynamic filtering can drop a group that solved every sample)."""
        if result is None or result.total is None:
            return 0.0
        # Rows of one run differ in which terms apply in a few ways only: one range per way (hot path).
        key = tuple(p for p, sc in result.scores.items() if sc.status is Status.NOT_APPLICABLE)
        span = self._ranges.get(key)
        if span is None:
            span = self._ranges[key] = applicable_range(self.config, result)
        low, high = span
        if high - low <= 0:
            return 0.0
        return min(1.0, max(0.0, (result.total - low) / (high - low)))

    def _logs(self, result: Scored | None) -> list[float]:
        """One sample's extra_logs values, in `keys` order."""
        if result is None:
            return [0.0] * (len(self.keys) - 1) + [1.0]
        values: list[float] = []
        counts: list[float] = []
        scores = result.scores
        for path in self.paths:
            score = scores.get(path)
            if score is None:
                values.append(0.0)
                counts.extend(_NO_COUNTS)
            else:
                values.append(0.0 if score.value is None else score.value)
                counts.extend(_COUNTS_OF[score.status])
        return [*values, *counts, 1.0 if result.total is None else 0.0, 0.0]


def _status_counts(status: Status) -> tuple[float, float, float]:
    """(errors, timeouts, bugs) one score of ``status`` adds, as the core's `TermStats` counts them."""
    term = TermStats()
    term.add(None, status)
    return float(term.errors), float(term.timeouts), float(term.bugs)


_COUNTS_OF = {status: _status_counts(status) for status in Status}  # worked out once, read per sample
_NO_COUNTS = (0.0, 0.0, 0.0)
_COUNTS = ("errors", "timeouts", "bugs")


def reply(config: CompositionConfig, entries: Sequence[Sample | str], results: Sequence[Scored],
          null_reward: float = 0.0) -> dict[str, Any]:  # fmt: skip
    """OpenRLHF's reply for ``entries`` (see `Replies.reply`)."""
    return Replies(config, null_reward).reply(entries, results)


class OpenRLHFReward:
    """OpenRLHF's ``reward_func(queries, prompts, labels)`` for a composition, thread-safe.

    OpenRLHF calls it once per sample from many rollouts at once (``asyncio.to_thread``): the `Scorer`'s
    lanes coalesce those calls, and with ``workers`` > 0 every reward's time budget is enforced by a kill.
    """

    def __init__(self, config: CompositionConfig, workers: int = 2, null_reward: float = 0.0) -> None:
        self.config = config
        self.replies = Replies(config, null_reward)
        self.scorer = Scorer(config, workers)
        self.budget = ErrorBudget(config.max_error_rate)

    def __call__(self, queries: list[Any], prompts: list[Any], labels: list[Any], **kwargs: Any) -> dict[str, Any]:
        entries = parse_request({"query": queries, "prompts": prompts, "labels": labels},
                                self.config.reference_column)  # fmt: skip
        results = self.scorer.score(samples_of(entries))
        self.budget.record(results)  # raises ErrorBudgetExceeded: OpenRLHF then stops, loudly
        return self.replies.reply(entries, results)

    def close(self) -> None:
        self.scorer.close()


CONFIG_ENV = "REWARDKIT_CONFIG"
WORKERS_ENV = "REWARDKIT_WORKERS"
DEFAULT_CONFIG: dict[str, Any] = {
    "name": "openrlhf", "rewards": [{"name": "math"}, {"name": "think_format", "weight": 0.1}],
}  # fmt: skip
_default: OpenRLHFReward | None = None
_default_lock = threading.Lock()


def default_reward() -> OpenRLHFReward:
    """The process's reward: the YAML file in ``$REWARDKIT_CONFIG`` (math + a format bonus when unset),
    scored in ``$REWARDKIT_WORKERS`` worker processes (default: the config's ``workers:``, else 2)."""
    global _default
    with _default_lock:
        if _default is None:
            path = os.environ.get(CONFIG_ENV)
            config = load_config(path) if path else parse_config(DEFAULT_CONFIG)
            workers = os.environ.get(WORKERS_ENV)
            _default = OpenRLHFReward(config, int(workers) if workers else config.workers or 2)
        return _default


def reward_func(queries: list[Any], prompts: list[Any], labels: list[Any], **kwargs: Any) -> dict[str, Any]:
    """OpenRLHF's custom reward function: ``rewards``, ``scores`` and ``extra_logs`` for each query."""
    return default_reward()(queries, prompts, labels, **kwargs)
