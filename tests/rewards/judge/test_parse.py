"""Verdict parsing: tables of real judge replies and properties (range, last line wins, noise invariance)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewardkit.rewards.judge.parse import parse_score, parse_verdict, parse_yes_no


@pytest.mark.parametrize(
    ("verdict", "expected"),
    [
        ("Score: 7", 0.7),
        ("The answer is right but terse.\n\nScore: 8", 0.8),
        ("**Score:** 7", 0.7),  # markdown bold around the label
        ("**Score: 10**", 1.0),
        ("Final score = 7/10", 0.7),
        ("score: 4/5", 0.8),  # the judge used its own denominator: read against it
        ("Score: 6 out of 10 (solid)", 0.6),
        ("Rating: 3", 0.3),
        ("### Score: 0", 0.0),
        ("Score: 7.5", 0.75),
        ("Score: 10.", 1.0),  # trailing full stop
        ("Score: 7 - clear and correct", 0.7),
        ("Score: 3\nOn reflection the proof is fine.\nScore: 8", 0.8),  # the last score line counts
        ("8", 0.8),  # a reply that is only a number
        ("  9/10 ", 0.9),
        ("Score: 11", None),  # out of range is unreadable, not clipped
        ("Score: -3", None),
        ("Score: 0-10", None),  # the scale echoed back
        ("Score: 1 – 10", None),
        ("Score: N", None),  # the format echoed back
        ("Score: 7,5", None),  # decimal comma: 7 or 7.5?
        ("a higher score: 9 would need a proof", None),  # mid-sentence, not a verdict line
        ("I would give it a 7.", None),  # no label
        ("", None),
        ("Score: 5/0", None),  # zero denominator
    ],
)
def test_parse_score(verdict: str, expected: float | None) -> None:
    parsed = parse_score(verdict, 10)
    assert (None if parsed is None else parsed.value) == (
        None if expected is None else pytest.approx(expected)
    )


@pytest.mark.parametrize(
    ("verdict", "expected"),
    [
        ("Verdict: yes", 1.0),
        ("It fails the edge case.\n**Verdict:** No.", 0.0),
        ("Answer: YES", 1.0),
        ("yes", 1.0),  # a bare reply
        ("No.", 0.0),
        ("Verdict: no\nwait, actually\nVerdict: yes", 1.0),  # the last line counts
        ("Verdict: yesterday", None),
        ("maybe", None),
        ("Verdict: yes or no", None),  # hedged
        ("", None),
    ],
)
def test_parse_yes_no(verdict: str, expected: float | None) -> None:
    parsed = parse_yes_no(verdict)
    assert (None if parsed is None else parsed.value) == expected


@given(st.integers(1, 100).flatmap(lambda s: st.tuples(st.just(s), st.integers(0, s))), st.text())
def test_a_final_score_line_is_read_whatever_precedes_it(scale_n: tuple[int, int], prose: str) -> None:
    scale, n = scale_n
    parsed = parse_score(f"{prose}\nScore: {n}", scale)
    assert parsed is not None and parsed.value == pytest.approx(n / scale)


@given(st.text(), st.integers(1, 20))
def test_values_stay_in_unit_interval(text: str, scale: int) -> None:
    for kind in ("score", "yes_no"):
        parsed = parse_verdict(text, kind, scale)
        assert parsed is None or 0.0 <= parsed.value <= 1.0


@given(st.text(alphabet=st.characters(blacklist_categories=("Nd",))))
def test_text_without_digits_never_scores(text: str) -> None:
    assert parse_score(text, 10) is None


@given(
    st.integers(0, 10),
    st.sampled_from(["", "**", "__", "`"]),
    st.sampled_from(["", " ", "  "]),
    st.sampled_from(["Score", "score", "SCORE", "Final score"]),
    st.sampled_from(["\n", "\r\n"]),
)
def test_formatting_noise_does_not_change_the_score(
    n: int, wrap: str, pad: str, label: str, eol: str
) -> None:
    text = f"Fine work.{eol}{pad}{wrap}{label}:{pad}{n}{wrap}{pad}{eol}"
    parsed = parse_score(text, 10)
    assert parsed is not None and parsed.value == pytest.approx(n / 10)
