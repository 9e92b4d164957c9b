"""NeMo-Gym 0.7 ``/verify``: requests and replies checked against NeMo-Gym's request/response classes
(a faithful replay of 0.7.0: it does not install on this Python) and driven by verifiers 0.4's own NeMo-Gym
client (`NeMoGymTask.nemo_gym`), which posts a real trace's Responses object to the server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("aiohttp")
pytest.importorskip("openai")

from aiohttp.test_utils import TestClient, TestServer

from rewardkit import compose
from rewardkit.config import parse_config
from rewardkit.integrations.nemo_gym import output_messages, verify_sample
from rewardkit.server.app import create_app
from tests._fixtures import registered

from . import _nemo_gym_0_7 as ng
from ._rewards import PLUGIN

pytestmark = pytest.mark.timeout(300)

MATH = {"name": "gym", "rewards": [{"name": "math"}, {"name": "think_format", "weight": 0.2}]}


@pytest.fixture(autouse=True)
def test_rewards() -> Iterator[None]:
    with registered(PLUGIN, "nemo-gym-test-rewards"):
        yield


def _response(*output: dict[str, Any]) -> dict[str, Any]:
    """A Responses object as NeMo-Gym's agents (and verifiers' trace_to_nemo_response) write it."""
    return {"id": "resp_1", "created_at": time.time(), "model": "policy", "object": "response",
            "output": list(output), "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
            "status": "completed"}  # fmt: skip


def _message(text: str) -> dict[str, Any]:
    return {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}  # fmt: skip


def _reasoning(text: str) -> dict[str, Any]:
    return {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": text}]}


def _row(*output: dict[str, Any], **fields: Any) -> dict[str, Any]:
    params = {"input": [{"role": "user", "content": "What is 6 * 7?"}], "temperature": 1.0}
    return {"responses_create_params": params, "response": _response(*output), **fields}


def _post(config: dict[str, Any], path: str, body: Any, check: Callable[[int, Any], None]) -> None:
    async def main() -> None:
        async with TestClient(TestServer(create_app(parse_config(config), 0), host="127.0.0.1")) as client:
            resp = await client.post(path, json=body)
            check(resp.status, await resp.json())

    asyncio.run(main())


def _verify(config: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    got: dict[str, Any] = {}

    def check(status: int, reply: Any) -> None:
        assert status == 200, reply
        got.update(reply)

    _post(config, "/verify", body, check)
    return got


# --- the contract ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "fields", "reward"),
    [
        ([_message("<think>6*7</think><answer>42</answer>")], {"expected_answer": "42"}, 1.2),
        ([_message("<think>6*7</think><answer>41</answer>")], {"expected_answer": "42"}, 0.2),
        ([_reasoning("6 times 7"), _message("<answer>42</answer>")], {"expected_answer": "42"}, 1.2),
        ([_message("The answer is 42.")], {"answer": "42"}, 1.0),  # the config's reference column wins
    ],
)
def test_verify_replies_as_nemo_gym_defines_it(output: list[dict[str, Any]], fields: dict[str, Any],
                                               reward: float) -> None:  # fmt: skip
    body = _row(*output, **fields, _ng_rollout_id="r-1")
    ng.BaseVerifyRequest.model_validate(body)  # the fixture is a valid NeMo-Gym request
    reply = _verify(MATH, body)
    parsed = ng.BaseMultiRewardVerifyResponse.model_validate(reply)
    assert parsed.reward == pytest.approx(reward) and not parsed.mask_sample and parsed.failure_kind is None
    [expected] = compose(MATH).score_samples([verify_sample(body, "answer")])
    assert parsed.reward_components == {k: v for k, v in expected.values().items() if v is not None}
    assert reply["math"] == parsed.reward_components["math"]  # top level too: aggregate metrics read it
    assert reply["responses_create_params"] == body["responses_create_params"] and "_ng_rollout_id" not in reply
    assert {k: reply[k] for k in fields} == fields  # verifier fields echoed


def test_output_items_become_chat_messages() -> None:
    call = {"type": "function_call", "call_id": "c1", "name": "calc", "arguments": '{"x": 6}'}
    result = {"type": "function_call_output", "call_id": "c1", "output": "42"}
    messages = output_messages([_reasoning("use the tool"), call, result, _message("It is 42.")])
    assert messages == [
        {"role": "assistant", "content": "", "reasoning_content": "use the tool",
         "tool_calls": [{"function": {"name": "calc", "arguments": '{"x": 6}'}}]},
        {"role": "tool", "content": "42"},
        {"role": "assistant", "content": "It is 42."},
    ]  # fmt: skip


# --- failures in the judge failsafe's form ------------------------------------------------------------------


def test_an_infrastructure_failure_is_masked_like_a_failed_judge() -> None:
    reply = _verify({"rewards": ["flaky", "math"]}, _row(_message("FAIL 42"), expected_answer="42"))
    parsed = ng.BaseMultiRewardVerifyResponse.model_validate(reply)
    assert (parsed.reward, parsed.mask_sample, parsed.failure_kind) == (0.0, True, "verifier_error")
    assert "the sandbox is down" in (parsed.failure_reason or "")
    assert all(k in reply for k in ng.FAILSAFE_KEYS) and reply["instance_config"] == {"mask_sample": True}
    assert ng.goes_to_failures_sidecar(reply) and ng.known_failure_kind(reply["failure_kind"])
    assert reply["reward_components"] == {"math": 1.0}  # the terms that did score are still reported


def test_an_unreachable_judge_is_judge_failed() -> None:
    judge = {"name": "judge", "params": {"base_url": "http://127.0.0.1:9/v1", "model": "m", "max_retries": 0,
                                         "cache_path": None, "timeout_s": 2}}  # fmt: skip
    reply = _verify({"rewards": [judge]}, _row(_message("Canberra"), expected_answer="Canberra"))
    assert (reply["reward"], reply["mask_sample"], reply["failure_kind"]) == (0.0, True, "judge_failed")
    assert reply["_ng_failure_class"] == "judge_failed" and reply["_ng_failure_judge_error"]
    ng.BaseMultiRewardVerifyResponse.model_validate(reply)


def test_a_row_no_term_applies_to_is_masked_but_not_retried() -> None:
    reply = _verify({"rewards": ["math"]}, _row(_message("42")))  # no gold
    assert reply["mask_sample"] and reply["failure_kind"] == "rewardkit:not_applicable"
    assert ng.known_failure_kind(reply["failure_kind"]) and not ng.goes_to_failures_sidecar(reply)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"response": _response()}, "'responses_create_params' is required"),
        ({"responses_create_params": {"input": "q"}}, "'response' is required"),
        ({"responses_create_params": {"input": "q"}, "response": {"output": "x"}}, "'output' list"),
        ({"responses_create_params": {"input": "q"}, "response": {"output": [1]}}, "response.output[0]"),
        ([1], "expects a JSON object"),
    ],
)
def test_malformed_requests_are_422(body: Any, message: str) -> None:
    def check(status: int, reply: Any) -> None:
        assert status == 422 and message in reply["error"]

    _post(MATH, "/verify", body, check)


# --- verifiers 0.4's NeMo-Gym client against the server -----------------------------------------------------


def test_verifiers_nemo_gym_taskset_scores_through_verify() -> None:
    vf = pytest.importorskip("verifiers.v1")
    from verifiers.v1.tasksets.nemo_gym.taskset import NeMoGymData, NeMoGymTask, NeMoGymTaskConfig
    from verifiers.v1.tasksets.nemo_gym.toolset import NeMoGymState

    row = {"responses_create_params": {"input": [{"role": "user", "content": "What is 6 * 7?"}]},
           "expected_answer": "42"}  # fmt: skip

    async def main() -> Any:
        server = TestServer(create_app(parse_config(MATH), 0), host="127.0.0.1")
        async with TestClient(server) as http:
            url = str(http.make_url("")).rstrip("/")
            task = NeMoGymTask(NeMoGymData(prompt="What is 6 * 7?", row=row), NeMoGymTaskConfig(resources_url=url))
            agent, state = vf.AgentInfo(config=vf.AgentConfig()), NeMoGymState(resources_url=url)
            trace = vf.Trace(task=vf.TraceTask(type="NeMoGymTask", data=task.data), agent=agent, state=state)
            trace.nodes.append(vf.MessageNode(message=vf.UserMessage(content="What is 6 * 7?")))
            reply = vf.AssistantMessage(reasoning_content="6 times 7", content="<answer>42</answer>")
            trace.nodes.append(vf.MessageNode(parent=0, message=reply, sampled=True))
            await task.score(trace)  # verifiers posts trace_to_nemo_response(trace) to /verify
            return trace

    trace = asyncio.run(main())
    assert trace.rewards["nemo_gym"].score == pytest.approx(1.2)  # math 1 + 0.2 x think_format 1
    assert trace.metrics["math"] == 1.0 and trace.metrics["think_format"] == 1.0
    assert trace.metrics["mask_sample"] == 0.0
    assert trace.info["nemo_gym"]["reward_components"] == {"math": 1.0, "think_format": 1.0}
