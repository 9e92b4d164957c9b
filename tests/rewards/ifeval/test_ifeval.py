"""ifeval: agreement with IFEval's reference code, hand-built cases of each kind, modes, rows, properties."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardkit import Sample, registry
from rewardkit.errors import ConfigError
from rewardkit.params import build_params
from rewardkit.rewards.ifeval import CHECKS, IfevalParams, loose_variants, score_ifeval
from rewardkit.rewards.ifeval.text import count_sentences, split_sentences
from rewardkit.testing import check_reward_properties, completions, samples
from rewardkit.types import Status

DATA = Path(__file__).parent / "data" / "lm_eval_verdicts.jsonl"
VERDICTS = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()[1:]]


def _params(**values: Any) -> IfevalParams:
    return build_params("ifeval", IfevalParams, values)  # type: ignore[no-any-return]


def _row(ids: list[str], kwargs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"instruction_id_list": ids, "kwargs": kwargs if kwargs is not None else [{} for _ in ids]}


def _score(response: str, ident: str, kwargs: dict[str, Any] | None = None, **params: Any) -> float | None:
    return score_ifeval(Sample(response, columns=_row([ident], [kwargs or {}])), _params(**params)).value


def test_all_25_ifeval_kinds_are_checked() -> None:
    assert len(CHECKS) == 25
    assert {i.split(":")[0] for i in CHECKS} == {"keywords", "language", "length_constraints", "detectable_content",
                                                 "detectable_format", "combination", "startend", "change_case",
                                                 "punctuation"}  # fmt: skip


def test_the_vendored_reference_verdicts_cover_23_kinds_both_ways() -> None:
    kinds = {(v["instruction_id"], v["expected"]) for v in VERDICTS}
    assert len({k for k, _ in kinds}) == 23  # all but the two that need nltk's punkt data (tested by hand below)
    assert sum(e for _, e in kinds) >= 20  # nearly every kind has a followed and a not-followed case


@pytest.mark.parametrize("case", VERDICTS, ids=lambda v: v["instruction_id"])
def test_agrees_with_ifeval_reference_code(case: dict[str, Any]) -> None:
    # IFEval counts text langdetect cannot read as following; "pass" reproduces that.
    got = _score(case["response"], case["instruction_id"], case["kwargs"], undetected_language="pass")
    assert got == float(case["expected"]), case


# Hand-built (response, instruction, kwargs, followed), one comment per row, after IFEval's semantics.
CASES = [
    ("This is one. This is two! Is this three?", "length_constraints:number_sentences",
     {"num_sentences": 3, "relation": "at least"}, True),  # . ! ? each end a sentence
    ("This is one. This is two! Is this three?", "length_constraints:number_sentences",
     {"num_sentences": 3, "relation": "less than"}, False),
    ("Dr. Smith met Mr. Jones at 3.5 km. They talked.", "length_constraints:number_sentences",
     {"num_sentences": 2, "relation": "less than"}, False),  # titles and decimals do not end sentences: 2
    ("The U.S.A. is large. It has fifty states.", "length_constraints:number_sentences",
     {"num_sentences": 3, "relation": "less than"}, True),  # an acronym is not a sentence end
    ("HELLO WORLD and THE SUN is UP", "change_case:capital_word_frequency",
     {"capital_frequency": 5, "relation": "at least", "capital_relation": "at least"}, True),
    ("HELLO WORLD and THE SUN is UP", "change_case:capital_word_frequency",
     {"capital_frequency": 5, "capital_relation": "less than"}, False),
    ("a WELL-KNOWN fact", "change_case:capital_word_frequency",
     {"capital_frequency": 1, "capital_relation": "at least"}, True),  # hyphenated words count once, as in nltk
    ("Le chat dort sur le canapé toute la journée, comme toujours.", "language:response_language",
     {"language": "fr"}, True),
    ("Le chat dort sur le canapé toute la journée, comme toujours.", "language:response_language",
     {"language": "en"}, False),
    ("12345 !!! 678", "language:response_language", {"language": "fr"}, False),  # undetectable: fails by default
    ("this is all lower case english text about cats.", "change_case:english_lowercase", {}, True),
    ("This is not all lower case.", "change_case:english_lowercase", {}, False),
    ("THIS IS ALL CAPITAL ENGLISH TEXT ABOUT DOGS.", "change_case:english_capital", {}, True),
    ("Response one\n******\nResponse two", "combination:two_responses", {}, True),
    ("Same\n******\nSame", "combination:two_responses", {}, False),  # the two must differ
    ("One\n******\n******\nTwo", "combination:two_responses", {}, False),  # an empty response between
    ("<<History of Rome>>\nRome was...", "detectable_format:title", {}, True),
    ("<<  >> no title", "detectable_format:title", {}, False),  # a blank title is none
    ('"It ends here. Any other questions?"', "startend:end_checker", {"end_phrase": "Any other questions?"}, True),
    ('"hello"', "startend:quotation", {}, True),
    ('"', "startend:quotation", {}, False),  # one quote mark is not a quotation
    ("```json\n{\"a\": 1}\n```", "detectable_format:json_format", {}, True),
    ("{'a': 1}", "detectable_format:json_format", {}, False),  # single quotes are not JSON
    ("SECTION 1\nfoo\nSECTION 2\nbar", "detectable_format:multiple_sections",
     {"section_spliter": "SECTION", "num_sections": 2}, True),
    ("a\n***\nb\n***\nc", "length_constraints:number_paragraphs", {"num_paragraphs": 3}, True),
    ("a\n***\n***\nb", "length_constraints:number_paragraphs", {"num_paragraphs": 2}, False),  # empty middle
    ('Hello world\n\n"Summer, is here."', "length_constraints:nth_paragraph_first_word",
     {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "summer"}, True),  # quotes and comma stripped
    ("[name] lives at [address]", "detectable_content:number_placeholders", {"num_placeholders": 2}, True),
    ("* a\n* b\n- c\n**bold** line", "detectable_format:number_bullet_lists", {"num_bullets": 3}, True),
    ("*one* and **two**", "detectable_format:number_highlighted_sections", {"num_highlights": 2}, True),
    ("banana", "keywords:letter_frequency", {"letter": "a", "let_frequency": 3, "let_relation": "at least"}, True),
    ("banana", "keywords:letter_frequency", {"letter": "a", "let_frequency": 3, "let_relation": "less than"}, False),
    ("I like Python", "keywords:existence", {"keywords": ["python"]}, True),  # case-insensitive
    ("I write C++ daily", "keywords:existence", {"keywords": ["C++"]}, True),  # literal, not a regex
    ("I like cats", "keywords:forbidden_words", {"forbidden_words": ["cat"]}, True),  # whole words only
    ("the the The", "keywords:frequency", {"keyword": "the", "frequency": 3, "relation": "at least"}, True),
    ("Write a poem. Here it is: roses...", "combination:repeat_prompt", {"prompt_to_repeat": "write a poem."}, True),
    ("Well. My answer is yes.", "detectable_format:constrained_response", {}, True),
    ("P.S. see you soon", "detectable_content:postscript", {"postscript_marker": "P.S."}, True),
    ("p. p. s. bye", "detectable_content:postscript", {"postscript_marker": "P.P.S"}, True),
    ("no commas at all", "punctuation:no_comma", {}, True),
    ("   ", "punctuation:no_comma", {}, False),  # an empty response follows nothing
    ("\u200b\u2060\n", "punctuation:no_comma", {}, False),  # nor one of invisible characters (strip() keeps them)
]


@pytest.mark.parametrize(("response", "ident", "kwargs", "followed"), CASES)
def test_hand_built_cases(response: str, ident: str, kwargs: dict[str, Any], followed: bool) -> None:
    assert _score(response, ident, kwargs) == float(followed)


def test_sentence_splitter_keeps_ellipses_and_quotes_with_their_sentence() -> None:
    assert split_sentences('He said "hi." Then left... Really?') == ['He said "hi".', "Then left...", "Really?"]
    assert count_sentences("") == 0


def test_loose_mode_forgives_a_first_line_and_emphasis() -> None:
    response = "Sure, here it is:\nno commas here"
    assert _score(response, "punctuation:no_comma") == 0.0
    assert _score(response, "punctuation:no_comma", mode="loose") == 1.0
    ended = "It ends. Any other questions?**"
    assert _score(ended, "startend:end_checker", {"end_phrase": "Any other questions?"}) == 0.0
    assert _score(ended, "startend:end_checker", {"end_phrase": "Any other questions?"}, mode="loose") == 1.0
    assert len(loose_variants("a\nb\nc")) == 8


def test_fraction_and_all_or_nothing() -> None:
    row = _row(["punctuation:no_comma", "keywords:existence"], [{}, {"keywords": ["zebra"]}])
    assert score_ifeval(Sample("no zebra, sorry", columns=row), _params()).value == 0.5
    assert score_ifeval(Sample("no zebra, sorry", columns=row), _params(score="all")).value == 0.0
    assert score_ifeval(Sample("a zebra", columns=row), _params(score="all")).value == 1.0


def test_reasoning_is_not_checked_and_an_unclosed_think_has_no_response() -> None:
    row = _row(["punctuation:no_comma"])
    assert score_ifeval(Sample("<think>a, b, c</think>no commas", columns=row), _params()).value == 1.0
    assert score_ifeval(Sample("<think>still thinking and no", columns=row), _params()).value == 0.0
    assert score_ifeval(Sample("<think>a, b</think>x", columns=row), _params(strip_reasoning=False)).value == 0.0


def test_rows_in_the_hugging_face_shape_and_as_json_strings() -> None:
    hf = {"num_words": 3, "relation": "at least", "keywords": None, "language": None}  # None fills absent keys
    row = {"instruction_id_list": json.dumps(["length_constraints:number_words"]), "kwargs": json.dumps([hf])}
    assert score_ifeval(Sample("one two three", columns=row), _params()).value == 1.0


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (_row(["punctuation:no_coma"]), "did you mean 'punctuation:no_comma'"),
        (_row(["punctuation:no_comma", "detectable_format:title"], [{}]), "2 instruction ids but 1 kwargs"),
        (_row(["length_constraints:number_words"], [{"num_words": 3}]), "'relation' must be one of"),
        (_row(["keywords:letter_frequency"], [{"letter": "ab", "let_frequency": 1, "let_relation": "at least"}]),
         "one English letter"),
        ({"instruction_id_list": "not json"}, "not JSON"),
        ({}, "no instructions"),
    ],
)
def test_malformed_rows_do_not_apply_and_say_why(row: dict[str, Any], message: str) -> None:
    score = score_ifeval(Sample("text", columns=row), _params())
    assert score.status is Status.NOT_APPLICABLE and message.lower() in score.reason.lower(), score.reason


def test_spec_declares_family_builders_and_a_params_check() -> None:
    spec = registry.get("ifeval")
    assert spec.family == "ifeval" and spec.cost == "cheap"
    row = _row(["punctuation:no_comma", "detectable_format:title"])
    assert spec.gold_completion is not None and spec.wrong_completion is not None and spec.validate is not None
    assert spec.gold_completion({**row, "response": "<<T>> ok"}, None, _params()) == "<<T>> ok"
    assert spec.gold_completion(row, None, _params()) is None  # IFEval rows carry no reference response
    wrong = spec.wrong_completion(row, None, _params())
    assert score_ifeval(Sample(wrong, columns=row), _params()).value == 0.0
    with pytest.raises(ConfigError, match="instruction_id_list"):
        spec.validate(_params(ids_column="kwargs"))


# --- properties ---------------------------------------------------------------------------------------------

_SIMPLE = [  # instructions whose kwargs need nothing from the response
    ("punctuation:no_comma", {}), ("detectable_format:title", {}), ("startend:quotation", {}),
    ("length_constraints:number_words", {"num_words": 5, "relation": "less than"}),
    ("keywords:existence", {"keywords": ["answer"]}), ("detectable_format:json_format", {}),
    ("combination:two_responses", {}), ("change_case:english_lowercase", {}),
    ("length_constraints:number_sentences", {"num_sentences": 2, "relation": "at least"}),
]  # fmt: skip
rows = st.lists(st.sampled_from(_SIMPLE), min_size=1, max_size=4).map(
    lambda pairs: _row([p[0] for p in pairs], [p[1] for p in pairs])
)
param_sets = st.fixed_dictionaries({"mode": st.sampled_from(["strict", "loose"]),
                                    "score": st.sampled_from(["fraction", "all"])})  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(batch=st.lists(samples(columns=rows), min_size=1, max_size=6), values=param_sets)
def test_properties(batch: list[Sample], values: dict[str, Any]) -> None:
    check_reward_properties(registry.get("ifeval"), values, batch)


@settings(max_examples=60, deadline=None)
@given(text=completions(), row=rows)
def test_loose_is_never_below_strict_and_all_never_above_fraction(text: str, row: dict[str, Any]) -> None:
    sample = Sample(text, columns=row)
    strict = score_ifeval(sample, _params()).value
    assert strict is not None
    assert score_ifeval(sample, _params(mode="loose")).value >= strict  # type: ignore[operator]
    assert score_ifeval(sample, _params(score="all")).value <= strict  # type: ignore[operator]


@settings(max_examples=40, deadline=None)
@given(text=completions(), reasoning=st.text(max_size=40).filter(lambda t: "</think>" not in t), row=rows)
def test_reasoning_text_never_changes_the_score(text: str, reasoning: str, row: dict[str, Any]) -> None:
    response = text.replace("<think>", "").replace("</think>", "")
    plain = score_ifeval(Sample(response, columns=row), _params())
    assert score_ifeval(Sample(f"<think>{reasoning}</think>{response}", columns=row), _params()) == plain
