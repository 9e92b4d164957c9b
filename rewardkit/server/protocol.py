"""Request validation and response shapes of the reward server, free of any web framework.

Every refused request is a `ProtocolError` carrying an HTTP status and one sentence saying what is wrong
and where: 400 for any malformed body (not UTF-8, not JSON, numbers past Python's digit limit, nesting past
`MAX_DEPTH`, lone surrogates, wrong types), 413 for too much, 503 (with ``Retry-After``) when the server
is busy. The web layer only turns it into ``{"error": ...}`` with that status.

Two request shapes:

- OpenRLHF's remote reward protocol, ``POST /get_reward``: ``{"query", "prompts", "labels"}``, parsed by
  `rewardkit.integrations.openrlhf` (a bad row there gets a low reward, never an error status);
- rewardkit's own rows, ``POST /score``: ``{"samples": [{"completion": ..., "prompt": ..., "answer": ...,
  other columns}], "details": false}``, the same row shape as a line of a JSONL file, built by
  `rewardkit.rows.row_sample`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import CompositionConfig, walk_all
from ..errors import ErrorBudgetExceeded, InputError, RewardkitError, did_you_mean
from ..evaluate import Scored
from ..integrations import openrlhf
from ..rows import MISSING, completion_problem, row_sample
from ..types import Sample

log = logging.getLogger("rewardkit.server")

SCORE_KEYS = ("samples", "details")
#: Deepest document accepted: deeper values cost recursion when they are pickled to a worker process.
MAX_DEPTH = 64


class ProtocolError(Exception):
    """A request the server refuses: ``status`` is the HTTP status, the message says why."""

    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class ServerSettings:
    """Limits and policies of one server; the defaults suit a trainer on the same network."""

    max_body_mb: float = 64.0
    max_samples: int = 16384
    null_reward: float = 0.0
    max_inflight_mb: float = 256.0

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 2**20)

    @property
    def max_inflight_bytes(self) -> int:
        return max(self.max_body_bytes, int(self.max_inflight_mb * 2**20))


class Inflight:
    """Bytes of request bodies being read, parsed or scored, over both HTTP paths of one front end (they
    share its event loop: no lock needed)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def reserve(self, size: int) -> bool:
        if self.used + size > self.limit:
            return False
        self.used += size
        return True


def admit(settings: ServerSettings, inflight: Inflight, size: int | None) -> int:
    """Reserve a body's bytes before reading it: the bytes reserved (to give back once answered), or a 413
    (over ``--max-body-mb``) or 503 (over what is left of ``--max-inflight-mb``). A body of unknown length
    reserves the whole per-request limit."""
    if size is not None and size > settings.max_body_bytes:
        raise ProtocolError(413, f"the request body ({size} bytes) is larger than this server's limit of "
                            f"{settings.max_body_bytes} bytes; send smaller batches or raise --max-body-mb")
    reserve = settings.max_body_bytes if size is None else size
    if not inflight.reserve(reserve):
        raise ProtocolError(503, f"the server holds {inflight.used} bytes of requests in flight (limit "
                            f"{inflight.limit}, --max-inflight-mb); retry shortly", retry_after=1)
    return reserve


def refusal(exc: Exception, where: str) -> ProtocolError:
    """The one mapping of a failed request to its status and message, for every route and both HTTP paths:
    the request's own fault is 4xx, an error budget past its limit or an outage 503, anything else a 500
    with its traceback logged. Never raises: a request's fault never takes the server down."""
    if isinstance(exc, ProtocolError):
        return exc
    if isinstance(exc, InputError):
        return ProtocolError(400, str(exc))
    if isinstance(exc, ErrorBudgetExceeded):
        log.error("%s", exc)
        return ProtocolError(503, str(exc))
    if isinstance(exc, RewardkitError):
        log.error("%s failed: %s", where, exc)
        return ProtocolError(503, f"{type(exc).__name__}: {exc}", retry_after=1)
    log.error("%s failed", where, exc_info=exc)
    return ProtocolError(500, f"internal error: {type(exc).__name__}: {exc}")


def openrlhf_entries(doc: Any, reference_column: str, settings: ServerSettings) -> list[Any]:
    """A ``/get_reward`` document as OpenRLHF entries (a `Sample`, or why the row cannot be scored); 413
    past ``--max-samples``, 400 for a body that is not the protocol."""
    if isinstance(doc, dict) and isinstance(doc.get("query"), list):
        check_size(len(doc["query"]), settings.max_samples, "/get_reward")
    return openrlhf.parse_request(doc, reference_column)


