"""The IFBench kinds: one followed and one broken case each, after IFBench's checkers (Pyatkin et al. 2025)."""

from __future__ import annotations

from typing import Any

import pytest

from rewardkit import Sample
from rewardkit.rewards.ifeval import ALL_CHECKS, CHECKS, IFBENCH_CHECKS, IfevalParams, score_ifeval

CASES = [
    ("one two three four", "count:word_count_range", {"min_words": 3, "max_words": 5}, True),
    ("one two", "count:word_count_range", {"min_words": 3, "max_words": 5}, False),
    ("Cats, cats and dogs.", "count:unique_word_count", {"N": 3}, True),  # "cats," and "cats" are one word
    ("Cats, cats and cats.", "count:unique_word_count", {"N": 3}, False),
    ("I run. You walk. Who flies?", "ratio:sentence_type", {}, True),  # 2 declarative : 1 question
    ("I run. Who flies?", "ratio:sentence_type", {}, False),
    ("I run. Who flies? Wow!", "ratio:sentence_balance", {}, True),
    ("I run. I walk. Wow!", "ratio:sentence_balance", {}, False),
    ("Tea and cake, but no coffee or milk.", "count:conjunctions", {"small_n": 3}, True),
    ("Tea and cake and more.", "count:conjunctions", {"small_n": 2}, False),
    ("Emma met Liam and Noah.", "count:person_names", {"N": 3}, True),  # names from IFBench's list only
    ("Emma met Bob and Alice.", "count:person_names", {"N": 2}, False),
    ("I have 3 cats, 12 dogs and 1.5 fish.", "count:numbers", {"N": 3}, True),  # "1.5" reads as one number, 15
    ("I have 3 cats.", "count:numbers", {"N": 2}, False),
    ("Alice bakes cakes daily.", "words:alphabet", {}, True),
    ("Zebras avoid buses.", "words:alphabet", {}, True),  # z loops back to a
    ("Alice cooks.", "words:alphabet", {}, False),
    ("a cat sat", "words:vowel", {}, True),
    ("a cat sits on it quietly", "words:vowel", {}, False),  # a, i, o, u, e: five vowels
    ("strong black crows", "words:consonants", {}, True),
    ("strong bee", "words:consonants", {}, False),
    ("level kayak civic radar refer madam rotor stats tenet sagas", "words:palindrome", {}, True),
    ("level kayak civic", "words:palindrome", {}, False),
    ("Wait, what?! Yes; really: go. Why? Now!", "count:punctuation", {}, True),
    ("Wait, what? Yes; really: go. Now!", "count:punctuation", {}, False),  # no interrobang
    ("(a [b {c (d [e])}])", "format:parentheses", {}, True),
    ("(a [b {c (d)}])", "format:parentheses", {}, False),  # four levels
    ("He said \"she said 'they said \"hi\"'\"", "format:quotes", {}, True),
    ("He said \"she said 'hi'\"", "format:quotes", {}, False),
    ("An owl is at my den.", "words:prime_lengths", {}, True),  # 2, 3, 2, 2, 2, 3 letters; punctuation dropped
    ("No one is here", "words:prime_lengths", {}, False),
    ("Maybe.", "format:options", {"options": "yes/no/maybe"}, True),
    ("Maybe not.", "format:options", {"options": "yes/no/maybe"}, False),
    ("a)", "format:options", {"options": "a), b), c), d)"}, True),  # letters: exact text only
    ("A)", "format:options", {"options": "a), b), c), d)"}, False),
    ("one\ntwo\nthree", "format:newline", {}, True),
    ("one two\nthree", "format:newline", {}, False),
    ("I am here. You go away. We sat down.", "ratio:sentence_words", {}, False),
    ("Cats purr. Dogs bark. Owls hoot.", "ratio:sentence_words", {}, True),  # three sentences of 10 characters
]


@pytest.mark.parametrize(("response", "ident", "kwargs", "followed"), CASES)
def test_ifbench_cases(response: str, ident: str, kwargs: dict[str, Any], followed: bool) -> None:
    row = {"instruction_id_list": [ident], "kwargs": [kwargs]}
    assert score_ifeval(Sample(response, columns=row), IfevalParams()).value == float(followed)


def test_every_ifbench_kind_has_a_followed_and_a_broken_case() -> None:
    assert set(IFBENCH_CHECKS) == {c[1] for c in CASES}
    assert all({f for _, i, _, f in CASES if i == ident} == {True, False} for ident in IFBENCH_CHECKS)
    assert not set(CHECKS) & set(IFBENCH_CHECKS) and len(ALL_CHECKS) == 25 + 18
