"""A faithful replay of NeMo-Gym 0.7.0's verify contract, for tests: nemo-gym 0.7 does not install here.

Provenance: the ``nemo-gym==0.7.0`` wheel on PyPI (NVIDIA, Apache-2.0), which requires Python >= 3.13.14 and
pins ``openai==2.44.0`` (this project runs on 3.11 beside verifiers' openai 2.54), so its classes cannot be
imported. Written here from the wheel's definitions, field for field, not copied:

- ``nemo_gym/base_resources_server.py``: ``BaseRunRequest`` (``responses_create_params``; ``_ng_rollout_id``
  as an alias excluded on dump; ``populate_by_name``), ``BaseVerifyRequest`` (+ ``response``),
  ``BaseVerifyResponse`` (+ ``reward: float``, ``mask_sample: bool = False``, ``failure_kind`` and
  ``failure_reason`` optional strings), ``BaseMultiRewardVerifyResponse`` (+ ``reward_components:
  dict[str, float]``, required);
- ``nemo_gym/openai_utils.py``: ``NeMoGymResponseCreateParamsNonStreaming`` (``extra="forbid"``, the fields
  listed in `PARAMS_FIELDS`, ``input`` required) and ``NeMoGymResponse``, a subclass of OpenAI's
  ``Response`` (replayed by OpenAI's own class);
- ``nemo_gym/failure_kinds.py``: the registered kinds and the ``<server>:<kind>`` pattern;
- ``nemo_gym/judge.py``: ``judge_failsafe``, which answers a failed judge call with the request's dump plus
  `FAILSAFE_KEYS` (``reward`` 0.0, ``mask_sample`` true, ``failure_kind`` "judge_failed", ``failure_reason``,
  ``instance_config.mask_sample`` true, ``_ng_failure_class`` and ``_ng_failure_judge_error``);
- ``nemo_gym/rollout_collection.py``: a row whose ``_ng_failure_class`` is set goes to the failures sidecar.
"""

from __future__ import annotations

import re
from typing import Any

from openai.types.responses import Response
from pydantic import BaseModel, ConfigDict, Field, create_model

VERSION = "0.7.0"
PARAMS_FIELDS = (
    "background", "include", "instructions", "max_output_tokens", "max_tool_calls", "metadata", "model",
    "parallel_tool_calls", "previous_response_id", "prompt", "reasoning", "service_tier", "store",
    "context_management", "conversation", "moderation", "prompt_cache_key", "prompt_cache_retention",
    "safety_identifier", "stream_options", "temperature", "text", "tool_choice", "tools", "top_logprobs",
    "top_p", "truncation", "user", "stream",
)  # fmt: skip

ResponseCreateParams: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "ResponseCreateParams",
    __config__=ConfigDict(extra="forbid"),
    input=(str | list[Any], ...),
    **{name: (Any, None) for name in PARAMS_FIELDS},
)


class BaseRunRequest(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    responses_create_params: ResponseCreateParams  # type: ignore[valid-type]
    capture_rollout_id: str | None = Field(default=None, alias="_ng_rollout_id", exclude=True)


class BaseVerifyRequest(BaseRunRequest):
    response: Response


class BaseVerifyResponse(BaseVerifyRequest):
    reward: float
    mask_sample: bool = False
    failure_kind: str | None = None
    failure_reason: str | None = None


class BaseMultiRewardVerifyResponse(BaseVerifyResponse):
    reward_components: dict[str, float]


FAILURE_KINDS = frozenset({
    "transport_unreachable", "transport_peer_drop", "transport_timeout", "transport_local_resource",
    "agent_run_error", "agent_request_failed", "agent_timeout", "agent_command_not_allowed",
    "judge_failed", "judge_unparseable", "verifier_error", "provider_unavailable", "provider_quota_exhausted",
    "provider_oom_killed", "session_lost", "session_expired", "session_release_failed", "cancelled",
    "kill_shaped", "shutdown", "persistence_failed", "cohort_incomplete",
})  # fmt: skip
_NAMESPACED = re.compile(r"[a-z][a-z0-9_]*:[a-z][a-z0-9_]*")


def known_failure_kind(name: str) -> bool:
    """Registered in the shared vocabulary, or an environment's own ``<server>:<kind>``."""
    return name in FAILURE_KINDS or bool(_NAMESPACED.fullmatch(name))


FAILSAFE_KEYS = ("reward", "mask_sample", "failure_kind", "failure_reason", "instance_config", "_ng_failure_class")


def goes_to_failures_sidecar(row: dict[str, Any]) -> bool:
    return row.get("_ng_failure_class") is not None
