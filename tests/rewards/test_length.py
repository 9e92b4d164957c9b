"""length, cosine_length, soft_overlong and repetition: reference formulas, tables, properties."""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewardkit import ParamError, Sample, Score, Status, registry
from rewardkit.params import build_params
from rewardkit.rewards.length import measure
from rewardkit.testing import check_reward_properties, samples


def run(name: str, sample: Sample, **params: Any) -> Score:
    spec = registry.get(name)
    assert spec.fn is not None
    return spec.fn(sample, build_params(name, spec.params, params))


def ids(n: int) -> dict[str, Any]:
    return {"completion_ids": list(range(n))}


# --------------------------------------------------------------------------------------------- measure


@pytest.mark.parametrize(
    ("completion", "unit", "expected"),
    [
        ("héllo wörld", "chars", 11),  # characters, not bytes
        ("  a b\n\nc\td  ", "words", 4),  # any whitespace separates words
        ("", "words", 0),  # empty completion
        ([{"role": "assistant", "content": "a b"}], "words", 2),  # chat completion
    ],
)
def test_measure_chars_and_words(completion: Any, unit: Any, expected: int):
    assert measure(Sample(completion), unit, None) == expected


def test_measure_tokens_prefers_completion_ids(tmp_path: Path):
    sample = Sample("one two three", columns=ids(7))
    assert measure(sample, "tokens", str(tmp_path / "never-loaded.json")) == 7


def test_measure_tokens_without_ids_or_tokenizer_says_how_to_fix():
    result = measure(Sample("one two"), "tokens", None)
    assert isinstance(result, Score) and result.status is Status.ERROR
    assert "completion_ids" in result.reason and "tokenizer" in result.reason and "unit" in result.reason


def test_measure_tokens_with_missing_tokenizer_file_is_an_error(tmp_path: Path):
    result = measure(Sample("one two"), "tokens", str(tmp_path / "missing.json"))
    assert isinstance(result, Score) and result.status is Status.ERROR
    assert "missing.json" in result.reason


