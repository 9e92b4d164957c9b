"""OpenRLHF 0.11.2 conformance, driven by OpenRLHF's own client code against `rewardkit serve` and `reward_func`.

The code is the wheel's, vendored unchanged in tests/data/openrlhf/ (see its README for file, version and
sha256): `openrlhf/utils/agent.py` (``SingleTurnAgentExecutor``: decode with special tokens kept, one sample
per request, 5 tries then None, ``reward_func`` in a thread) and `openrlhf/trainer/ppo_utils/samples_generator.py`
(responses into experiences; dynamic filtering on ``scores``). Only what needs a GPU is stood in for: ``vllm``
(``SamplingParams``), ``ray`` (``get``/``wait`` on plain values), the engine (a scripted response) and the
tokenizer (one token per character, so decode(encode(text)) == text as with a real tokenizer's round trip).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.machinery
import importlib.util
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import textwrap
import threading
import time
import types
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("aiohttp")
pytest.importorskip("torch")

import torch
from aiohttp import web

from rewardkit.config import CompositionConfig, parse_config
from rewardkit.evaluate import Scored
from rewardkit.integrations import openrlhf as adapter
from rewardkit.integrations.openrlhf import INVALID, OpenRLHFReward, Replies, label_columns, response_of
from rewardkit.server.app import ServerSettings, create_app
from rewardkit.stats import MASKED
from rewardkit.types import Score
from tests.server.test_serve import free_port, wait_up

from .._fixtures import CONTAINS_X, HOSTILE, INFRA, config_of

REPO = Path(__file__).resolve().parents[2]
VENDORED = REPO / "tests" / "data" / "openrlhf"
EXAMPLE = REPO / "examples" / "openrlhf_reward_func.py"
GATED = {"rewards": [{"name": "think_format", "weight": 0.2}, {"name": "math", "gate": "think_format"}]}
PROMPT = "<|im_start|>user\nWhat is 6*7?<|im_end|>\n<|im_start|>assistant\n"
GOOD = "<think>6*7 is 42</think>\n<answer>42</answer>"

# -- OpenRLHF's own code, loaded with stand-ins for its GPU packages ------------------------------------


class _Ref:
    def __init__(self, value: Any) -> None:
        self.value = value


def _ray_get(ref: Any) -> Any:
    return [r.value for r in ref] if isinstance(ref, list) else ref.value


def _load(monkeypatch: pytest.MonkeyPatch, name: str, file: str) -> types.ModuleType:
    loader = importlib.machinery.SourceFileLoader(name, str(VENDORED / file))  # the .txt suffix needs it named
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    loader.exec_module(module)
    return module


@pytest.fixture
def orl(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """OpenRLHF 0.11.2's executor and samples generator modules, imported from the vendored files."""
    for name in [n for n in sys.modules if n == "openrlhf" or n.startswith("openrlhf.")]:
        monkeypatch.delitem(sys.modules, name)
    packages = ["openrlhf", "openrlhf.utils", "openrlhf.trainer", "openrlhf.trainer.ppo_utils",
                "openrlhf.trainer.ray"]  # fmt: skip
    for name in packages:
        package = types.ModuleType(name)
        package.__path__ = []
        monkeypatch.setitem(sys.modules, name, package)
    stubs = {
        "ray": {"get": _ray_get, "wait": lambda refs, num_returns, timeout: (refs[:num_returns], refs[num_returns:])},
        "vllm": {"SamplingParams": lambda **kw: SimpleNamespace(**kw)},
        "openrlhf.trainer.ray.vllm_engine": {"batch_vllm_engine_call": lambda *a, **k: None},
        "openrlhf.utils.utils": {"zero_pad_sequences": None},  # used only when merging batches
    }
    for name, attrs in stubs.items():
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        monkeypatch.setitem(sys.modules, name, module)
    _load(monkeypatch, "openrlhf.utils.logging_utils", "logging_utils.py.txt")
    agent = _load(monkeypatch, "openrlhf.utils.agent", "agent.py.txt")
    _load(monkeypatch, "openrlhf.trainer.ppo_utils.experience", "experience.py.txt")
    generator = _load(monkeypatch, "openrlhf.trainer.ppo_utils.samples_generator", "samples_generator.py.txt")
    monkeypatch.setattr(agent.asyncio, "sleep", _no_sleep)  # its 1 s pause between tries
    return SimpleNamespace(agent=agent, generator=generator)


