"""NeMo-Gym 0.7's resources-server ``/verify`` contract, free of any web framework.

Request (``BaseVerifyRequest``): the dataset row as NeMo-Gym sends it back: ``responses_create_params`` (the
OpenAI Responses request: ``input`` holds the prompt), ``response`` (the Responses object the agent produced:
``output`` holds ``message``, ``reasoning``, ``function_call`` and ``function_call_output`` items), and the
row's verifier fields (``expected_answer`` and the like) at the top level.

Response (``BaseMultiRewardVerifyResponse``): the request echoed, plus

- ``reward``: the composition's total (the scalar single-reward consumers read);
- ``reward_components``: each term's value by path (terms without a value are left out: a float is required);
- each term's value again as a top-level number, because NeMo-Gym's aggregate metrics do not descend into
  ``reward_components`` (when the name does not clash with a request field);
- ``mask_sample``, ``failure_kind``, ``failure_reason``: a masked total (an infrastructure failure) is sent
  the way NeMo-Gym's ``judge_failsafe`` sends a failed judge: ``reward`` 0.0 with ``mask_sample`` true,
  ``instance_config.mask_sample`` true (older NeMo RL consumers), a ``failure_kind`` from its shared
  vocabulary (``judge_failed`` for a judge term, ``provider_unavailable`` for a sandbox, else
  ``verifier_error``) and ``_ng_failure_class``, which routes the row to the failures sidecar (excluded from
  aggregate metrics, retried on resume). A row no term applies to is masked too, with the namespaced kind
  ``rewardkit:not_applicable`` and no failure class: nothing failed, so nothing is retried.

The sample is built by `rewardkit.rows.row_sample`: the output items become chat messages (reasoning as
``reasoning_content``, calls as ``tool_calls``), the gold is the config's ``reference_column`` field, else
NeMo-Gym's ``expected_answer``; every other top-level field is a column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..config import CompositionConfig
from ..errors import InputError
from ..evaluate import Scored
from ..rows import row_sample
from ..types import Sample, Status, message_text

#: NeMo-Gym's name for the gold in its math, QA and MCQ resources servers.
GOLD_FIELD = "expected_answer"
#: Excluded from the echo, as ``BaseRunRequest`` excludes its alias on dump.
_NOT_ECHOED = frozenset({"_ng_rollout_id"})
_REQUEST_FIELDS = frozenset({"responses_create_params", "response"})
_VERIFY_FIELDS = frozenset({"reward", "reward_components", "mask_sample", "failure_kind", "failure_reason",
                            "instance_config", "_ng_failure_class", "_ng_failure_judge_error"})  # fmt: skip


def verify_sample(doc: Any, reference_column: str) -> Sample:
    """The sample of a ``/verify`` request; `InputError` naming the field when the request is malformed."""
    if not isinstance(doc, dict):
        raise InputError("/verify expects a JSON object with 'responses_create_params' and 'response'")
    params, response = doc.get("responses_create_params"), doc.get("response")
    if not isinstance(params, dict):
        raise InputError("/verify: field 'responses_create_params' is required (an object, the Responses request)")
    if not isinstance(response, dict) or not isinstance(response.get("output"), list):
        raise InputError("/verify: field 'response' is required (a Responses object with an 'output' list)")
    row = {k: v for k, v in doc.items() if k not in _REQUEST_FIELDS and k not in _NOT_ECHOED}
    if reference_column not in row and GOLD_FIELD in row:
        row[reference_column] = row.pop(GOLD_FIELD)
    row["prompt"] = _prompt(params.get("input"))
    row["completion"] = output_messages(response["output"])
    return row_sample(row, reference_column)


def _prompt(value: Any) -> Any:
    if not isinstance(value, list):
        return value if isinstance(value, str) else None
    messages = []
    for item in value:
        if isinstance(item, Mapping) and isinstance(item.get("role"), str):
            messages.append({"role": item["role"], "content": _text(item.get("content"))})
    return messages


def output_messages(output: Sequence[Any]) -> list[dict[str, Any]]:
    """Responses ``output`` items as chat messages, in order: what rewardkit's rewards read."""
    messages: list[dict[str, Any]] = []
    reasoning: list[str] = []
    for i, item in enumerate(output):
        if not isinstance(item, Mapping):
            raise InputError(f"/verify: response.output[{i}] must be an object")
        kind = item.get("type")
        if kind == "reasoning":
            reasoning.extend(_text(p) for p in (item.get("summary") or item.get("content") or []))
        elif kind == "message" and item.get("role", "assistant") == "assistant":
            messages.append(_assistant(_text(item.get("content")), reasoning))
            reasoning = []
        elif kind in ("function_call", "custom_tool_call"):
            call = {"function": {"name": item.get("name"), "arguments": item.get("arguments", item.get("input"))}}
            messages.append({**_assistant("", reasoning), "tool_calls": [call]})
            reasoning = []
        elif kind in ("function_call_output", "custom_tool_call_output"):
            messages.append({"role": "tool", "content": _text(item.get("output"))})
    if reasoning:  # reasoning with no message after it (the response was cut): still the model's text
        messages.append(_assistant("", reasoning))
    return messages


def _assistant(content: str, reasoning: list[str]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning:
        message["reasoning_content"] = "\n".join(reasoning)
    return message


def _text(content: Any) -> str:
    """Text of a Responses content value: a string, or parts (``output_text``, ``input_text``, ``summary_text``)."""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        return str(content.get("text", ""))
    if isinstance(content, Sequence):
        return "".join(_text(p) for p in content if isinstance(p, (Mapping, str)))
    return message_text(content)


def verify_response(doc: Mapping[str, Any], scored: Scored, config: CompositionConfig) -> dict[str, Any]:
    """The ``/verify`` reply for one scored request (see the module docstring)."""
    out = {k: v for k, v in doc.items() if k not in _NOT_ECHOED}
    components = {path: s.value for path, s in scored.scores.items() if s.value is not None}
    out["reward_components"] = components
    for path, value in components.items():
        if path not in doc and path not in _VERIFY_FIELDS:
            out[path] = value
    if scored.total is not None:
        out.update(reward=scored.total, mask_sample=False, failure_kind=None, failure_reason=None)
        return out
    kind, reason, retryable = failure_of(scored, config)
    instance = doc.get("instance_config")
    out.update(reward=0.0, mask_sample=True, failure_kind=kind, failure_reason=reason,
               instance_config={**(instance if isinstance(instance, dict) else {}), "mask_sample": True})  # fmt: skip
    if retryable:
        out["_ng_failure_class"] = kind
        if kind == "judge_failed":
            out["_ng_failure_judge_error"] = reason
    return out


def failure_of(scored: Scored, config: CompositionConfig) -> tuple[str, str, bool]:
    """NeMo-Gym's ``failure_kind`` for a masked total, the reason, and whether it is an infrastructure failure."""
    families = {t.path: (t.spec.family or t.spec.name) for t in config.leaves if t.spec is not None}
    for path, score in scored.scores.items():
        if not score.is_masked:
            continue
        family = families.get(path, "")
        if score.status is Status.ERROR and family == "judge":
            kind = "judge_failed"
        elif score.status is Status.ERROR and family == "code":
            kind = "provider_unavailable"
        else:
            kind = "verifier_error"
        return kind, f"{path}: {score.status.value}: {score.reason}"[:2000], True
    return "rewardkit:not_applicable", "no weighted term applies to this row", False
