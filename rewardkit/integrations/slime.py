"""slime's remote reward model contract (``--rm-type remote_rm --rm-url URL``), free of any web framework.

slime's ``remote_rm`` (``slime/rollout/rm_hub/__init__.py``) POSTs one sample per request::

    {"prompt": sample.prompt, "response": sample.response, "label": sample.label}

retries any failure (connection or HTTP status) up to 10 times with exponential backoff, then raises, and
stores the JSON reply as ``sample.reward``. slime reads it with ``Sample.get_reward_value``: the reply itself,
or ``reply[args.reward_key]`` when ``--reward-key`` is set. Hence two replies:

- ``POST /slime``: an object, ``{"score": total, <term>: value, ..., "rewardkit/masked": 0 or 1}``, for
  ``--reward-key score`` (the other keys stay on the sample for logging);
- ``POST /slime/scalar``: the total alone, a bare JSON number, for slime without ``--reward-key``.

slime cannot skip a sample, so a masked total (an infrastructure failure, or no term applying) is sent as
the server's ``--null-reward`` (default 0.0) with ``rewardkit/masked`` 1, counted by the server's error
budget; past the budget the server answers 503, which slime retries and then raises: a lasting outage stops
the run instead of training on zeros. A term without a value is ``null`` in the object.

The request becomes a sample through `rewardkit.rows.row_sample`: ``response`` is the completion (trailing
end-of-sequence tokens removed), ``prompt`` the prompt (text or chat messages), and ``label`` the gold; a
``label`` that is an object is read as the row's columns instead (``{"answer": ..., "tests": [...]}``), so code
rewards get their tests. Other request fields are columns too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InputError
from ..evaluate import Scored
from ..rows import completion_problem, row_sample
from ..stats import MASKED
from ..types import Sample

MASKED_KEY = MASKED  # the one masked marker (rewardkit.stats)
SCORE_KEY = "score"


def request_sample(doc: Any, reference_column: str) -> Sample:
    """The sample of one ``remote_rm`` request; `InputError` naming the field when it is malformed."""
    if not isinstance(doc, dict):
        raise InputError("/slime expects a JSON object {\"prompt\": ..., \"response\": ..., \"label\": ...}")
    if "response" not in doc:
        raise InputError("/slime: field 'response' is required (the model's output, as slime sends it)")
    problem = completion_problem(doc["response"])
    if problem:
        raise InputError(f"/slime: field 'response': {problem}")
    label = doc.get("label")
    row = {k: v for k, v in doc.items() if k not in ("response", "label")}
    if isinstance(label, Mapping):
        row.update(label)
    else:
        row[reference_column] = label
    row["completion"] = doc["response"]
    return row_sample(row, reference_column)


def reply(scored: Scored, null_reward: float) -> dict[str, Any]:
    """The object reply: ``score`` (never null: slime cannot skip), each term's value, the masked flag."""
    masked = scored.total is None
    out: dict[str, Any] = {SCORE_KEY: null_reward if masked else scored.total}
    out.update((path, s.value) for path, s in scored.scores.items() if path not in (SCORE_KEY, MASKED_KEY))
    out[MASKED_KEY] = 1.0 if masked else 0.0
    return out


def scalar(scored: Scored, null_reward: float) -> float:
    """The bare-number reply: the total, or ``null_reward`` when it is masked."""
    return null_reward if scored.total is None else scored.total
