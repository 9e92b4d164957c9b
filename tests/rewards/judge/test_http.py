"""The judge against a real OpenAI-compatible server on 127.0.0.1: grades, failures, retries, limits, keys."""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from rewardkit import ErrorBudgetExceeded, Sample, Status
from rewardkit.errors import ConfigError, ParamError
from rewardkit.params import build_params
from rewardkit.rewards.judge import JudgeParams, judge_batch

from .fake_server import Reply, chat, dead_url, grading, serve

pytestmark = pytest.mark.timeout(60)


def params(url: str, **kw: Any) -> JudgeParams:
    values = {"base_url": url, "model": "judge-1", "cache_path": None, "backoff_s": 0.01, **kw}
    return build_params("judge", JudgeParams, values)  # type: ignore[no-any-return]


def math_samples(n: int) -> list[Sample]:
    """Distinct questions; even ones answered right, odd ones wrong."""
    return [Sample(f"{i if i % 2 == 0 else i + 1}", f"What is {i}+0?", reference=str(i)) for i in range(n)]


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        (Sample("42", "What is 6*7?", reference="42"), 0.9),  # matches the reference
        (Sample("41", "What is 6*7?", reference="42"), 0.2),  # disagrees ("**Score:** 2" in markdown)
        (Sample("Paris", "Capital of France?"), 0.5),  # no reference: the template leaves that section out
        (Sample([{"role": "assistant", "content": "42"}], [{"role": "user", "content": "6*7?"}], "42"), 0.9),
    ],
)
def test_grades_from_a_real_server(sample: Sample, expected: float) -> None:
    with serve() as judge:
        [score] = judge_batch([sample], params(judge.url))
    assert score.status is Status.OK and score.value == pytest.approx(expected), score
    assert score.details["attempts"] == 1 and score.details["cached"] is False
    assert judge.requests[0]["model"] == "judge-1" and judge.requests[0]["temperature"] == 0.0


def test_500s_then_success_is_retried() -> None:
    def flaky(n: int, req: dict[str, Any], headers: dict[str, str]) -> Reply:
        return Reply(500, {"error": "boom"}) if n < 2 else grading(n, req, headers)

    with serve(flaky) as judge:
        [score] = judge_batch([Sample("42", "6*7?", reference="42")], params(judge.url))
    assert score.value == pytest.approx(0.9) and score.details["attempts"] == 3
    assert len(judge.requests) == 3


def test_forty_percent_server_errors_are_absorbed() -> None:
    rng, lock = random.Random(7), threading.Lock()

    def unreliable(n: int, req: dict[str, Any], headers: dict[str, str]) -> Reply:
        with lock:
            fail = rng.random() < 0.4
        if fail:
            return Reply(rng.choice([500, 502, 503, 429]), "overloaded")
        return grading(n, req, headers)

    samples = math_samples(100)
    start = time.monotonic()
    with serve(unreliable) as judge:
        scores = judge_batch(samples, params(judge.url, max_retries=8, concurrency=16))
    elapsed = time.monotonic() - start
    assert [s.value for s in scores] == [pytest.approx(0.9 if i % 2 == 0 else 0.2) for i in range(100)]
    assert len(judge.requests) > 130  # ~100 / 0.6 attempts: the failures really happened
    assert elapsed < 20


def test_retry_after_is_honoured() -> None:
    def throttled(n: int, req: dict[str, Any], headers: dict[str, str]) -> Reply:
        return Reply(429, "slow down", {"Retry-After": "1"}) if n == 0 else grading(n, req, headers)

    start = time.monotonic()
    with serve(throttled) as judge:
        [score] = judge_batch([Sample("42", "6*7?", reference="42")], params(judge.url))
    assert score.value == pytest.approx(0.9)
    assert time.monotonic() - start >= 1.0  # backoff_s is 0.01: only Retry-After explains the wait


def test_retry_after_beyond_the_cap_gives_up_at_once() -> None:
    with serve(lambda n, r, h: Reply(503, "maintenance", {"Retry-After": "3600"})) as judge:
        start = time.monotonic()
        [score] = judge_batch([Sample("a", "q")], params(judge.url, max_backoff_s=5))
    assert score.status is Status.ERROR and score.value is None
    assert "retry after 3600 s" in score.reason and time.monotonic() - start < 2
    assert len(judge.requests) == 1


def test_timeouts_become_errors_quickly() -> None:
    with serve(lambda n, r, h: Reply(body=chat("Score: 9"), delay=3.0)) as judge:
        start = time.monotonic()
        scores = judge_batch(
            [Sample("a", "q"), Sample("b", "q")],
            params(judge.url, timeout_s=0.3, max_retries=1, max_error_rate=1.0),
        )
        elapsed = time.monotonic() - start
    assert all(s.status is Status.ERROR and s.value is None for s in scores)
    assert "timed out after 0.3 s" in scores[0].reason and elapsed < 2.5