def test_measure_tokens_with_a_local_tokenizer(tmp_path: Path):
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    tok = tokenizers.Tokenizer(WordLevel({"[UNK]": 0, "one": 1, "two": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = Whitespace()
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    assert measure(Sample("one two, three"), "tokens", str(path)) == 4  # one, two, ",", three
    assert run("length", Sample("one two"), target=2, tokenizer=str(path)).value == 1.0


# ---------------------------------------------------------------------------------------------- length


@pytest.mark.parametrize(
    ("n", "target", "scale", "expected"),
    [
        (100, 100, None, 1.0),  # on target
        (50, 100, None, 0.5),  # half the target
        (150, 100, None, 0.5),  # half again as long
        (0, 100, None, 0.0),  # empty
        (300, 100, None, 0.0),  # far over: clipped at 0
        (110, 100, 20.0, 0.5),  # a tighter scale
        (100, 1, None, 0.0),  # target 1, long completion
    ],
)
def test_length_table(n: int, target: int, scale: float | None, expected: float):
    result = run("length", Sample("x" * n), unit="chars", target=target, scale=scale)
    assert result.value == pytest.approx(expected)
    assert result.details["length"] == n


# --------------------------------------------------------------------------------------- cosine_length


def open_r1_cosine(is_correct: bool, gen_len: int, max_len: int = 1000) -> float:
    """open-r1's get_cosine_scaled_reward, copied for reference (defaults of its config)."""
    min_value_wrong, max_value_wrong, min_value_correct, max_value_correct = -1.0, -0.5, 0.5, 1.0
    progress = gen_len / max_len
    cosine = math.cos(progress * math.pi)
    if is_correct:
        min_value, max_value = min_value_correct, max_value_correct
    else:
        min_value, max_value = max_value_wrong, min_value_wrong
    return float(min_value + 0.5 * (max_value - min_value) * (1.0 + cosine))


@pytest.mark.parametrize("correct", [True, False])
@pytest.mark.parametrize("n", [0, 1, 250, 500, 999, 1000])
def test_cosine_matches_open_r1(correct: bool, n: int):
    sample = Sample("x", columns=ids(n), terms={"math": Score.ok(1.0 if correct else 0.0)})
    assert run("cosine_length", sample).value == pytest.approx(open_r1_cosine(correct, n))


@pytest.mark.parametrize(
    ("n", "correct", "expected"),
    [
        (0, True, 1.0),  # short and correct: best
        (1000, True, 0.5),  # correct at max_len
        (0, False, -1.0),  # short and wrong: worst (no guessing)
        (1000, False, -0.5),  # wrong at max_len
        (5000, True, 0.5),  # past max_len without exceed_penalty: progress clipped at 1
    ],
)
def test_cosine_table(n: int, correct: bool, expected: float):
    sample = Sample("x", columns={**ids(n), "math": correct})
    assert run("cosine_length", sample).value == pytest.approx(expected)


def test_cosine_exceed_penalty_and_range():
    spec = registry.get("cosine_length")
    params = build_params("cosine_length", spec.params, {"exceed_penalty": -2.0})
    assert spec.output_range(params) == (-2.0, 1.0)
    assert spec.term_params == ("correct_from",)
    assert spec.fn is not None
    over = spec.fn(Sample("x", columns={**ids(1001), "math": True}), params)
    at = spec.fn(Sample("x", columns={**ids(1000), "math": True}), params)
    assert (over.value, at.value) == (-2.0, pytest.approx(0.5))


# terms, columns, params, expected status, expected value (for ok)
CORRECTNESS_CASES = [
    # term ok at 1: correct
    ({"math": Score.ok(1.0)}, {}, {}, Status.OK, 1.0),
    # term ok at 0.7 with threshold 0.5: correct
    ({"math": Score.ok(0.7)}, {}, {"correct_threshold": 0.5}, Status.OK, 1.0),
    # term ok at 0.7 with the default threshold 1: wrong
    ({"math": Score.ok(0.7)}, {}, {}, Status.OK, -1.0),
    # the judge failed: masked, never a real 0
    ({"math": Score.error("sandbox down")}, {}, {}, Status.ERROR, None),
    # the term ran out of time without a value: masked
    ({"math": Score.timeout(None, "verify timed out")}, {}, {}, Status.ERROR, None),
    # timed out with a low value (the completion's fault): wrong
    ({"math": Score.timeout(0.0, "power tower")}, {}, {}, Status.OK, -1.0),
    # the term does not apply to this row
    ({"math": Score.not_applicable("no gold")}, {}, {}, Status.NOT_APPLICABLE, None),
    # the term wins over a column of the same name
    ({"math": Score.ok(0.0)}, {"math": True}, {}, Status.OK, -1.0),
    # column bool
    ({}, {"math": True}, {}, Status.OK, 1.0),
    # column number, custom name
    ({}, {"passed": 0.0}, {"correct_from": "passed"}, Status.OK, -1.0),
    # nothing says
    ({}, {}, {}, Status.NOT_APPLICABLE, None),
    # column null
    ({}, {"math": None}, {}, Status.NOT_APPLICABLE, None),
    # column of the wrong type
    ({}, {"math": "yes"}, {}, Status.ERROR, None),
]


@pytest.mark.parametrize(("terms", "columns", "params", "status", "value"), CORRECTNESS_CASES)
def test_cosine_correctness_sources(terms: Any, columns: Any, params: Any, status: Status, value: Any):
    result = run("cosine_length", Sample("x", columns={**ids(0), **columns}, terms=terms), **params)
    assert (result.status, result.value) == (status, value), result.reason
    if status is not Status.OK:
        assert "math" in result.reason or "passed" in result.reason


# --------------------------------------------------------------------------------------- soft_overlong


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, 0.0),  # empty
        (16, 0.0),  # exactly max_length - cache_length
        (17, -0.25),  # first step into the buffer
        (18, -0.5),  # halfway
        (20, -1.0),  # exactly max_length
        (21, -1.0),  # beyond
        (10_000, -1.0),  # far beyond
    ],
)
def test_soft_overlong_matches_dapo(n: int, expected: float):
    result = run("soft_overlong", Sample("x", columns=ids(n)), max_length=20, cache_length=4)
    assert result.value == pytest.approx(expected)


@pytest.mark.parametrize(("max_length", "cache_length"), [(10, 10), (10, 11)])
def test_soft_overlong_rejects_a_buffer_as_long_as_the_limit(max_length: int, cache_length: int):
    spec = registry.get("soft_overlong")
    with pytest.raises(ParamError, match="cache_length"):
        build_params("soft_overlong", spec.params, {"max_length": max_length, "cache_length": cache_length})


# ------------------------------------------------------------------------------------------ repetition


def open_r1_repetition(completion: str, ngram_size: int = 3, max_penalty: float = -1.0) -> float:
    """open-r1's get_repetition_penalty_reward for one completion, copied for reference."""
    if completion == "" or len(completion.split()) < ngram_size:
        return 0.0
    words = completion.lower().split()
    ngrams = set(zip(*[words[i:] for i in range(ngram_size)]))  # noqa: B905
    total = len(words) - ngram_size + 1
    return (1 - len(ngrams) / total) * max_penalty


@pytest.mark.parametrize(
    ("text", "ngram_size", "expected"),
    [
        ("", 3, 0.0),  # empty
        ("a b", 3, 0.0),  # fewer words than ngram_size
        ("a b c d e", 3, 0.0),  # no repeats
        ("a a a a a", 3, -2 / 3),  # one distinct 3-gram out of three
        ("The cat. the CAT. the cat.", 2, -0.6),  # case-folded: 2 distinct bigrams of 5
        ("x y x y x y", 1, -2 / 3),  # unigrams
    ],
)
def test_repetition_table(text: str, ngram_size: int, expected: float):
    result = run("repetition", Sample(text), ngram_size=ngram_size)
    assert result.value == pytest.approx(expected)
    assert result.value == pytest.approx(open_r1_repetition(text, ngram_size))


