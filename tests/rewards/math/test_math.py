"""Properties, policy, safety and concurrency of the `math` reward."""

from __future__ import annotations

import asyncio
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewardkit import Sample, Status
from rewardkit.rewards.math import MathParams, score_math
from rewardkit.rewards.math.extract import extract_answer

P = MathParams()


def value(gold: str, completion: str) -> float | None:
    return score_math(Sample(completion=completion, reference=gold), P).value


@pytest.mark.parametrize(
    ("gold", "completion", "expected"),
    [
        ("\\frac{1}{2004!}", "\\boxed{\\frac{1}{2006!}}", 0.0),  # math-verify FP: rounds both to 0
        ("\\frac{1}{2^{99}}", "\\boxed{\\frac{1}{2^{98}}}", 0.0),  # math-verify FP
        ("4", "\\boxed{4\\sqrt(2)}", 0.0),  # math-verify FP: \sqrt( dropped
        ("3x-y+13=0", "\\boxed{3x+4y+14=0}", 0.0),  # math-verify FP on equations
        ("\\{1,2\\}", "\\boxed{(1,2)}", 0.0),  # a set is not an interval/tuple
        ("1", "1e100000", 0.0),  # math-verify FP: overflow
        ("1024", "$2^{10}.$", 1.0),  # trailing period
        ("4", "4 4/9", 0.0),  # mixed number, not 4
        ("\\frac{40}{9}", "4 4/9", 1.0),
        ("\\frac{3}{2}", "\\boxed{1\\frac{1}{2}}", 1.0),
        ("\\sqrt{2}", "\\boxed{1.414}", 0.0),  # approximation of an irrational answer
        ("\\frac{1}{3}", "\\boxed{0.33}", 1.0),  # a rounded non-terminating fraction is accepted
        ("2", "\\boxed{2 or 3}", 0.0),  # hedged
        ("2", "\\boxed{1, 2, 3}", 0.0),  # hedged: several values for a single-valued gold
        ("2", "<think>\\boxed{2}</think> The answer is \\boxed{3}", 0.0),  # think content never counts
        ("3", "<think>maybe 2</think><answer>3</answer>", 1.0),
        ("72", "Natalia sold 48 + 24 = 72 clips.\n#### 72", 1.0),
        ("1,22", "1.22", 1.0),  # bare gold with a decimal comma
        ("3\\sqrt{13}", "\\boxed{\\sqrt{117}}", 1.0),
        ("\\text{(C)}", "The answer is (C).", 1.0),
        ("C", "I think it is not A, so the answer is B", 0.0),
        ("(1,3]", "\\boxed{(1,3)}", 0.0),  # open/closed matters
        ("\\{3,1\\}", "\\boxed{\\{1,3\\}}", 1.0),  # sets are order-free
        ("(3,1)", "\\boxed{(1,3)}", 0.0),  # tuples are ordered
        ("\\pi", "\\boxed{3.14}", 0.0),
        ("1000", "\\boxed{1,000}", 1.0),
        ("5\\%", "\\boxed{5}", 1.0),
        ("30^\\circ", "\\boxed{30}", 1.0),
        ("x=3", "\\boxed{3}", 1.0),
        # Audit findings (issue 8) and their neighbours.
        ("42", "The answer is $41$ or $42$.", 0.0),  # math/hedged-or: spans joined by "or" are a hedge
        ("42", "The answer is either $41$ or $42$.", 0.0),  # "either ... or"
        ("42", "The answer is $42$, or maybe $41$.", 0.0),  # an "or" among different spans
        ("42", "The answer is 42, or maybe 41.", 0.0),  # an "or" among different numbers in prose
        ("2, 3", "The answer is $2$ and $3$.", 1.0),  # "and" joins the values of one answer
        ("x=5", "The answer is $x$ where $x = 5$.", 1.0),  # prose between spans: the last span
        ("\\frac{1}{2}", "\\boxed{inf}", 0.0),  # math/inf-word: oo passed the relative tolerance
        ("\\sqrt{2}", "\\boxed{-inf}", 0.0),  # an infinity never equals a finite irrational gold
        ("-\\infty", "\\boxed{\\infty}", 0.0),  # infinities keep their sign
        ("\\infty", "\\boxed{\\infty}", 1.0),
        ("e^{1000}\\pi", "\\boxed{e^{1000}\\pi + e^{900}}", 0.0),  # equal to 43 digits: no relative tol.
        ("10^{50}\\sqrt{2}", "\\boxed{10^{50}\\sqrt{2}+1}", 0.0),  # likewise, a huge value
        ("12:00", "$1:00$", 0.0),  # both read as 12/0, 1/0 (zoo): a division by zero equals nothing
        ("42", "<think>6 times 7</think>\n<answer>41</answer>\n</think> 42", 0.0),  # math/reclosed-think
        ("42", "<think>x</think><answer>41</answer> The answer is 42.", 0.0),  # text after </answer>
        ("42", "<think>x</think><answer>41</answer> <answer>42</answer>", 0.0),  # blocks disagree: hedge
        ("42", "<think>x</think><answer>42</answer> <answer>\\boxed{42}</answer>", 1.0),  # blocks agree
        ("42", "<think>draft <answer>41</answer></think> The answer is 42.", 1.0),  # a block in reasoning
        ("42", "<think>x</think><answer>The answer is 42", 1.0),  # unclosed (truncated) block
        ("C", "<think>x</think><answer>see above</answer></think> (C)", 0.0),  # choice: block wins too
        ("C", "<think>x</think><answer>(B)</answer> <answer>(C)</answer>", 0.0),  # choice: hedge
        ("5", "\\boxed{5xyz}", 0.0),  # an unknown word after a number is a product, not a unit
        ("5", "\\boxed{5 \\text{ meters}}", 1.0),  # text blocks are units
        ("5", "\\boxed{5 meters}", 1.0),  # known unit words
        ("12", "\\boxed{12 square units}", 1.0),
    ],
)
def test_cases(gold: str, completion: str, expected: float) -> None:
    assert value(gold, completion) == expected