def test_dead_server_gives_nulls_within_seconds() -> None:
    samples = math_samples(64)
    start = time.monotonic()
    # Default retries and backoff: the breaker, not a short schedule, keeps this fast.
    scores = judge_batch(samples, params(dead_url(), backoff_s=0.5, concurrency=4, max_error_rate=1.0))
    elapsed = time.monotonic() - start
    assert all(s.status is Status.ERROR and s.value is None for s in scores)
    assert "unreachable" in scores[0].reason
    assert elapsed < 8, (
        elapsed
    )  # measured 3.4-4.5 s: breaker_window_s=2 plus one backoff step; no breaker: ~30 s


def test_a_server_restart_is_ridden_out() -> None:
    url = dead_url()
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    up = threading.Event()

    def restart() -> None:
        time.sleep(0.8)  # down for 0.8 s, less than breaker_window_s
        with serve(port=port):
            up.set()
            time.sleep(10)

    threading.Thread(target=restart, daemon=True).start()
    scores = judge_batch(math_samples(16), params(url, backoff_s=0.2))
    assert up.is_set() and [s.value for s in scores] == [0.9, 0.2] * 8


def test_dead_server_exceeds_the_error_budget() -> None:
    with pytest.raises(ErrorBudgetExceeded, match=r"8 of 8 samples failed .*max_error_rate=0.5.*unreachable"):
        judge_batch(math_samples(8), params(dead_url(), max_error_rate=0.5))


def test_by_default_the_judge_leaves_the_error_budget_to_the_composition() -> None:
    from rewardkit import compose

    judge = {"base_url": dead_url(), "model": "m", "api_key_env": None, "cache_path": None, "max_retries": 1,
             "backoff_s": 0.01}
    reward = compose({"rewards": [{"name": "judge", "params": judge}]})
    with pytest.raises(ErrorBudgetExceeded, match=r"8 of (the last )?8 scores of 'judge' failed"):
        reward(prompts=["q"] * 8, completions=["a"] * 8)


def test_small_batches_do_not_trip_the_budget() -> None:
    scores = judge_batch(math_samples(3), params(dead_url(), max_error_rate=0.5))  # below min_samples=4
    assert [s.value for s in scores] == [None] * 3


@pytest.mark.parametrize(
    "body",
    [
        "{not json",  # broken JSON
        {"choices": []},  # valid JSON, no choice
        {"error": {"message": "internal"}},  # an error object with status 200
        "",  # empty body
    ],
)
def test_malformed_replies_are_null(body: Any) -> None:
    with serve(lambda n, r, h: Reply(200, body)) as judge:
        [score] = judge_batch([Sample("a", "q")], params(judge.url, max_retries=2))
    assert score.status is Status.ERROR and score.value is None and "malformed" in score.reason
    assert len(judge.requests) == 3  # retried: a 200 with a broken body is usually a proxy hiccup


@pytest.mark.parametrize(
    "verdict",
    [
        "I really like this answer!",  # no score at all
        "Score: 11",  # out of the 0-10 scale
        "Score: N",  # the format echoed back
        "Score: 0-10",  # a range, not a score
        "",  # empty reply
        "Score: 7,5",  # ambiguous decimal comma
    ],
)
def test_garbage_verdicts_never_become_rewards(verdict: str) -> None:
    with serve(lambda n, r, h: Reply(body=chat(verdict))) as judge:
        [score] = judge_batch([Sample("a", "q")], params(judge.url))
    # The reply arrived: asked once more, strictly, then the low value -- never a null a derailment escapes by.
    assert score.status is Status.OK and score.value == 0.0 and score.details["verdict_status"] == "unreadable"
    assert "unreadable after a stricter second request" in score.reason and score.details["attempts"] == 2
    assert len(judge.requests) == 2
    assert "could not be read" in judge.requests[1]["messages"][-1]["content"]
    assert "could not be read" not in judge.requests[0]["messages"][-1]["content"]


def test_on_unreadable_mask_gives_a_null() -> None:
    with serve(lambda n, r, h: Reply(body=chat("N/A"))) as judge:
        [score] = judge_batch([Sample("a", "q")], params(judge.url, on_unreadable="mask"))
    assert score.status is Status.ERROR and score.value is None and score.details["verdict_status"] == "unreadable"


def test_client_errors_are_not_retried() -> None:
    with serve(lambda n, r, h: Reply(404, {"error": "model not found"})) as judge:
        [score] = judge_batch([Sample("a", "q")], params(judge.url))
    assert score.value is None and "HTTP 404 (check model and base_url)" in score.reason
    assert len(judge.requests) == 1


@pytest.mark.parametrize("limit", [1, 3, 8])
def test_concurrency_is_bounded(limit: int) -> None:
    # Each request holds the server long enough for the whole window to fill even on a loaded machine.
    with serve(lambda n, r, h: Reply(body=chat("Score: 5"), delay=0.4)) as judge:
        scores = judge_batch(math_samples(3 * limit), params(judge.url, concurrency=limit))
    assert all(s.value == 0.5 for s in scores)
    assert judge.max_in_flight == limit  # never more, and the limit is actually used