async def _no_sleep(seconds: float) -> None:
    return None


class CharTokenizer:
    """One token per character; ``decode`` keeps special-token text, as ``skip_special_tokens=False`` does."""

    def __call__(self, text: str, add_special_tokens: bool, return_tensors: str) -> dict[str, Any]:
        return {"input_ids": torch.tensor([[ord(c) for c in text]])}

    def decode(self, ids: list[int], skip_special_tokens: bool) -> str:
        return "".join(map(chr, ids))


class ScriptedEngine:
    """vLLM's place: answers each prompt with the responses scripted for it, ending in the EOS text."""

    def __init__(self, executor: Any, script: Callable[[str, int], str], eos: str = "<|im_end|>") -> None:
        self.executor, self.script, self.eos = executor, script, eos
        self.calls: dict[str, int] = {}
        self.get_num_unfinished_requests = SimpleNamespace(remote=lambda: _Ref(0))
        self.generate_responses = SimpleNamespace(remote=self._generate_responses)

    async def generate(self, prompt_token_ids: list[int], params: Any, multi_modal_data: Any = None) -> Any:
        prompt = "".join(map(chr, prompt_token_ids))
        k = self.calls[prompt] = self.calls.get(prompt, -1) + 1
        ids = [ord(c) for c in self.script(prompt, k) + self.eos]
        return SimpleNamespace(outputs=[SimpleNamespace(token_ids=ids, finish_reason="stop", logprobs=None)])

    def _generate_responses(self, prompt: str, label: Any, sampling_params: Any, max_length: int,
                            hf_tokenizer: Any, num_samples: int = 1, images: Any = None) -> _Ref:  # fmt: skip
        async def gather() -> list[Any]:  # RolloutRayActor.generate_responses, vllm_engine.py:183
            return list(await asyncio.gather(*(self.executor.execute(prompt=prompt, label=label,
                sampling_params=sampling_params, max_length=max_length, hf_tokenizer=hf_tokenizer,
                llm_engine=self, images=images) for _ in range(num_samples))))  # fmt: skip

        return _Ref(asyncio.run(gather()))


def params(max_tokens: int | None = 64) -> SimpleNamespace:
    return SimpleNamespace(max_tokens=max_tokens, logprobs=None)


def execute(executor: Any, engine: ScriptedEngine, prompt: str, label: Any, max_length: int = 4096) -> dict[str, Any]:
    return dict(asyncio.run(executor.execute(prompt, label, params(), max_length, CharTokenizer(), engine)))


