"""Request validation and response shapes of the reward server, free of any web framework.

Every problem is a `ProtocolError` carrying an HTTP status and one sentence saying what is wrong and where,
so the web layer only turns it into ``{"error": ...}`` with that status.

Two request shapes:

- OpenRLHF's remote reward protocol, ``POST /get_reward``::

      {"query": [prompt + response, ...], "prompts": [prompt, ...], "labels": [gold, ...]}

  The completion is the query with its prompt removed (the prompt may sit after padding or a BOS token the
  trainer's decode kept); ``labels`` are the reference answers. Only ``query`` is required.
- rewardkit's own rows, ``POST /score``: ``{"samples": [{"completion": ..., "prompt": ..., "answer": ...,
  other columns}], "details": false}``, the same row shape as a line of a JSONL file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import CompositionConfig, walk_all
from ..errors import did_you_mean
from ..evaluate import Scored
from ..io import OUTPUT_KEYS, completion_problem
from ..types import Sample, Status

GET_REWARD_KEYS = ("query", "prompts", "labels")
SCORE_KEYS = ("samples", "details")


class ProtocolError(Exception):
    """A request the server refuses: ``status`` is the HTTP status (4xx), the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def decode_json(body: bytes) -> Any:
    """The request's JSON document, or a 400 saying where it breaks."""
    if not body.strip():
        raise ProtocolError(400, "the request body is empty; send a JSON object")
    try:
        return json.loads(body.decode("utf-8"))  # bytes would let json guess UTF-16/32 from a BOM
    except UnicodeDecodeError as exc:
        raise ProtocolError(400, f"the body is not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ProtocolError(
            400, f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def _object(doc: Any, allowed: Sequence[str], endpoint: str) -> Mapping[str, Any]:
    if not isinstance(doc, dict):
        raise ProtocolError(422, f"{endpoint} expects a JSON object with keys {', '.join(allowed)}")
    for key in doc:
        if key not in allowed:
            hint = did_you_mean(str(key), allowed)
            raise ProtocolError(
                422, f"{endpoint}: unknown field {key!r}.{hint} Allowed fields: {', '.join(allowed)}"
            )
    return doc


def _list(doc: Mapping[str, Any], key: str, endpoint: str, required: bool) -> list[Any] | None:
    value = doc.get(key)
    if value is None:
        if required:
            raise ProtocolError(422, f"{endpoint}: field {key!r} is required (a list)")
        return None
    if not isinstance(value, list):
        raise ProtocolError(422, f"{endpoint}: field {key!r} must be a list, got {type(value).__name__}")
    return value


def _check_size(n: int, max_samples: int, endpoint: str) -> None:
    if n > max_samples:
        raise ProtocolError(
            413, f"{endpoint}: {n} samples in one request, more than this server's limit of {max_samples}; "
            "split the batch or start the server with a higher --max-samples"
        )


def strip_prompt(query: str, prompt: str) -> str | None:
    """The response part of ``query``: what follows the first occurrence of ``prompt`` (None if absent)."""
    if query.startswith(prompt):
        return query[len(prompt) :]
    at = query.find(prompt) if prompt else 0
    return None if at < 0 else query[at + len(prompt) :]


def parse_get_reward(doc: Any, reference_column: str, max_samples: int) -> list[Sample]:
    """OpenRLHF's ``{"query", "prompts", "labels"}`` as samples (completion = query minus prompt)."""
    where = "/get_reward"
    doc = _object(doc, GET_REWARD_KEYS, where)
    queries = _list(doc, "query", where, required=True)
    assert queries is not None
    _check_size(len(queries), max_samples, where)
    prompts = _list(doc, "prompts", where, required=False)
    labels = _list(doc, "labels", where, required=False)
    for key, values in (("prompts", prompts), ("labels", labels)):
        if values is not None and len(values) != len(queries):
            raise ProtocolError(
                422, f"{where}: {key!r} has {len(values)} entries but 'query' has {len(queries)}; "
                "send one per query"
            )
    samples = []
    for i, query in enumerate(queries):
        if not isinstance(query, str):
            raise ProtocolError(422, f"{where}: query[{i}] must be a string, got {type(query).__name__}")
        prompt = None if prompts is None else prompts[i]
        completion = query
        if prompt is not None:
            if not isinstance(prompt, str):
                raise ProtocolError(422, f"{where}: prompts[{i}] must be a string, got {type(prompt).__name__}")
            rest = strip_prompt(query, prompt)
            if rest is None:
                raise ProtocolError(
                    422, f"{where}: query[{i}] does not contain prompts[{i}]; each query must be the prompt "
                    "followed by the response, as OpenRLHF sends it"
                )
            completion = rest
        label = None if labels is None else labels[i]
        samples.append(Sample(completion, prompt, label, {}))
    return samples


def parse_score(doc: Any, reference_column: str, max_samples: int) -> tuple[list[Sample], bool]:
    """rewardkit rows ``{"samples": [...], "details": bool}`` as samples, and whether details are wanted."""
    where = "/score"
    doc = _object(doc, SCORE_KEYS, where)
    rows = _list(doc, "samples", where, required=True)
    assert rows is not None
    _check_size(len(rows), max_samples, where)
    details = doc.get("details", False)
    if not isinstance(details, bool):
        raise ProtocolError(422, f"{where}: 'details' must be true or false, got {details!r}")
    samples = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ProtocolError(422, f"{where}: samples[{i}] must be an object with a 'completion'")
        problem = completion_problem(row["completion"]) if "completion" in row else "missing"
        if problem:
            raise ProtocolError(422, f"{where}: samples[{i}].completion: {problem}")
        columns = {k: v for k, v in row.items()
                   if k not in ("completion", "prompt", reference_column) and k not in OUTPUT_KEYS}
        samples.append(Sample(row["completion"], row.get("prompt"), row.get(reference_column), columns))
    return samples, details


def _finite(value: float | None, default: float) -> float:
    return default if value is None or not math.isfinite(value) else value


def get_reward_response(results: Sequence[Scored], null_reward: float) -> dict[str, Any]:
    """OpenRLHF's reply: ``rewards`` and ``scores`` (numbers: a trainer tensor cannot hold null) and
    ``extra_logs``, per-sample lists logged to wandb, including which samples were masked."""
    rewards = [_finite(r.total, null_reward) for r in results]
    logs: dict[str, list[float]] = {}
    for r in results:
        for path, score in r.scores.items():
            logs.setdefault(path, []).append(_finite(score.value, 0.0))
    logs["rewardkit/masked"] = [0.0 if r.total is not None else 1.0 for r in results]
    logs["rewardkit/errors"] = [
        float(sum(s.status is Status.ERROR for s in r.scores.values())) for r in results
    ]
    return {"rewards": rewards, "scores": rewards, "extra_logs": logs}


def score_response(results: Sequence[Scored], details: bool) -> dict[str, Any]:
    """The ``/score`` reply: per sample the total (null when masked) and every term's value."""
    out = []
    for r in results:
        item: dict[str, Any] = {"reward": r.total, "rewards": r.values()}
        if details:
            item["reward_details"] = {path: s.to_json() for path, s in r.scores.items()}
        out.append(item)
    return {"results": out}


@dataclass(frozen=True)
class TermInfo:
    path: str
    reward: str | None
    weight: float
    range: tuple[float, float]
    timeout_s: float | None


def describe_config(config: CompositionConfig) -> dict[str, Any]:
    """What ``GET /rewards`` lists: the composition's name, terms (groups included) and output range."""
    terms = [
        TermInfo(t.path, t.spec.name if t.spec else None, t.weight, t.output_range(),
                 t.timeout_s if t.spec else None).__dict__
        for t in walk_all(config.terms)
    ]
    return {
        "name": config.name,
        "reference_column": config.reference_column,
        "aggregate": config.aggregate,
        "on_null": config.on_null,
        "output_range": list(config.output_range()),
        "terms": [{**t, "range": list(t["range"])} for t in terms],
    }
