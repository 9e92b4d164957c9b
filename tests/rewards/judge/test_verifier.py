"""Verifier-model judges: each style's prompt and verdict token, logprob scoring, and the math cascade."""

from __future__ import annotations

import math

import pytest

from rewardkit import Sample, Status
from rewardkit.rewards.judge.cascade import cascade_batch, rule_kind
from rewardkit.rewards.judge.verifier import STYLES, read_token, soft_value, verifier_batch

from .fake_server import Reply, chat, serve, universal
from .helpers import kind_params

pytestmark = pytest.mark.timeout(120)
RIGHT, WRONG = (
    Sample("So it is Canberra.", "Capital of Australia?", "Canberra"),
    Sample("Sydney.", "Capital?", "Canberra"),
)


@pytest.mark.parametrize("style", sorted(STYLES))
def test_each_style_grades_through_its_own_verdict_token(style: str) -> None:
    with serve(universal) as judge:
        scores = verifier_batch([RIGHT, WRONG], kind_params("verifier", judge.url, style=style))
    assert [s.value for s in scores] == [1.0, 0.0] and all(s.status is Status.OK for s in scores)
    # The two requests arrive concurrently, in either order (the order once made this test flaky).
    assert all(len(r["messages"]) == 1 for r in judge.requests)  # verifier models take one user turn
    contents = sorted(r["messages"][0]["content"] for r in judge.requests)
    assert [('"So it is Canberra."' in c, '"Sydney."' in c) for c in contents] in (
        [(True, False), (False, True)], [(False, True), (True, False)]
    )  # each response once, as a JSON string literal
    assert all("response_format" not in r for r in judge.requests)  # verdict-token models are not forced into JSON


@pytest.mark.parametrize(
    ("reply", "choices", "expected"),
    [
        ("Correct", "xverify", 1.0),
        ("[Incorrect]", "xverify", 0.0),
        ("correct.", "xverify", 1.0),
        ("Correct, because the response says so", "xverify", None),  # more than the token
        ("The answer is Correct", "xverify", None),
        ("A", "compassverifier", 1.0),
        ("\\boxed{B}", "compassverifier", 0.0),
        ("C", "compassverifier", 0.0),  # invalid response: the completion's fault, scored incorrect
        ("A or B", "compassverifier", None),
        ("", "compassverifier", None),
    ],
)
def test_read_token(reply: str, choices: str, expected: float | None) -> None:
    parsed = read_token(reply, STYLES[choices].choices)
    assert (None if not hasattr(parsed, "value") else parsed.value) == expected  # type: ignore[union-attr]


def test_logprobs_give_p_correct_where_the_server_sends_them() -> None:
    with serve(universal) as judge:
        p = kind_params("verifier", judge.url, style="xverify", top_logprobs=5)
        right, wrong = verifier_batch([RIGHT, WRONG], p)
    assert right.value == pytest.approx(0.8) and wrong.value == pytest.approx(0.2)
    assert judge.requests[0]["logprobs"] is True and judge.requests[0]["top_logprobs"] == 5


def test_without_logprobs_in_the_reply_the_hard_verdict_stands() -> None:
    with serve(lambda n, r, h: Reply(body=chat("[Correct]"))) as judge:
        [score] = verifier_batch([WRONG], kind_params("verifier", judge.url, style="xverify", top_logprobs=5))
    assert score.value == 1.0


def test_soft_value_after_a_label() -> None:
    lp = math.log
    alternatives = [{"token": " Yes", "logprob": lp(0.6)}, {"token": " No", "logprob": lp(0.3)},
                    {"token": " Maybe", "logprob": lp(0.1)}]  # fmt: skip
    tokens = [{"token": t, "logprob": 0.0} for t in ("Final", " Decision", ":")]
    tokens.append({"token": " Yes", "logprob": lp(0.6), "top_logprobs": alternatives})
    value, mass = soft_value(tokens, {"yes": 1.0, "no": 0.0}, "final decision")  # type: ignore[misc]
    assert value == pytest.approx(0.6 / 0.9) and mass == pytest.approx(0.9)


def test_a_derailed_verifier_scores_the_low_value() -> None:
    with serve(lambda n, r, h: Reply(body=chat("The response asks me to say Correct."))) as judge:
        [score] = verifier_batch([WRONG], kind_params("verifier", judge.url, style="xverify"))
    assert score.value == 0.0 and score.details["verdict_status"] == "unreadable" and len(judge.requests) == 2


# --- the math rule, then the verifier --------------------------------------------------------------


def math_row(text: str, gold: str) -> Sample:
    return Sample(text, "Compute it.", gold)


@pytest.mark.parametrize(
    ("text", "gold", "kind"),
    [
        ("The answer is \\boxed{4}.", "4", "right"),
        ("The answer is \\boxed{5}.", "4", "wrong"),
        ("The answer is \\boxed{4 \\text{ or } 5}", "4", "hedged"),
        ("The answer is either 4 or 5.", "4", "hedged"),
        ("I cannot say.", "4", "unsure"),  # no final answer: the rule cannot tell
    ],
)
def test_rule_kinds(text: str, gold: str, kind: str) -> None:
    from rewardkit.rewards.math import MathParams, score_math

    assert rule_kind(score_math(math_row(text, gold), MathParams())) == kind


def _always(verdict: str):  # type: ignore[no-untyped-def]
    return lambda n, r, h: Reply(body=chat(f"Checked.\nFinal Decision: {verdict}"))


def test_the_model_is_asked_only_where_the_rule_is_unsure_or_wrong() -> None:
    rows = [
        math_row("The answer is \\boxed{4}.", "4"),  # right: never asked
        math_row("The answer is \\boxed{4 \\text{ or } 5}", "4"),  # hedged: never asked
        math_row("The answer is \\boxed{5}.", "4"),  # wrong: asked, not overridden
        math_row("four, I think", "4"),  # unsure: the model decides
    ]
    with serve(_always("Yes")) as judge:
        scores = cascade_batch(rows, kind_params("math_verifier", judge.url))
    assert [s.value for s in scores] == [1.0, 0.0, 0.0, 1.0]
    assert [s.details["source"] for s in scores] == ["rule", "rule", "rule", "verifier"]
    assert [s.details.get("disagreement") for s in scores] == [None, None, True, False]
    assert len(judge.requests) == 2


def test_override_and_ask_on_wrong_are_configurable() -> None:
    wrong = [math_row("The answer is \\boxed{5}.", "4")]
    with serve(_always("Yes")) as judge:
        [overridden] = cascade_batch(wrong, kind_params("math_verifier", judge.url, override_wrong=True))
        [silent] = cascade_batch(wrong, kind_params("math_verifier", judge.url, ask_on_wrong=False))
    assert overridden.value == 1.0 and overridden.details["source"] == "verifier"
    assert silent.value == 0.0 and "verifier" not in silent.details and len(judge.requests) == 1


def test_a_verifier_outage_keeps_definite_rule_verdicts_and_masks_the_rest() -> None:
    rows = [math_row("The answer is \\boxed{5}.", "4"), math_row("four, I think", "4")]
    with serve(lambda n, r, h: Reply(503, "down")) as judge:
        wrong, unsure = cascade_batch(rows, kind_params("math_verifier", judge.url, max_retries=0))
    assert wrong.value == 0.0 and wrong.status is Status.OK
    assert unsure.value is None and unsure.status is Status.ERROR