@contextmanager
def server(config: CompositionConfig, workers: int = 0, settings: ServerSettings | None = None) -> Iterator[str]:
    """`rewardkit serve`'s application on a loopback port, in a thread with its own event loop."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(config, workers, settings))
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/get_reward"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def post(url: str, body: bytes) -> tuple[int, Any]:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# -- the HTTP protocol, through OpenRLHF's client ---------------------------------------------------------


@pytest.mark.parametrize("eos", ["<|im_end|>", "</s>", "<|eot_id|>", "<|endoftext|>", "<|im_end|><|endoftext|>"])
def test_special_tokens_kept_by_its_decode_do_not_fail_the_format(orl: SimpleNamespace, eos: str) -> None:
    # agent.py: query = hf_tokenizer.decode(observation_tokens, skip_special_tokens=False)
    with server(parse_config(GATED)) as url:
        executor = orl.agent.SingleTurnAgentExecutor([url])
        out = execute(executor, ScriptedEngine(executor, lambda p, k: GOOD, eos), PROMPT, "42")
    assert out["reward"] == [pytest.approx(1.2)] and out["scores"] == [1.0]
    assert out["extra_logs"]["think_format"] == [1.0] and out["extra_logs"]["math"] == [1.0]


def test_experience_and_dynamic_filtering_take_our_reply(orl: SimpleNamespace) -> None:
    """samples_generator.py 0.11.2: groups averaging 0 or 1 are dropped, mixed ones kept, tensors built."""
    answers = {"Q0": ["42", "41", "42", "40"], "Q1": ["42"] * 4}  # mixed; all right; Q2: no format, all wrong

    def script(prompt: str, k: int) -> str:
        return f"<think>thinking</think>\n<answer>{answers[prompt][k]}</answer>" if prompt in answers else "7"

    with server(parse_config(GATED), workers=1) as url:
        generator = _generator(orl, url, script, n=4)
        data = iter([(None, ["Q0", "Q1", "Q2"], ["42", "42", "42"], [None] * 3)])
        accepted, consumed, _ = generator._generate_vllm(data, 3, dynamic_filtering=True, max_len=4096)
    assert consumed == 3 and [e.prompts[0] for e in accepted] == ["Q0"] * 4
    rewards = [e.rewards.flatten().item() for e in accepted]
    assert rewards == pytest.approx([1.2, 0.2, 1.2, 0.2])
    assert [e.scores.flatten().item() for e in accepted] == pytest.approx([1.0, 0.2 / 1.2, 1.0, 0.2 / 1.2])
    keys = {frozenset(e.info) for e in accepted}
    assert len(keys) == 1, "every sample must carry the same info keys (experiences are merged key by key)"
    assert {MASKED, INVALID, "math", "rewardkit/math/errors"} <= next(iter(keys))


def _generator(orl: SimpleNamespace, url: str, script: Callable[[str, int], str], n: int) -> Any:
    generator = object.__new__(orl.generator.SamplesGenerator)
    executor = orl.agent.SingleTurnAgentExecutor([url])
    generator.vllm_engines = [ScriptedEngine(executor, script)]
    generator.tokenizer = CharTokenizer()
    generator.args = SimpleNamespace(
        algo=SimpleNamespace(dynamic_filtering_range=(0.0, 1.0), advantage=SimpleNamespace(is_correction_level="off")),
        rollout=SimpleNamespace(n_samples_per_prompt=n),
    )
    return generator


def test_an_outage_is_a_zero_score_group_that_dynamic_filtering_drops(orl: SimpleNamespace) -> None:
    config = config_of((INFRA, 1.0, 5.0), (CONTAINS_X, 1.0, 5.0), max_error_rate=1.0)
    with server(config) as url:
        generator = _generator(orl, url, lambda p, k: "down" if p == "Q0" else ("up x" if k % 2 else "up"), n=4)
        data = iter([(None, ["Q0", "Q1"], ["", ""], [None, None])])
        accepted, _, _ = generator._generate_vllm(data, 2, dynamic_filtering=True, max_len=4096)
        executor = orl.agent.SingleTurnAgentExecutor([url])
        masked = execute(executor, ScriptedEngine(executor, lambda p, k: "down"), "Q0", "")
    assert masked["reward"] == [0.0] and masked["scores"] == [0.0]  # a number: None would crash the trainer
    assert masked["extra_logs"][MASKED] == [1.0] and masked["extra_logs"]["rewardkit/infra/errors"] == [1.0]
    assert {e.prompts[0] for e in accepted} == {"Q1"}  # the all-masked group is dropped


def test_one_sample_per_request_fills_one_error_budget_across_requests(orl: SimpleNamespace) -> None:
    config = config_of((INFRA, 1.0, 5.0), max_error_rate=0.25)
    with server(config) as url:
        executor = orl.agent.SingleTurnAgentExecutor([url])
        texts = ("up", "down", "down")  # one sample per request; 3 samples: too few to judge yet
        replies = [execute(executor, ScriptedEngine(executor, lambda p, k, t=t: t), "Q", "") for t in texts]
        assert [r["reward"] for r in replies] == [[1.0], [0.0], [0.0]]
        # The next failure puts 3 of the last 4 over budget: 503, and 503 again on each of OpenRLHF's
        # five tries (the window stays over budget), then no reward: the trainer stops, loudly.
        failing = ScriptedEngine(executor, lambda p, k: "down")
        out = execute(executor, failing, "Q", "")
        assert out["reward"] is None and failing.calls == {"Q": 0}
        recovered = [execute(executor, ScriptedEngine(executor, lambda p, k: "up"), "Q", "") for _ in range(20)]
    assert recovered[-1]["reward"] == [1.0]  # once the service is back, the window recovers


def test_time_budgets_hold_at_batch_one(orl: SimpleNamespace) -> None:
    config = config_of((HOSTILE, 1.0, 1.0))
    with server(config, workers=1) as url:
        executor = orl.agent.SingleTurnAgentExecutor([url])
        started = time.monotonic()
        out = execute(executor, ScriptedEngine(executor, lambda p, k: "spin"), "Q", "")
    assert time.monotonic() - started < 30
    assert out["reward"] == [0.0] and out["extra_logs"]["rewardkit/hostile/timeouts"] == [1.0]


BAD_ROWS = [
    ({"query": [7], "prompts": ["Q"], "labels": ["1"]}, "the query must be a string"),
    ({"query": ["Q? A"], "prompts": [["Q?"]], "labels": ["1"]}, "the prompt must be a string"),
    ({"query": ["other text"], "prompts": ["Q?"], "labels": ["1"]}, "does not contain its prompt"),
    ({"query": ["Q?\ud800"], "prompts": ["Q?"], "labels": ["1"]}, "lone UTF-16 surrogate"),
    ({"query": ["Q? A"], "prompts": ["Q?"], "labels": [["x"]]}, None),  # a list label is a gold like any
    ({"query": ["Q? A"], "prompts": ["Q?"], "labels": [json.loads("[" * 80 + "]" * 80)]}, "nested more than"),
]


@pytest.mark.parametrize(("doc", "reason"), BAD_ROWS)
def test_a_bad_row_gets_the_null_reward_never_an_error_status(doc: dict[str, Any], reason: str | None,
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(adapter, "problems", adapter._ProblemLog())  # its first reports are logged
    with server(parse_config(GATED), settings=ServerSettings(null_reward=-0.5)) as url:
        status, reply = post(url, json.dumps(doc).encode())
    assert status == 200, reply
    if reason is None:
        assert reply["extra_logs"][INVALID] == [0.0]
        return
    assert reply["rewards"] == [-0.5] and reply["scores"] == [0.0] and reply["extra_logs"][INVALID] == [1.0]
    assert any(reason in r.getMessage() for r in caplog.records)


# -- labels, prompts, scores ---------------------------------------------------------------------------------

TESTS_IO = {"inputs": ["1 2\n", "5 5\n"], "outputs": ["3\n", "10\n"]}


@pytest.mark.parametrize(
    ("label", "columns"),
    [
        ("42", {"answer": "42"}),  # a plain gold answer
        ("[1, 2]", {"answer": "[1, 2]"}),  # an interval or list as math writes it stays a gold answer
        ("{1,2}", {"answer": "{1,2}"}),  # not JSON: a set
        (json.dumps({"input_output": TESTS_IO}), {"input_output": TESTS_IO}),  # a row as JSON, APPS tests
        (json.dumps(TESTS_IO), {"input_output": TESTS_IO}),  # APPS's object on its own
        ('[{"input": "1", "output": "1"}]', {"tests": [{"input": "1", "output": "1"}]}),  # stdin/stdout
        ({"test": "def check(f): pass", "entry_point": "f"}, {"test": "def check(f): pass", "entry_point": "f"}),
        ({"answer": "7", "task": "math"}, {"answer": "7", "task": "math"}),  # a row object: gold + columns
        ({"unit": "cm"}, {"answer": {"unit": "cm"}}),  # an object naming no column is a gold
        ("{" * 5000, {"answer": "{" * 5000}),  # broken JSON stays text
    ],
)
def test_labels_are_read_as_gold_or_row_columns(label: Any, columns: dict[str, Any]) -> None:
    assert label_columns(label, "answer") == columns


CODE = "```python\na, b = map(int, input().split())\nprint(a + b)\n```"


@pytest.mark.parametrize("label", [json.dumps({"input_output": TESTS_IO}), json.dumps(TESTS_IO)])
def test_code_tests_carried_in_labels_run(orl: SimpleNamespace, label: str) -> None:
    config = parse_config({"rewards": [{"name": "code"}]})
    with server(config, workers=1) as url:
        executor = orl.agent.SingleTurnAgentExecutor([url])
        right = execute(executor, ScriptedEngine(executor, lambda p, k: CODE), "Add:", label)
        wrong = execute(executor, ScriptedEngine(executor, lambda p, k: CODE.replace("+", "-")), "Add:", label)
    assert right["reward"] == [1.0] and wrong["reward"] == [0.0]


@pytest.mark.parametrize(
    ("query", "prompt", "response"),
    [
        ("Q: 1+1?\nA: 2", "Q: 1+1?\n", "A: 2"),
        ("<pad><s>Q?A", "<s>Q?", "A"),  # left padding or BOS kept by the decode
        ("x" * 300 + "END" + "resp", "P" * 50 + "x" * 300 + "END", "resp"),  # prompt cut from the left
        ("gled" + "x" * 300 + "END" + "resp", "P" * 50 + "x" * 300 + "END", "resp"),  # a garbled first token
        ("x" * 300 + "resp", "P" * 50 + "x" * 300 + "END", None),  # the prompt's end is missing
        ("anything", None, "anything"),
    ],
)
def test_response_of(query: str, prompt: str | None, response: str | None) -> None:
    assert response_of(query, prompt) == response


def test_a_prompt_cut_from_the_left_by_openrlhf_is_still_found(orl: SimpleNamespace) -> None:
    prompt = "<|im_start|>user\n" + "Some context. " * 60 + "What is 6*7?<|im_end|>\n<|im_start|>assistant\n"
    with server(parse_config(GATED)) as url:
        executor = orl.agent.SingleTurnAgentExecutor([url])
        engine = ScriptedEngine(executor, lambda p, k: GOOD)
        out = execute(executor, engine, prompt, "42", max_length=len(prompt) // 2 + 64)  # agent.py truncates
    assert out["reward"] == [pytest.approx(1.2)]


@given(st.lists(st.one_of(st.none(), st.floats(-1.0, 1.0)), min_size=1, max_size=8))
def test_scores_are_the_total_rescaled_into_0_1(totals: list[float | None]) -> None:
    config = parse_config({"rewards": [{"name": "math"}, {"name": "soft_overlong", "params": {"unit": "chars"}}]})
    assert config.output_range() == (-1.0, 1.0)
    results = [Scored(t, {"math": Score.ok(0.0) if t is not None else Score.error("down")}) for t in totals]
    reply = Replies(config).reply(results and [adapter.row("q", None, "1", "answer")] * len(results), results)
    assert all(0.0 <= s <= 1.0 for s in reply["scores"])
    for total, score in zip(totals, reply["scores"], strict=True):
        assert score == (0.0 if total is None else pytest.approx((total + 1) / 2))


def test_scores_reach_1_on_a_row_where_only_some_terms_apply() -> None:
    """math + code: a math row (no tests) has code n/a, so a correct answer must reach the top of [0, 1];
    by the whole range [0, 2] it would score 0.5 and dynamic filtering would keep an all-correct group."""
    config = parse_config({"rewards": [{"name": "math"}, {"name": "code"}]})
    assert config.output_range() == (0.0, 2.0)
    right = Scored(1.0, {"math": Score.ok(1.0), "code": Score.not_applicable("the row has no tests")})
    wrong = Scored(0.0, {"math": Score.ok(0.0), "code": Score.not_applicable("the row has no tests")})
    both = Scored(1.5, {"math": Score.ok(1.0), "code": Score.ok(0.5)})
    entries = [adapter.row("q", None, "1", "answer")] * 3
    assert Replies(config).reply(entries, [right, wrong, both])["scores"] == [1.0, 0.0, 0.75]


# -- the custom reward function mode (--reward.remote_url file.py) -------------------------------------------


def test_the_example_file_loaded_as_openrlhf_loads_it(orl: SimpleNamespace, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    config = tmp_path / "rewards.yaml"
    config.write_text("workers: 1\nrewards:\n  - {name: think_format, weight: 0.2}\n"
                      "  - {name: math, gate: think_format}\n")
    monkeypatch.setenv(adapter.CONFIG_ENV, str(config))
    monkeypatch.delenv(adapter.WORKERS_ENV, raising=False)
    monkeypatch.setattr(adapter, "_default", None)
    executor = orl.agent.SingleTurnAgentExecutor([str(EXAMPLE)])  # agent.py: spec_from_file_location
    engine = ScriptedEngine(executor, lambda p, k: GOOD if k % 2 == 0 else "It is 41.")
    try:
        started = time.monotonic()
        one = execute(executor, engine, PROMPT, "42")  # one sample: must not wait for a batch to fill
        assert time.monotonic() - started < 60 and one["reward"] == [pytest.approx(1.2)]
        outs = asyncio.run(_many(executor, engine, 16))
        assert adapter.default_reward().scorer.workers == 1  # the YAML's workers: key
    finally:
        adapter.default_reward().close()
        monkeypatch.setattr(adapter, "_default", None)
    assert sorted(o["reward"][0] for o in outs) == pytest.approx([0.0] * 8 + [1.2] * 8)


async def _many(executor: Any, engine: ScriptedEngine, n: int) -> list[dict[str, Any]]:
    calls = (executor.execute(PROMPT, "42", params(), 4096, CharTokenizer(), engine) for _ in range(n))
    return list(await asyncio.gather(*calls))


def test_reward_func_enforces_time_budgets_on_one_sample() -> None:
    reward = OpenRLHFReward(config_of((HOSTILE, 1.0, 1.0)), workers=1)
    try:
        started = time.monotonic()
        out = reward(["Q spin"], ["Q "], [""])
        fine = reward(["Q fine"], ["Q "], [""])
    finally:
        reward.close()
    assert time.monotonic() - started < 30
    assert out["extra_logs"]["rewardkit/hostile/timeouts"] == [1.0] and fine["rewards"] == [0.5]


# -- docs/trainers/openrlhf.md: every snippet runs -------------------------------------------------------------

DOC = REPO / "docs" / "trainers" / "openrlhf.md"


def doc_block(name: str) -> str:
    found = re.search(rf"<!-- test: {re.escape(name)} -->\n```\w*\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert found, f"{DOC} has no block marked {name}"
    return found.group(1)


def openrlhf_parser() -> argparse.ArgumentParser:
    """train_ppo_ray.py 0.11.2's own argument parser (its ``__main__`` block, up to ``parse_args``)."""
    source = (VENDORED / "train_ppo_ray.py.txt").read_text()
    start, end = source.index("    parser = argparse.ArgumentParser()"), source.index("    args = parser.parse_args()")
    block = source[start:end]
    namespace: dict[str, Any] = {"argparse": argparse, "os": os, "datetime": datetime}  # its own imports
    exec(textwrap.dedent(block), namespace)
    parser: argparse.ArgumentParser = namespace["parser"]
    return parser