def test_repetition_range_follows_max_penalty():
    spec = registry.get("repetition")
    assert spec.output_range(build_params("repetition", spec.params, {"max_penalty": -0.5})) == (-0.5, 0.0)
    with pytest.raises(ParamError):
        build_params("repetition", spec.params, {"max_penalty": 0.5})


# ------------------------------------------------------------------------------------------ properties

UNITS = st.sampled_from(["chars", "words", "tokens"])
TERMS = st.dictionaries(
    st.just("math"),
    st.one_of(
        st.floats(0, 1).map(Score.ok),
        st.just(Score.error("down")),
        st.just(Score.not_applicable("no gold")),
        st.just(Score.timeout(0.0, "slow")),
    ),
)
PARAMS = {
    "length": st.fixed_dictionaries(
        {"unit": UNITS, "target": st.integers(1, 400), "scale": st.none() | st.floats(0.5, 500)}
    ),
    "cosine_length": st.fixed_dictionaries(
        {"unit": UNITS, "max_len": st.integers(1, 400), "exceed_penalty": st.none() | st.floats(-3, 3)}
    ),
    "soft_overlong": st.integers(2, 400).flatmap(
        lambda m: st.fixed_dictionaries(
            {"unit": UNITS, "max_length": st.just(m), "cache_length": st.integers(1, m - 1)}
        )
    ),
    "repetition": st.fixed_dictionaries({"ngram_size": st.integers(1, 5), "max_penalty": st.floats(-5, 0)}),
}


@pytest.mark.parametrize("name", sorted(PARAMS))
@given(data=st.data())
def test_properties(name: str, data: st.DataObject):
    params = data.draw(PARAMS[name])
    batch = data.draw(st.lists(samples(terms=TERMS), min_size=1, max_size=6))
    results = check_reward_properties(registry.get(name), params, batch)
    for sample, result in zip(batch, results, strict=True):
        if result.status is Status.ERROR:  # only the infrastructure cases may be errors
            unit_has_no_ids = params.get("unit") == "tokens" and "completion_ids" not in sample.columns
            assert unit_has_no_ids or (name == "cosine_length" and "math" in sample.terms), result.reason


@given(n=st.integers(0, 3000), m=st.integers(0, 3000))
def test_soft_overlong_never_rewards_length(n: int, m: int):
    a, b = (run("soft_overlong", Sample("x", columns=ids(k))).value for k in sorted((n, m)))
    assert a is not None and b is not None and a >= b


@given(n=st.integers(0, 3000), m=st.integers(0, 3000), correct=st.booleans())
def test_cosine_is_monotone(n: int, m: int, correct: bool):
    """Longer is worse for a correct answer and better (less bad) for a wrong one."""
    a, b = (
        run("cosine_length", Sample("x", columns={**ids(k), "math": correct})).value for k in sorted((n, m))
    )
    assert a is not None and b is not None
    assert (a >= b) if correct else (a <= b)


@given(n=st.integers(0, 3000), target=st.integers(1, 1000))
def test_length_peaks_at_the_target(n: int, target: int):
    assert run("length", Sample("x" * n), unit="chars", target=target).value <= 1.0
    assert run("length", Sample("x" * target), unit="chars", target=target).value == 1.0


ASCII_WORDS = st.lists(st.sampled_from(["a", "B", "c", "the", "Cat", "1", "="]), max_size=40)


@given(words=ASCII_WORDS, seps=st.lists(st.sampled_from([" ", "\n", "  ", "\r\n", "\t"]), min_size=40))
def test_repetition_and_words_ignore_case_and_whitespace(words: list[str], seps: list[str]):
    plain = " ".join(words)
    noisy = "".join(w + s for w, s in zip(words, seps, strict=False)).upper()
    for name, params in (("repetition", {}), ("length", {"unit": "words", "target": 10})):
        assert run(name, Sample(noisy), **params).value == run(name, Sample(plain), **params).value


@pytest.mark.parametrize("name", ["length", "cosine_length", "soft_overlong", "repetition"])
def test_spec_and_params_pickle(name: str):
    """Worker processes receive the spec (with its range function) and the params by pickle."""
    spec = registry.get(name)
    params = build_params(name, spec.params, {})
    spec2, params2 = pickle.loads(pickle.dumps((spec, params)))
    sample = Sample("a b c a b c", columns={**ids(900), "math": True})
    assert spec2.fn(sample, params2) == spec.fn(sample, params)
    assert spec2.output_range(params2) == spec.output_range(params)