def test_identical_requests_in_a_batch_are_sent_once() -> None:
    samples = [Sample("42", "6*7?", reference="42")] * 8 + [Sample("41", "6*7?", reference="42")] * 8
    with serve() as judge:
        scores = judge_batch(samples, params(judge.url))
    assert [s.value for s in scores] == [0.9] * 8 + [0.2] * 8 and len(judge.requests) == 2


def test_cache_hit_sends_no_second_request(tmp_path: Path) -> None:
    cache = str(tmp_path / "judge.sqlite")
    samples = math_samples(6)
    with serve() as judge:
        first = judge_batch(samples, params(judge.url, cache_path=cache))
        second = judge_batch(samples, params(judge.url, cache_path=cache))
        assert len(judge.requests) == 6
        judge_batch(samples[:1], params(judge.url, cache_path=cache, template="yes_no", max_error_rate=1))
        judge_batch(samples[:1], params(judge.url, cache_path=cache, model="judge-2"))
        # another template or model is another verdict (the yes/no one is asked twice: it gets a score line)
        assert len(judge.requests) == 9
    assert [s.value for s in first] == [s.value for s in second]
    assert all(s.details["cached"] for s in second) and not any(s.details["cached"] for s in first)


def test_unreadable_verdicts_are_not_cached(tmp_path: Path) -> None:
    cache = str(tmp_path / "judge.sqlite")
    with serve(lambda n, r, h: Reply(body=chat("hmm" if n < 2 else "Score: 4"))) as judge:
        [first] = judge_batch([Sample("a", "q")], params(judge.url, cache_path=cache))
        [second] = judge_batch([Sample("a", "q")], params(judge.url, cache_path=cache))
    assert first.value == 0.0 and first.details["verdict_status"] == "unreadable"
    assert second.value == pytest.approx(0.4) and not second.details["cached"]


def test_api_key_is_sent_but_never_leaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-test-5up3r-s3cr3t-K3Y"
    monkeypatch.setenv("JUDGE_TEST_KEY", secret)
    cache = tmp_path / "judge.sqlite"

    def echo(n: int, req: dict[str, Any], headers: dict[str, str]) -> Reply:
        auth = headers.get("Authorization", "")
        if n == 0:  # servers do quote bad keys back ("Incorrect API key provided: sk-...")
            return Reply(401, {"error": f"bad key {auth}"})
        return Reply(body=chat(f"You sent {auth}.\nScore: 6"))

    caplog.set_level(logging.DEBUG)
    with serve(echo) as judge:
        p = params(judge.url, api_key_env="JUDGE_TEST_KEY", cache_path=str(cache))
        [denied] = judge_batch([Sample("a", "q")], p)
        [graded] = judge_batch([Sample("a", "q")], p)
    assert judge.headers[0]["Authorization"] == f"Bearer {secret}"
    assert denied.value is None and "[REDACTED]" in denied.reason and "check the key" in denied.reason
    assert graded.value == pytest.approx(0.6)
    for text in (repr(denied), repr(graded), repr(p), caplog.text, cache.read_bytes().decode("latin-1")):
        assert secret not in text


def test_missing_settings_are_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUDGE_TEST_KEY", raising=False)
    with pytest.raises(ConfigError, match="'JUDGE_TEST_KEY' but that environment variable is unset"):
        judge_batch([Sample("a", "q")], params(dead_url(), api_key_env="JUDGE_TEST_KEY"))
    with pytest.raises(ConfigError, match=r"needs params\.model: the model name the server serves"):
        judge_batch([Sample("a", "q")], params(dead_url(), model=""))


def test_a_key_pasted_as_api_key_env_is_refused_without_echo() -> None:
    with pytest.raises(ParamError) as err:
        params("http://127.0.0.1:1/v1", api_key_env="sk-live-abcdef123456")
    assert "sk-live" not in str(err.value) and "name of an environment variable" in str(err.value)


def test_works_inside_a_running_event_loop() -> None:
    async def caller() -> list[Any]:
        with serve() as judge:
            return judge_batch(math_samples(4), params(judge.url))

    scores = asyncio.run(caller())
    assert [s.value for s in scores] == [0.9, 0.2, 0.9, 0.2]


def test_works_from_many_threads_at_once() -> None:
    with serve() as judge:
        results: list[list[Any]] = [[] for _ in range(4)]

        def work(k: int) -> None:
            results[k] = judge_batch(math_samples(6), params(judge.url, concurrency=2))

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert all([s.value for s in r] == [0.9, 0.2] * 3 for r in results)


def test_yes_no_template() -> None:
    def yes_if_match(n: int, req: dict[str, Any], headers: dict[str, str]) -> Reply:
        return Reply(
            body=chat(
                "Verdict: yes"
                if "Score: 9" in grading(n, req, headers).body["choices"][0]["message"]["content"]
                else "Reasoning...\n**Verdict:** no"
            )
        )

    samples = [Sample("42", "6*7?", reference="42"), Sample("41", "6*7?", reference="42")]
    with serve(yes_if_match) as judge:
        scores = judge_batch(samples, params(judge.url, template="yes_no"))
    assert [s.value for s in scores] == [1.0, 0.0] and "Verdict: yes" in judge.requests[0]["messages"][1][
        "content"
    ]