def command_args(block: str) -> list[str]:
    line = next(c for c in block.replace("\\\n", " ").splitlines() if "openrlhf.cli.train_ppo_ray" in c)
    words = shlex.split(line)
    return words[words.index("openrlhf.cli.train_ppo_ray") + 1 :]


@pytest.mark.parametrize("name", ["openrlhf-train", "openrlhf-func"])
def test_the_documented_flags_are_openrlhf_0_11_2s(name: str) -> None:
    parser = openrlhf_parser()
    args = vars(parser.parse_args(command_args(doc_block(name))))
    assert args["data.label_key"] == "answer"
    urls = args["reward.remote_url"].split(",")  # what train_ppo_ray.py does with it
    assert all(u.endswith("/get_reward") for u in urls) or urls == ["examples/openrlhf_reward_func.py"]
    if name == "openrlhf-train":
        assert args["algo.dynamic_filtering_enable"] and args["algo.dynamic_filtering_range"] == [0.0, 1.0]
    for old in (["--remote_rm_url", "x"], ["--label_key", "answer"]):  # the flags older docs named
        with pytest.raises(SystemExit):
            parser.parse_args(old)


def test_the_documented_server_command_answers_the_documented_rows(tmp_path: Path) -> None:
    (tmp_path / "rewards.yaml").write_text(doc_block("openrlhf-rewards"))
    command = shlex.split(doc_block("openrlhf-serve"))
    assert command[:2] == ["rewardkit", "serve"]
    port = free_port()
    command = [sys.executable, "-m", "rewardkit", *command[1:]]
    command[command.index("--port") + 1] = str(port)
    command[command.index("--host") + 1] = "127.0.0.1"  # a test listens on loopback only
    proc = subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_up(url, proc, timeout=90)
        with urllib.request.urlopen(f"{url}/health", timeout=10) as resp:
            health = json.loads(resp.read())
        frontends = int(command[command.index("--frontends") + 1]) if "--frontends" in command else 1
        assert health["frontends"] == frontends and health["workers"] == max(1, 2 // frontends)  # YAML workers: 2
        math_row, code_row = [json.loads(line) for line in doc_block("openrlhf-labels").splitlines()]
        prompt = f"<|im_start|>user\n{math_row['question']}<|im_end|>\n<|im_start|>assistant\n"
        status, reply = post(f"{url}/get_reward", json.dumps(
            {"query": [prompt + GOOD + "<|im_end|>"], "prompts": [prompt], "labels": [math_row["answer"]]}).encode())
        assert (status, reply["rewards"], reply["scores"]) == (200, [pytest.approx(1.2)], [1.0])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    code = OpenRLHFReward(parse_config({"rewards": [{"name": "code"}]}), workers=1)
    try:
        out = code([f"Q{CODE}"], ["Q"], [code_row["answer"]])  # the code row's label: tests as a JSON string
    finally:
        code.close()
    assert out["rewards"] == [1.0]


def test_the_documented_reward_function_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "rewards.yaml").write_text(doc_block("openrlhf-rewards"))
    monkeypatch.chdir(tmp_path)
    export = next(line for line in doc_block("openrlhf-func").splitlines() if line.startswith("export "))
    for assignment in shlex.split(export)[1:]:
        key, _, value = assignment.partition("=")
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(adapter, "_default", None)
    try:
        exec(compile(doc_block("openrlhf-python"), str(DOC), "exec"), {})
        assert adapter.default_reward().scorer.workers == 2
    finally:
        adapter.default_reward().close()
        monkeypatch.setattr(adapter, "_default", None)


