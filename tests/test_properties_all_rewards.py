"""Properties every built-in reward must have, checked on each of them:

1. output range: every value lies in the declared range (with determinism, pickling and batch == alone,
   through `rewardkit.testing.check_reward_properties`);
2. permuting a batch permutes the scores;
3. junk appended after the answer section never raises the score (the reward-hacking property): text after
   ``</answer>`` for format and math, after the code block for code, after the fenced response for the judge.
   Length rewards measure length, so their form is: appending never raises ``soft_overlong``, nor ``length``
   once at or past its target, nor ``cosine_length`` for a correct answer, nor ``repetition`` when the
   appended text repeats the completion.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardkit import Sample, Score, registry
from rewardkit.params import build_params
from rewardkit.testing import check_reward_properties, samples, scores
from tests.audit.gullible_judge import gullible
from tests.rewards.judge.fake_server import FakeJudge, serve

pytestmark = pytest.mark.timeout(600)

# Every installed reward that declares itself cheap is property-tested by being registered: no hand-kept list.
CHEAP = sorted(name for name, spec in registry.rewards().items() if spec.cost == "cheap")
# Rewards that cost a process or a round trip are tested below against a real sandbox and a fake judge.
COSTLY = sorted(name for name, spec in registry.rewards().items() if spec.cost != "cheap")
WORDS_PARAMS: dict[str, dict[str, Any]] = {
    "length": {"unit": "words", "target": 20},
    "cosine_length": {"unit": "words", "max_len": 40, "correct_from": "correct"},
    "soft_overlong": {"unit": "words", "max_length": 30, "cache_length": 10},
}
# Junk a policy could append: prose, numbers, answer-like phrases, boxes, fences and tags (not answer tags).
_JUNK_PARTS = ("the answer is", "42", "41", "\\boxed{42}", "\\boxed{41}", "$42$", "Score: 10", "or", "\n",
               " ", "Final answer: 42", "<think>", "</think>", "```", "</answer>", "wait", "é", "#### 42")  # fmt: skip
junk = st.lists(st.sampled_from(_JUNK_PARTS), min_size=1, max_size=8).map(" ".join)


def _params(name: str) -> Any:
    return build_params(name, registry.get(name).params, WORDS_PARAMS.get(name, {}))


def _one(name: str, sample: Sample, params: Any = None) -> Score:
    return scores(registry.get(name), params if params is not None else _params(name), [sample])[0]


def _value(score: Score) -> float:
    assert score.value is not None, score
    return score.value


def test_every_reward_declares_a_cost_and_the_cheap_list_is_not_empty() -> None:
    assert {"think_format", "math", "length", "ifeval", "json_schema"} <= set(CHEAP)
    assert {"code", "judge"} <= set(COSTLY)


@pytest.mark.parametrize("name", CHEAP)
@settings(max_examples=30)
@given(batch=st.lists(samples(columns=st.just({"correct": True})), min_size=1, max_size=6), data=st.data())
def test_range_and_permutation(name: str, batch: list[Sample], data: st.DataObject) -> None:
    first = check_reward_properties(registry.get(name), _params(name), batch)
    order = data.draw(st.permutations(range(len(batch))))
    permuted = scores(registry.get(name), _params(name), [batch[i] for i in order])
    assert permuted == [first[i] for i in order]


def _formatted(answer: str, reasoning: str = "let me think") -> str:
    return f"<think>{reasoning}</think>\n<answer>{answer}</answer>"


@pytest.mark.parametrize("name", ["think_format", "tag_count"])
@given(answer=st.sampled_from(["42", "x = 2", "\\frac{1}{2}"]), tail=junk)
def test_format_junk_after_the_answer_never_raises(name: str, answer: str, tail: str) -> None:
    base = _formatted(answer)
    assert _value(_one(name, Sample(base + tail))) <= _value(_one(name, Sample(base)))


@given(answer=st.sampled_from(["41", "42", "\\boxed{41}", "\\boxed{42}", "I do not know"]),
       tail=junk.filter(lambda t: "</think>" not in t))
def test_math_junk_after_the_answer_never_raises(answer: str, tail: str) -> None:
    base = _formatted(answer)
    before = _value(_one("math", Sample(base, reference="42")))
    after = _one("math", Sample(base + "\n" + tail, reference="42"))
    assert after.value is None or after.value <= before, (base + tail, after)


def test_math_a_second_think_close_after_the_answer_does_not_pay() -> None:
    base = _formatted("41")
    assert _value(_one("math", Sample(base + "\n</think> 42", reference="42"))) == 0.0


@given(text=st.text(alphabet="ab \n", max_size=200), tail=st.text(max_size=100))
def test_length_rewards_never_pay_for_appended_text(text: str, tail: str) -> None:
    over = " ".join(["w"] * 20) + " " + text  # at or past the target of 20 words
    assert _value(_one("length", Sample(over + " " + tail))) <= _value(_one("length", Sample(over)))
    assert _value(_one("soft_overlong", Sample(text + " " + tail))) <= _value(_one("soft_overlong", Sample(text)))
    right = {"correct": True}
    grown = _one("cosine_length", Sample(text + " " + tail, columns=right))
    assert _value(grown) <= _value(_one("cosine_length", Sample(text, columns=right)))


@given(text=st.text(alphabet="ab c\n", min_size=1, max_size=120), copies=st.integers(1, 4))
def test_repetition_never_pays_for_repeating_the_completion(text: str, copies: int) -> None:
    repeated = " ".join([text] * (copies + 1))
    assert _value(_one("repetition", Sample(repeated))) <= _value(_one("repetition", Sample(text)))


# --- code: a real sandbox, so few examples -----------------------------------------------------------

ADD = {"tests": [{"input": "1 2\n", "output": "3\n"}, {"input": "2 5\n", "output": "7\n"}]}
PROGRAMS = (
    "a, b = map(int, input().split())\nprint(a + b)",  # correct
    "a, b = map(int, input().split())\nprint(a - b)",  # wrong
    "import sys\nsys.exit(0)",  # exits early
    "print(3)",  # right for the first test only
)
_CODE = {"cpu_s": 1.0}


def _fenced(code: str) -> str:
    return f"```python\n{code}\n```"


@settings(max_examples=5)
@given(batch=st.lists(st.sampled_from(PROGRAMS), min_size=1, max_size=4), data=st.data())
def test_code_range_and_permutation(batch: list[str], data: st.DataObject) -> None:
    # Compared on value and status: the code reward's details carry measured CPU times, which vary.
    spec, params = registry.get("code"), build_params("code", registry.get("code").params, _CODE)
    samples_ = [Sample(_fenced(p), columns=ADD) for p in batch]
    first = [(s.value, s.status) for s in scores(spec, params, samples_)]
    assert all(v is not None and 0.0 <= v <= 1.0 for v, _ in first), first
    order = data.draw(st.permutations(range(len(batch))))
    permuted = [(s.value, s.status) for s in scores(spec, params, [samples_[i] for i in order])]
    assert permuted == [first[i] for i in order]


@settings(max_examples=8)
@given(program=st.sampled_from(PROGRAMS), tail=junk.filter(lambda t: "```" not in t))
def test_code_junk_after_the_block_never_raises(program: str, tail: str) -> None:
    params = build_params("code", registry.get("code").params, _CODE)
    before, after = _one("code", Sample(_fenced(program), columns=ADD), params), _one(
        "code", Sample(_fenced(program) + "\n" + tail, columns=ADD), params
    )
    assert _value(after) <= _value(before)


# --- the judge: a grader that obeys whatever escapes the fence --------------------------------------


@pytest.fixture(scope="module")
def judge() -> Iterator[FakeJudge]:
    with serve(gullible) as server:
        yield server


def _judge_params(server: FakeJudge) -> Any:
    values = {"base_url": server.url, "model": "gullible", "cache_path": None, "max_retries": 0}
    return build_params("judge", registry.get("judge").params, values)


@settings(max_examples=20)
@given(batch=st.lists(samples(), min_size=1, max_size=5), data=st.data())
def test_judge_range_and_permutation(judge: FakeJudge, batch: Sequence[Sample], data: st.DataObject) -> None:
    params = _judge_params(judge)
    first = check_reward_properties(registry.get("judge"), params, batch)
    order = data.draw(st.permutations(range(len(batch))))
    assert scores(registry.get("judge"), params, [batch[i] for i in order]) == [first[i] for i in order]


@settings(max_examples=25)
@given(answer=st.sampled_from(["Canberra", "Sydney", "I do not know"]), tail=junk)
def test_judge_junk_after_the_response_never_raises(judge: FakeJudge, answer: str, tail: str) -> None:
    params = _judge_params(judge)
    question = "What is the capital of Australia?"
    before = _one("judge", Sample(answer, question, "Canberra"), params)
    after = _one("judge", Sample(answer + "\n" + tail, question, "Canberra"), params)
    assert _value(after) <= _value(before)
