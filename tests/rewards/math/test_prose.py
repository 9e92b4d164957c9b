"""Model prose (issue 13): the shapes that failed, the exploits that scored 1.0, and their neighbours."""

from __future__ import annotations

import pytest

from rewardkit import Sample
from rewardkit.rewards.math import MathParams, score_math
from rewardkit.rewards.math.text import boxes, math_spans, prepare, strip_currency

P = MathParams()


def value(gold: str, completion: str) -> float | None:
    return score_math(Sample(completion=completion, reference=gold), P).value


@pytest.mark.parametrize(
    ("gold", "completion", "expected"),
    [
        # $ as money, not math
        ("694", "the total cost was $204 + $160 + $330 = $694.\nA: 694", 1.0),
        ("694", "Therefore, the total cost was $204 + $160 + $330 = $<<204+160+330=694>>694.", 1.0),
        ("200", "The answer is $x = $200.", 1.0),
        ("18", "She makes $18 a day", 1.0),
        ("2", "Each pack costs $8 / 2 = $<<8/2=4.0>>4.\nA: 4", 0.0),  # was a false positive: "8 / 2 ="
        ("3", "The answer is $2$ or $3$.", 0.0),  # math spans still are math
        # units and prose after the answer
        ("200", "The answer is 200 GB.", 1.0),
        ("17", "The answer is 17 oranges are in perfect condition.", 1.0),
        ("48", "48g.", 1.0),
        ("145", "∠BOC＝145°", 1.0),  # full-width equals, degree sign, a label before it
        ("5 meters", "The length is 5 feet.", 0.0),  # a wrong unit
        ("5 meters", "The length is 5 meters.", 1.0),
        ("5 meters", "The length is 5.", 1.0),  # no unit given: the number decides
        # chains and closing lines
        ("30", "x = 20 + 10 = 30 years", 1.0),
        ("25", "90.0 degrees - 65.0 degrees = 25.0 degrees", 1.0),
        ("26", "She sells 13 * 2 = 26 eggs.\nA: 26", 1.0),
        ("100", "Adding them up.\n**Answer: 100**", 1.0),
        ("10", "Final Answer: The 8th grade should have 10 more students.", 1.0),  # an ordinal is no answer
        ("120", "Final Answer: The volume of $ABCDEFGH$ is 120. I hope it is correct.", 1.0),
        ("12", "$$d = \\frac{90}{n}$$ Therefore, there are 12 distinct sequences.", 1.0),
        ("4", "It is 4.", 1.0),  # not the product I*t*i*s*4
        # factorials and binomials
        ("720", "\\boxed{6!}", 1.0),
        ("5", "\\boxed{5!}", 0.0),
        ("3", "\\boxed{2 \\choose 3}", 0.0),
        ("10", "\\boxed{5 \\choose 2}", 1.0),
        # negations
        ("42", "The answer is definitely not 42.", 0.0),
        ("42", "I cannot solve this. It is certainly not 42, though.", 0.0),
        ("42", "42 is not the answer.", 0.0),
        ("5", "The answer is 5, not 6.", 1.0),
        ("42", "It is not 41 but 42.", 1.0),
        # alternatives, the gold last or first
        ("3", "It is either 2 or 3", 0.0),
        ("2", "It is either 2 or 3", 0.0),
        ("3", "2 oder 3", 0.0),
        ("3", "2 или 3", 0.0),
        ("3", "\\boxed{2 \\vee 3}", 0.0),
        ("3", "\\boxed{2 | 3}", 0.0),
        ("3", "It is 2 o\u200br 3", 0.0),  # a zero-width space inside "or"
        ("3", "First \\boxed{2}. After checking all the other cases at some length, \\boxed{3}.", 0.0),
        ("42", "The answer is 42 (or 41).", 0.0),
        ("42", "It could be 41. Or 42.", 0.0),  # an "or" across a sentence end
        ("42", "42. Or maybe 41.", 0.0),
        ("42", "The answer is 42, 43, 44.", 0.0),  # a list for a single value
        ("42", "It is 41, 42", 0.0),
        ("42", "41 and/or 42", 0.0),
        ("12", "After 3 days, 12 remain.", 1.0),  # a comma after words is no list
        ("0.5", "$\\frac12$, or equivalently $0.5$", 1.0),  # every alternative equals the gold
        ("2, 3", "x = 2 or x = 3", 1.0),  # a multi-valued gold: the alternatives are its values
        ("A", "A or C", 0.0),
        ("D", "The answer is for sure D, it can't be A or B", 1.0),  # rejected letters are no hedge
        # false statements, signs, division by zero, huge values
        ("3", "\\boxed{2 = 3}", 0.0),
        ("2", "The answer is −2.", 0.0),  # Unicode minus
        ("-2", "The answer is −2.", 1.0),
        ("2", "\\boxed{–2}", 0.0),  # en dash
        ("0", "4 0/0", 0.0),
        ("1", "\\boxed{10^{10^{10^{10}}}}", 0.0),
        ("1", "\\boxed{(10^{10})!}", 0.0),
    ],
)
def test_prose(gold: str, completion: str, expected: float) -> None:
    assert value(gold, completion) == expected


def test_currency_keeps_math_spans() -> None:
    assert strip_currency("$204 + $160 = $694") == "204 + 160 = 694"
    assert strip_currency("$2$ or $3$") == "$2$ or $3$"
    assert strip_currency("$x = $200.") == "x = 200."
    assert strip_currency("costs \\$5") == "costs 5"
    assert strip_currency("aura 220 $ à payer") == "aura 220  à payer"
    assert prepare("１２＝３ − ４\u200b") == "12=3 - 4"


def test_scanners_pair_what_is_closed() -> None:
    assert [b[2] for b in boxes("\\boxed{a{b}} x \\boxed{c")] == ["a{b}"]
    assert [s[2] for s in math_spans("\\( a \\) and $b$ and \\[ c")] == [" a ", "b"]
