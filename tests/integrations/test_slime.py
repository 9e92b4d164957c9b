"""slime's remote reward model (``--rm-type remote_rm --rm-url``): ``/slime`` and ``/slime/scalar`` driven by a
faithful replay of slime's own ``remote_rm`` client and ``Sample.get_reward_value``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("aiohttp")

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from rewardkit import compose
from rewardkit.config import parse_config
from rewardkit.integrations.slime import request_sample
from rewardkit.server.app import ServerSettings, create_app
from tests._fixtures import registered

from ._rewards import PLUGIN
from ._slime_client import Args, Sample, remote_rm

pytestmark = pytest.mark.timeout(300)

MATH = {"name": "slime", "rewards": [{"name": "math"}, {"name": "think_format", "weight": 0.2}]}
PROMPT = "<|im_start|>user\nWhat is 6*7?<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(autouse=True)
def test_rewards() -> Iterator[None]:
    with registered(PLUGIN, "slime-test-rewards"):
        yield


def _with_server(config: dict[str, Any], test: Callable[[str], Awaitable[Any]], null_reward: float = 0.0) -> Any:
    async def main() -> Any:
        app = create_app(parse_config(config), 0, ServerSettings(null_reward=null_reward))
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            return await test(str(client.make_url("")).rstrip("/"))

    return asyncio.run(main())


def _rewards(config: dict[str, Any], samples: list[Sample], path: str, reward_key: str | None,
             null_reward: float = 0.0) -> list[Any]:  # fmt: skip
    async def test(url: str) -> list[Any]:
        args = Args(rm_url=url + path, reward_key=reward_key)
        for s in samples:
            s.reward = await remote_rm(args, s)  # what slime's async_rm stores on the sample
        return [s.get_reward_value(args) for s in samples]

    return _with_server(config, test, null_reward)


@pytest.mark.parametrize(
    ("response", "label", "total"),
    [
        ("<think>6*7</think><answer>42</answer><|im_end|>", "42", 1.2),  # the EOS token slime decodes is dropped
        ("<think>6*7</think><answer>41</answer>", "42", 0.2),
        ("The answer is 42.", "42", 1.0),
        ("The answer is 42.", {"answer": "42"}, 1.0),  # a label object is the row's columns
    ],
)
def test_both_replies_are_the_composition_total(response: str, label: Any, total: float) -> None:
    [expected] = compose(MATH).score_samples([request_sample({"prompt": PROMPT, "response": response,
                                                               "label": label}, "answer")])  # fmt: skip
    assert expected.total == pytest.approx(total)
    keyed = _rewards(MATH, [Sample(PROMPT, response, label)], "/slime", "score")
    scalar = _rewards(MATH, [Sample(PROMPT, response, label)], "/slime/scalar", None)
    assert keyed == scalar == [pytest.approx(total)]


def test_the_object_reply_carries_every_term_and_the_masked_flag() -> None:
    [sample] = [Sample(PROMPT, "<think>a</think><answer>42</answer>", "42")]
    _rewards(MATH, [sample], "/slime", "score")
    assert sample.reward == {"score": 1.2, "math": 1.0, "think_format": 1.0, "rewardkit/masked": 0.0}


def test_label_columns_and_chat_prompts_reach_the_rewards() -> None:
    config = {"rewards": ["task_is_math"]}
    chat = [{"role": "user", "content": "What is 6*7?"}]
    got = _rewards(config, [Sample(chat, "42", {"answer": "42", "task": "math"}),
                            Sample(chat, "42", {"answer": "42", "task": "code"})], "/slime/scalar", None)  # fmt: skip
    assert got == [1.0, 0.0]


def test_a_masked_total_is_the_null_reward_flagged() -> None:
    samples = [Sample(PROMPT, "FAIL 42", "42")]
    assert _rewards({"rewards": ["flaky", "math"]}, samples, "/slime", "score", null_reward=-1.0) == [-1.0]
    assert samples[0].reward["rewardkit/masked"] == 1.0 and samples[0].reward["flaky"] is None


def test_past_the_error_budget_slime_retries_then_raises() -> None:
    config = {"max_error_rate": 0.5, "rewards": ["flaky"]}

    async def test(url: str) -> tuple[list[Any], BaseException | None]:
        args = Args(rm_url=url + "/slime", reward_key="score")
        got = [await remote_rm(args, Sample(PROMPT, "FAIL", "x"), backoff_scale=0.001) for _ in range(3)]
        try:
            await remote_rm(args, Sample(PROMPT, "FAIL", "x"), max_retries=3, backoff_scale=0.001)
        except aiohttp.ClientResponseError as exc:
            return got, exc
        return got, None

    got, error = _with_server(config, test)
    assert [g["rewardkit/masked"] for g in got] == [1.0, 1.0, 1.0]
    assert isinstance(error, aiohttp.ClientResponseError) and error.status == 503  # loud, not silent zeros


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"prompt": "p", "label": "1"}, "'response' is required"),
        ({"prompt": "p", "response": 3}, "'response'"),
        (["p"], "expects a JSON object"),
    ],
)
def test_malformed_requests_are_422(body: Any, message: str) -> None:
    async def test(url: str) -> tuple[int, Any]:
        async with aiohttp.ClientSession() as session, session.post(url + "/slime", json=body) as resp:
            return resp.status, await resp.json()

    status, reply = _with_server(MATH, test)
    assert status == 422 and message in reply["error"]