def test_policy_missing_and_unparseable_gold() -> None:
    assert score_math(Sample(completion="\\boxed{1}", reference=None), P).status is Status.NOT_APPLICABLE
    assert score_math(Sample(completion="\\boxed{1}", reference="  "), P).status is Status.NOT_APPLICABLE
    bad = score_math(Sample(completion="\\boxed{1}", reference="\\frac{"), P)
    assert bad.value != 1.0


def test_number_fallback_can_be_turned_off() -> None:
    assert extract_answer("we get 12 apples", number_fallback=True).answer == "12"
    assert extract_answer("we get 12 apples", number_fallback=False).answer is None
    off = MathParams(number_fallback=False)
    assert score_math(Sample(completion="we get 12 apples", reference="12"), off).value == 0.0


CASES = [("\\frac{1}{2}", "\\boxed{0.5}"), ("x^2+1", "\\boxed{1+x^2}"), ("3", "\\boxed{4}"),
         ("1", "\\boxed{10^{10^{10^{10}}}}"), ("\\sqrt{2}", "\\boxed{\\sqrt2}")]


def _run(case: tuple[str, str]) -> tuple[float | None, str]:
    s = score_math(Sample(completion=case[1], reference=case[0]), MathParams())
    return s.value, s.status.value


def test_same_in_threads_asyncio_and_processes() -> None:
    main = [_run(c) for c in CASES]
    assert main == [(1.0, "ok"), (1.0, "ok"), (0.0, "ok"), (0.0, "ok"), (1.0, "ok")]  # the tower: too large
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(_run, CASES)) == main

    async def go() -> list[tuple[float | None, str]]:
        return list(await asyncio.gather(*(asyncio.to_thread(_run, c) for c in CASES)))

    assert asyncio.run(go()) == main
    import multiprocessing

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as procs:
        assert list(procs.map(_run, CASES)) == main


_noise = st.sampled_from(["", " ", "  "])


@given(st.integers(-10**6, 10**6), st.integers(1, 999), _noise)
def test_reflexive_and_format_invariant(n: int, d: int, pad: str) -> None:
    gold = f"\\frac{{{n}}}{{{d}}}"
    assert value(gold, f"\\boxed{{{gold}}}") == 1.0
    assert value(gold, f"\\boxed{{{pad}\\left(\\dfrac{{{n}}}{{{d}}}\\right){pad}}}") == 1.0
    assert value(gold, f"The answer is ${gold}$.") == 1.0


@given(st.integers(-10**9, 10**9), st.integers(1, 1000))
def test_changed_number_is_not_equivalent(n: int, delta: int) -> None:
    assert value(str(n), f"\\boxed{{{n}}}") == 1.0
    assert value(str(n), f"\\boxed{{{n + delta}}}") == 0.0
