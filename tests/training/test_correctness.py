"""A shortened correctness run and its shuffled-gold control: held-out accuracy rises only with true golds."""

from __future__ import annotations

from pathlib import Path

import pytest

from training import correctness, tiny

pytest.importorskip("trl")


@pytest.mark.parametrize(
    ("question", "value"),
    [("3+7-7", 3), ("0-9+9", 0), ("2*3+1", 7), ("9-9", 0)],  # left to right, * before +
)
def test_questions_are_valued_by_parsing_not_eval(question: str, value: int) -> None:
    assert tiny.evaluate(question) == value


@pytest.mark.parametrize("hostile", ["__import__('os')", "2**99", "1/2", "x+1"])
def test_anything_but_integer_arithmetic_is_refused(hostile: str) -> None:
    with pytest.raises((ValueError, SyntaxError)):
        tiny.evaluate(hostile)


def test_the_split_is_by_question_and_complete() -> None:
    train, held = tiny.arithmetic_split(0.3, max_answer=9, forms=["{a}+{b}-{b}", "{a}-{b}+{b}"], seed=3)
    questions = [r["question"] for r in train + held]
    assert len(held) == 60 and len(set(questions)) == len(questions) == 200
    assert not {r["question"] for r in train} & {r["question"] for r in held}


def test_shuffled_answers_keep_one_wrong_gold_per_question_and_the_marginal() -> None:
    datasets = pytest.importorskip("datasets")
    from training import grpo

    rows = [{"question": f"q{i % 20}", "answer": str(i % 20)} for i in range(100)]
    shuffled = grpo.shuffle_answers(datasets.Dataset.from_list(rows), "question", "answer", seed=0)
    mapping: dict[str, set[str]] = {}
    for r in shuffled:
        mapping.setdefault(r["question"], set()).add(r["answer"])
    assert all(len(v) == 1 for v in mapping.values())  # every repeat of a question: the same gold
    assert sorted(next(iter(v)) for v in mapping.values()) == sorted(str(i) for i in range(20))
    assert sum(q == f"q{next(iter(v))}" for q, v in mapping.items()) < 5  # mostly moved


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_short_run_beats_its_control_on_held_out_questions(tmp_path: Path) -> None:
    # The warm-up keeps its 300 steps: at 200 it still echoes the leading digit (43% held-out before GRPO).
    overrides = ["grpo.max_steps=60", "report_every=20"]
    records = correctness.run_all(correctness.CONFIG, tmp_path, [0], overrides, parallel=2)
    result = correctness.compare(records)
    runs = {r["arm"]: r for r in result["runs"]}
    assert runs["treatment"]["before"] == runs["control"]["before"]  # same warmed-up start
    assert runs["treatment"]["before"] < 0.3  # right only by chance after the format warm-up
    # Measured at 60 steps: treatment 0.95-1.0, control ~0.1; the margin leaves room for noise.
    assert result["treatment_minus_control"][0] >= 0.3, result
    assert (tmp_path / "seed0-treatment" / "metrics.jsonl").is_file()
