"""The scoring core every front door goes through: row building, masking, the error budget, the time rule.

Each test here is one of the breaks found with the trainers' own client code (issue "One scoring core behind
every front door"); the trainer-specific conformance suites live in tests/integrations/.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardkit import Score, Status, compose
from rewardkit.budget import ErrorBudget
from rewardkit.compose import Composition
from rewardkit.errors import ErrorBudgetExceeded, InputError
from rewardkit.evaluate import Scored, evaluate_chunk
from rewardkit.io import AtomicWriter
from rewardkit.rows import SPECIAL_SUFFIXES, call_samples, clean_completion, row_sample, strip_special_suffix
from rewardkit.scorer import Scorer
from rewardkit.stats import Stats, trainer_metrics
from rewardkit.types import Sample, completion_text
from tests._fixtures import HOSTILE, INFRA, WHICH_WORKER, config_of

WELL_FORMED = "<think>2 + 2 = 4</think>\n<answer>4</answer>"


# -- rows ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (WELL_FORMED + "<|im_end|>", WELL_FORMED),  # Qwen / ChatML, as OpenRLHF decodes with special tokens kept
        (WELL_FORMED + "</s>", WELL_FORMED),  # Llama 2, Mistral
        (WELL_FORMED + "<|eot_id|>", WELL_FORMED),  # Llama 3
        (WELL_FORMED + "<|im_end|>\n<|endoftext|>", WELL_FORMED),  # end of turn, then end of text
        (WELL_FORMED + "\n\n\n", WELL_FORMED + "\n\n\n"),  # whitespace alone is the response's own: lengths count it
        (WELL_FORMED + "\n<|im_end|>\n", WELL_FORMED + "\n"),
        (WELL_FORMED + "<|endoftext|>" * 5, WELL_FORMED),  # padding with the EOS token
        (WELL_FORMED + "<pad><pad>", WELL_FORMED),
        (WELL_FORMED + "<｜end▁of▁sentence｜>", WELL_FORMED),  # DeepSeek
        ("<|im_end|> in the middle stays", "<|im_end|> in the middle stays"),
        ("a literal </s", "a literal </s"),  # not a whole token
        ("", ""),
    ],
)
def test_trailing_special_tokens_are_removed(text: str, expected: str) -> None:
    assert strip_special_suffix(text) == expected


def _strip_reference(text: str) -> str:
    """The specification, slowly: while the text, without its trailing whitespace, ends in a whole token
    (the first in `SPECIAL_SUFFIXES` order), cut that whitespace and the token."""
    end = len(text)
    while True:
        at = len(text[:end].rstrip())
        token = next((t for t in SPECIAL_SUFFIXES if text[:at].endswith(t)), None)
        if not at or token is None:
            return text[:end]
        end = at - len(token)


_PIECES = st.sampled_from([*SPECIAL_SUFFIXES, " ", "\n", "\t", "x", ">", "]", "<|", "end", "|>", "<pad", "s>"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=12).map("".join))
def test_removing_trailing_tokens_matches_its_specification(text: str) -> None:
    assert strip_special_suffix(text) == _strip_reference(text)


def test_think_format_passes_a_response_decoded_with_special_tokens() -> None:
    reward = compose([{"name": "think_format"}])
    assert reward(completions=[WELL_FORMED + "<|im_end|>", WELL_FORMED + "</s>"]) == [1.0, 1.0]


def test_reasoning_content_and_tool_calls_are_read() -> None:
    # TRL 1.16 with a response template or tools: the reasoning is in reasoning_content, calls in tool_calls.
    message = {"role": "assistant", "content": "<answer>4</answer>", "reasoning_content": "2 + 2 = 4",
               "tool_calls": [{"type": "function", "function": {"name": "submit", "arguments": '{"x": 4}'}}]}
    text = completion_text([message])
    assert text.startswith("<think>\n2 + 2 = 4\n</think>\n<answer>4</answer>")
    assert '<tool_call>{"name": "submit", "arguments": {"x": 4}}</tool_call>' in text
    reward = compose([{"name": "think_format"}])
    assert reward(completions=[[{"role": "assistant", "content": "<answer>4</answer>",
                                 "reasoning_content": "2 + 2 = 4"}]]) == [1.0]


def test_a_call_keeps_dataset_columns_and_drops_trainer_kwargs() -> None:
    samples = call_samples(
        ["p1", "p2"], ["a", "b"],
        {"answer": ["1", "2"], "task": ["t", "t"], "trainer_state": object(), "log_metric": print,
         "reward_router_address": "x", "completion_ids": [[1], [2]]},
        "answer",
    )
    assert [s.reference for s in samples] == ["1", "2"]
    assert samples[1].columns == {"task": "t", "completion_ids": [2]}


def test_a_row_and_a_call_build_the_same_sample() -> None:
    row = {"completion": WELL_FORMED + "<|im_end|>", "prompt": "p", "gold": "4", "task": "math", "reward": 1.0}
    from_row = row_sample(row, "gold")
    from_call = call_samples(["p"], [row["completion"]], {"gold": ["4"], "task": ["math"]}, "gold")[0]
    assert from_row == from_call == Sample(WELL_FORMED, "p", "4", {"task": "math"})


def test_clean_completion_leaves_chat_messages_alone() -> None:
    messages = [{"role": "assistant", "content": "x</s>"}]
    assert clean_completion(messages) is messages


# -- scores and faults -----------------------------------------------------------------------------


def test_score_refuses_ok_without_a_value() -> None:
    # Score(None, ok) would mask every total without counting against the error budget.
    with pytest.raises(ValueError, match="status 'ok' needs a value"):
        Score(None, Status.OK)
    with pytest.raises(ValueError, match="carries no value"):
        Score(1.0, Status.BUG)
    with pytest.raises(TypeError, match=r"rewardkit\.Status"):
        Score(1.0, "ok")  # type: ignore[arg-type]


def test_a_reward_that_raises_is_a_bug_counted_apart_with_its_traceback_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = config_of((HOSTILE, 1.0, 5.0), (INFRA, 1.0, 5.0))
    with caplog.at_level(logging.ERROR, logger="rewardkit"):
        results = evaluate_chunk(config, [Sample("raise"), Sample("raise"), Sample("down")])
    assert results[0].scores["hostile"].status is Status.BUG
    assert results[2].scores["infra"].status is Status.ERROR
    stats = Stats.of(results)
    assert (stats.terms["hostile"].bugs, stats.terms["hostile"].errors) == (2, 0)
    assert (stats.terms["infra"].bugs, stats.terms["infra"].errors) == (0, 1)
    tracebacks = [r for r in caplog.records if "a bug in the reward" in r.getMessage()]
    assert len(tracebacks) == 1 and "RuntimeError: boom" in tracebacks[0].getMessage()
    metrics = trainer_metrics(stats)
    assert metrics["rewardkit/hostile/bugs"] == 2.0 and metrics["rewardkit/infra/errors"] == 1.0
    assert metrics["rewardkit/masked"] == 1.0  # every row has a failed weighted term


# -- the error budget --------------------------------------------------------------------------------


def _scored(*statuses: Status) -> list[Scored]:
    make = {Status.OK: Score.ok(1.0), Status.ERROR: Score.error("down"),
            Status.NOT_APPLICABLE: Score.not_applicable("no gold"), Status.BUG: Score.bug("raised")}
    return [Scored(None, {"t": make[s]}) for s in statuses]


def test_the_budget_counts_failures_over_recent_calls_and_ignores_not_applicable() -> None:
    budget = ErrorBudget(0.5, window=8, min_samples=4)
    budget.record(_scored(Status.ERROR, Status.NOT_APPLICABLE, Status.NOT_APPLICABLE))
    budget.record(_scored(Status.OK))
    budget.record(_scored(Status.BUG))  # 2 failed of 3 applicable: too few to judge
    with pytest.raises(ErrorBudgetExceeded, match="3 of the last 4 scores of 't'"):
        budget.record(_scored(Status.ERROR))
    budget.record(_scored(Status.ERROR, Status.OK, Status.OK, Status.OK))  # counting starts afresh


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from([Status.OK, Status.ERROR, Status.BUG, Status.NOT_APPLICABLE]),
                         min_size=1, max_size=12), max_size=40),
       st.booleans())  # fmt: skip
def test_the_budget_decides_as_if_it_counted_its_whole_window_every_time(calls: list[list[Status]],
                                                                         reset: bool) -> None:  # fmt: skip
    """The sliding count kept per term (the server records every request) equals a fresh count of the window."""
    budget = ErrorBudget(0.3, window=8, min_samples=4, reset_on_raise=reset)
    window: list[bool] = []
    for statuses in calls:
        window = (window + [s is not Status.OK for s in statuses if s is not Status.NOT_APPLICABLE])[-8:]
        over = len(window) >= 4 and sum(window) / len(window) > 0.3 and any(s is not Status.NOT_APPLICABLE
                                                                           for s in statuses)  # fmt: skip
        try:
            budget.record(_scored(*statuses))
        except ErrorBudgetExceeded as exc:
            assert over and f"{sum(window)} of the last {len(window)} scores" in str(exc)
            if reset:
                window = []
        else:
            assert not over


def test_the_budget_is_shared_by_concurrent_callers() -> None:
    reward = Composition(config_of((INFRA, 1.0, 5.0), max_error_rate=0.5))
    raised: list[BaseException] = []

    def call() -> None:
        try:
            reward(completions=["down"])
        except ErrorBudgetExceeded as exc:
            raised.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert raised  # one-sample calls from many threads still reach the budget


# -- the time rule ------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", [1, 2, 41])
def test_a_spinning_reward_is_stopped_at_every_batch_size(batch: int) -> None:
    # Before: compose(cfg, workers=2) killed it in a 41-sample batch and hung forever on a 2-sample batch.
    reward = Composition(config_of((HOSTILE, 1.0, 0.5)), workers=2)
    try:
        started = time.monotonic()
        results = reward.score(completions=["spin"] + ["fine"] * (batch - 1))
        assert time.monotonic() - started < 15
        assert results[0].scores["hostile"].status is Status.TIMEOUT
        assert results[0].scores["hostile"].value == 0.0  # the completion's own fault: the low value
        assert all(r.total == 0.5 for r in results[1:])
    finally:
        reward.close()


def test_the_scorer_serves_concurrent_one_sample_callers_in_order() -> None:
    scorer = Scorer(config_of((HOSTILE, 1.0, 5.0)), workers=2)
    try:
        futures = [scorer.submit([Sample("fine")] * (i % 3 + 1)) for i in range(30)]
        sizes = [len(f.result(timeout=60)) for f in futures]
        assert sizes == [i % 3 + 1 for i in range(30)]
    finally:
        scorer.close()


def test_two_one_sample_callers_are_scored_in_two_workers_at_once() -> None:
    # verl's reward loop on two cores: two threads, one sample per call. A lane that took the other caller's
    # queued sample into its own batch left the second worker idle and served the two one after the other.
    scorer = Scorer(config_of((WHICH_WORKER, 1.0, 10.0)), workers=2)
    try:
        for _ in range(2):  # start both lanes' workers, then let both lanes go idle
            [f.result(timeout=60) for f in (scorer.submit([Sample("a")]), scorer.submit([Sample("b")]))]
        time.sleep(0.3)
        for _ in range(6):
            pair = scorer.submit([Sample("a")]), scorer.submit([Sample("b")])  # queued together
            pids = {f.result(timeout=60)[0].scores["which_worker"].details["pid"] for f in pair}
            assert len(pids) == 2, "both samples went to one worker while the other was idle"
            time.sleep(0.05)
    finally:
        scorer.close()


# -- a misnamed gold column ---------------------------------------------------------------------------


def test_compose_refuses_a_batch_without_the_gold_column() -> None:
    reward = compose([{"name": "think_format", "weight": 0.2}, {"name": "math"}])
    with pytest.raises(InputError, match=r"math grade against a gold answer in column 'answer'.*solution"):
        reward(completions=[WELL_FORMED], solution=["4"])
    fixed = compose({"reference_column": "solution", "rewards": [{"name": "math"}]})
    assert fixed(completions=[WELL_FORMED], solution=["4"]) == [1.0]


# -- no row lost ----------------------------------------------------------------------------------------


def _hostile_lines() -> list[bytes]:
    return [
        b'{"completion": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",  # 100k nested arrays
        b'{"completion": "a", "x": ' + b'{"a":' * 20_000 + b"1" + b"}" * 20_000 + b"}",  # 20k nested objects
        b'{"completion": "a", "n": ' + b"7" * 5000 + b"}",  # a 5,000-digit integer
        '{"completion": "hi", "answer": "4"}'.encode("utf-16-le"),  # a UTF-16 line
        b"[1, 2]",  # not an object
        b'{"prompt": "no completion"}',
    ]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rewardkit", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_score_keeps_every_valid_row_of_a_file_full_of_hostile_lines(tmp_path: Path) -> None:
    valid = json.dumps({"completion": WELL_FORMED, "answer": "4"}).encode()
    surrogate = b'{"completion": "<think>\\ud800</think><answer>\\ud800 4</answer>", "answer": "4"}'
    lines = [valid, *_hostile_lines(), surrogate, valid]
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    result = run_cli("score", str(source), "-r", "think_format", "-r", "math", "--details", "-o", "out.jsonl",
                     "--rejects", "bad.jsonl", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(out) == 3  # the two valid rows and the lone surrogate, scored and written back exactly
    assert out[0]["rewards"] == {"think_format": 1.0, "math": 1.0}
    assert out[1]["completion"] == "<think>\ud800</think><answer>\ud800 4</answer>"
    rejects = [json.loads(line) for line in (tmp_path / "bad.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rejects] == [2, 3, 4, 5, 6, 7]
    assert "nested deeper than" in rejects[0]["error"] and "4300 digits" in rejects[2]["error"]
    assert "UTF-16" in rejects[3]["error"]
    assert f"{source}:2:" in result.stderr
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_utf16_file_and_a_bom_are_read(tmp_path: Path) -> None:
    rows = "".join(json.dumps({"completion": WELL_FORMED}) + "\r\n" for _ in range(3))
    (tmp_path / "ps.jsonl").write_bytes(rows.encode("utf-16"))  # what PowerShell's > writes
    (tmp_path / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + rows.encode())
    for name in ("ps.jsonl", "bom.jsonl"):
        result = run_cli("score", name, "-r", "think_format", "-o", f"{name}.out", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        scored = [json.loads(x) for x in (tmp_path / f"{name}.out").read_text().splitlines()]
        assert [s["reward"] for s in scored] == [1.0] * 3


def test_a_killed_run_leaves_no_temp_file_behind_after_the_next_start(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    child = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom rewardkit.io import AtomicWriter\n"
                              f"w = AtomicWriter({str(target)!r})\nw.write('x')\nprint('ready', flush=True)\n"
                              "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline() == "ready\n"
    child.kill()  # kill -9: no cleanup runs
    child.wait()
    assert len(list(tmp_path.glob(".out.jsonl.*.tmp"))) == 1
    with AtomicWriter(target) as writer:
        writer.write("fresh\n")
    assert target.read_text() == "fresh\n" and not list(tmp_path.glob(".*.tmp"))


def test_sigterm_removes_the_temp_file_and_keeps_the_old_output(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"completion": "spin" if i == 0 else "x"}) + "\n" for i in range(4)))
    (tmp_path / "out.jsonl").write_text("old\n")
    plugin = tmp_path / "slow_plugin.py"
    plugin.write_text(_SLOW_PLUGIN)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen([sys.executable, "-c", _RUN_WITH_SLOW, str(source)], cwd=tmp_path, env=env,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.jsonl.*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert (tmp_path / "out.jsonl").read_text() == "old\n"
    assert not list(tmp_path.glob(".*.tmp"))


_SLOW_PLUGIN = '''
import time
from dataclasses import dataclass
from rewardkit import RewardSpec, Score, hookimpl

@dataclass(frozen=True)
class P:
    pass

def slow(sample, params):
    time.sleep(0.5)
    return Score.ok(1.0)

@hookimpl
def register_rewards(register):
    register(RewardSpec(name="slow", description="sleeps", params=P, range=(0.0, 1.0), fn=slow))
'''

_RUN_WITH_SLOW = '''
import sys, slow_plugin
from rewardkit.plugins import get_plugin_manager
get_plugin_manager().register(slow_plugin, name="slow_plugin")
from rewardkit.cli import main
sys.argv = ["rewardkit", "score", sys.argv[1], "-r", "slow", "-o", "out.jsonl", "-j", "0", "--chunk-lines", "1"]
main()
'''


# -- what a term declares ---------------------------------------------------------------------------------


@pytest.mark.parametrize("completion", ["```python\nprint(1)\n```", "no code at all"])
def test_code_on_a_row_without_tests_does_not_apply(completion: str) -> None:
    # Before: 0.0 on rows without tests, so a math row in a mixed dataset trained code toward 0.
    scored = compose(["code"]).score(completions=[completion], task=["math"])[0]
    assert scored.scores["code"].status is Status.NOT_APPLICABLE and scored.total is None


def test_describe_code_names_the_test_columns(tmp_path: Path) -> None:
    out = run_cli("describe", "code", cwd=tmp_path).stdout
    assert "needs: one test format per row: 'tests'" in out and "'test' + 'entry_point' (HumanEval)" in out


def test_a_judge_without_a_model_fails_when_the_config_is_read() -> None:
    from rewardkit.errors import ConfigError

    with pytest.raises(ConfigError, match=r"rewards\[0\] \(judge\): the judge reward needs params.model"):
        compose([{"name": "judge"}])
