"""Named properties of the prose rules (issue 13): trailing prose, negation, alternatives, currency."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rewardkit import Sample
from rewardkit.rewards.math import MathParams, score_math

P = MathParams()


def value(gold: str, completion: str) -> float | None:
    return score_math(Sample(completion=completion, reference=gold), P).value


_TRAILING = st.sampled_from([
    "", ".", " apples.", " GB.", " years old.", " dollars in total.", " oranges are in perfect condition.",
    " cm", " meters", " minutes, which is the answer.", "!", " (as computed above).", "\n\nI hope it is correct.",
    " square units.", "%", "°",
])
_MORE = st.sampled_from(["", " That is all.", "\n\nI hope it is correct.", " (checked twice)."])
_LEADS = st.sampled_from(["The answer is ", "So the total is ", "A: ", "**Answer: ", "Final Answer: ",
                          "#### ", "Therefore, she has ", "x = 20 + 10 = ", ""])
_NUMBERS = st.integers(-10**6, 10**6)


@settings(max_examples=150, deadline=None)
@given(_NUMBERS, st.integers(1, 999), _LEADS, _TRAILING, _MORE)
def test_trailing_prose_and_units_keep_the_verdict(n: int, delta: int, lead: str, tail: str, more: str) -> None:
    gold = f"{n}{'%' if tail == '%' else ''}"
    assert value(gold, f"Some work first: 3 + 4 = 7.\n{lead}{n}{tail}{more}") == 1.0
    assert value(gold, f"Some work first: 3 + 4 = 7.\n{lead}{n + delta}{tail}{more}") == 0.0


_NEGATIONS = st.sampled_from(["not ", "definitely not ", "certainly not ", "never ", "not equal to ",
                              "nicht ", "не ", "pas "])
_NEG_FRAMES = st.sampled_from(["The answer is {neg}{v}.", "I cannot solve this. It is {neg}{v}, though.",
                               "It is {neg}$${v}$$.", "Final answer: {neg}{v}", "The result is {neg}\\boxed{{{v}}}."])


@settings(max_examples=120, deadline=None)
@given(_NUMBERS, _NEGATIONS, _NEG_FRAMES)
def test_not_before_the_final_answer_gives_zero(n: int, neg: str, frame: str) -> None:
    assert value(str(n), frame.format(neg="", v=n).replace("$$", "$")) == 1.0
    assert value(str(n), frame.format(neg=neg, v=n).replace("$$", "$")) == 0.0


_ALT_FRAMES = st.sampled_from([
    "It is either {a} or {b}.", "{a} oder {b}", "{a} или {b}", "The answer is ${a}$ or ${b}$.",
    "\\boxed{{{a} \\vee {b}}}",
    "\\boxed{{{a} | {b}}}", "The answer is {a}, or maybe {b}.", "{a} o\u200br {b}", "\\boxed{{{a} \\text{{ or }} {b}}}",
    "The answer is \\boxed{{{a}}}. We check many other things here, at some length, and find \\boxed{{{b}}}.",
    "<answer>{a}</answer> <answer>{b}</answer>", "The answer is {a} or {b}", "\\boxed{{{a} \\lor {b}}}",
    "It could be {a}. Or {b}.", "The answer is {a}, {b}.", "{a} and/or {b}", "The answer is {a} (or {b}).",
])


@settings(max_examples=150, deadline=None)
@given(_NUMBERS, st.integers(1, 999), _ALT_FRAMES, st.booleans())
def test_any_second_alternative_gives_zero(n: int, delta: int, frame: str, gold_last: bool) -> None:
    other = n + delta
    a, b = (other, n) if gold_last else (n, other)
    assert value(str(n), frame.format(a=a, b=b)) == 0.0
    assert value(str(n), frame.format(a=n, b=n)) == 1.0  # the same value twice is no hedge


def _money(n: int, cents: int, style: int) -> str:
    whole = f"{n:,}" if style % 2 else str(n)
    amount = whole if cents == 0 and style < 4 else f"{whole}.{cents:02d}"
    return [f"${amount}", f"$ {amount}", f"{amount} dollars", f"\\${amount}", f"${amount}", f"{amount}$"][style % 6]


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10**7), st.integers(0, 99), st.integers(0, 5), st.integers(1, 500),
       st.sampled_from(["The total is {m}.", "She pays {m} a day.\nA: {m}", "So he spent 3 + 4 = {m} in total.",
                        "It costs {m}.", "#### {m}"]))
def test_currency_formatting_never_changes_the_verdict(n: int, cents: int, style: int, delta: int, frame: str) -> None:
    exact = f"{n}.{cents:02d}" if (cents or style >= 4) else str(n)
    for gold, expected in ((exact, 1.0), (str(n + delta), 0.0)):
        plain = value(gold, frame.format(m=exact))
        assert plain == expected
        assert value(gold, frame.format(m=_money(n, cents, style))) == plain