def decode_json(body: bytes) -> Any:
    """The request's JSON document, or a 400 saying where it breaks."""
    if not body.strip():
        raise ProtocolError(400, "the request body is empty; send a JSON object")
    try:
        return json.loads(body.decode("utf-8"))  # bytes would let json guess UTF-16/32 from a BOM
    except UnicodeDecodeError as exc:
        raise ProtocolError(400, f"the body is not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ProtocolError(400, f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise ProtocolError(400, f"the JSON document is nested too deeply (more than {MAX_DEPTH} levels)") from None
    except ValueError as exc:  # a number past Python's integer digit limit
        raise ProtocolError(400, f"malformed JSON: {exc}") from None


def check_document(doc: Any, where: str) -> None:
    """A 400 for nesting past `MAX_DEPTH` or a lone surrogate (an escape JSON allows, UTF-8 cannot carry)."""
    stack: list[tuple[Any, int, str]] = [(doc, 0, where)]
    while stack:
        value, depth, at = stack.pop()
        if depth > MAX_DEPTH:
            raise ProtocolError(400, f"{at}: nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ProtocolError(400, f"{at}: a lone UTF-16 surrogate (not valid Unicode text)") from None
        elif isinstance(value, dict):
            for k, v in value.items():
                stack.append((k, depth + 1, at))
                stack.append((v, depth + 1, f"{at}.{k}"))
        elif isinstance(value, list):
            stack.extend((v, depth + 1, f"{at}[{i}]") for i, v in enumerate(value))


def _object(doc: Any, allowed: Sequence[str], endpoint: str) -> Mapping[str, Any]:
    if not isinstance(doc, dict):
        raise ProtocolError(400, f"{endpoint} expects a JSON object with keys {', '.join(allowed)}")
    for key in doc:
        if key not in allowed:
            hint = did_you_mean(str(key), allowed)
            raise ProtocolError(400, f"{endpoint}: unknown field {key!r}.{hint} Allowed fields: {', '.join(allowed)}")
    return doc


def check_size(n: int, max_samples: int, endpoint: str) -> None:
    if n > max_samples:
        raise ProtocolError(
            413, f"{endpoint}: {n} samples in one request, more than this server's limit of {max_samples}; "
            "split the batch or start the server with a higher --max-samples"
        )


def parse_score(doc: Any, reference_column: str, max_samples: int) -> tuple[list[Sample], bool]:
    """rewardkit rows ``{"samples": [...], "details": bool}`` as samples, and whether details are wanted."""
    where = "/score"
    doc = _object(doc, SCORE_KEYS, where)
    rows = doc.get("samples")
    if not isinstance(rows, list):
        raise ProtocolError(400, f"{where}: field 'samples' is required (a list of row objects)")
    check_size(len(rows), max_samples, where)
    details = doc.get("details", False)
    if not isinstance(details, bool):
        raise ProtocolError(400, f"{where}: 'details' must be true or false, got {details!r}")
    check_document(rows, "samples")
    samples = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ProtocolError(400, f"{where}: samples[{i}] must be an object with a 'completion'")
        problem = completion_problem(row.get("completion", MISSING))
        if problem:
            raise ProtocolError(400, f"{where}: samples[{i}].completion: {problem}")
        samples.append(row_sample(row, reference_column))
    return samples, details


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


def describe_config(config: CompositionConfig, workers: int) -> dict[str, Any]:
    """What ``GET /rewards`` lists: the composition's name, terms (groups included) and output range."""
    terms = [
        TermInfo(t.path, t.spec.name if t.spec else None, t.weight, t.output_range(),
                 t.timeout_s if t.spec else None).__dict__
        for t in walk_all(config.terms)
    ]  # fmt: skip
    return {
        "name": config.name,
        "reference_column": config.reference_column,
        "aggregate": config.aggregate,
        "on_null": config.on_null,
        "max_error_rate": config.max_error_rate,
        "workers": workers,
        "time_budgets_enforced": workers > 0,
        "output_range": list(config.output_range()),
        "terms": [{**t, "range": list(t["range"])} for t in terms],
    }
