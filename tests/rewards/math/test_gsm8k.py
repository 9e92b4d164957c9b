"""The 5,276 GPT-3 GSM8K solutions (tests/data/math, OpenAI's is_correct labels): model prose, scored whole."""

from __future__ import annotations

from rewardkit.rewards.math.compare import Limits, check

from ._data import gsm8k_rows


def test_every_model_solution_matches_its_label() -> None:
    rows = gsm8k_rows()
    got = [bool(check(r["gold"], r["pred"], Limits(budget_s=10.0)).equivalent) for r in rows]
    false_pos = [i for i, (g, r) in enumerate(zip(got, rows, strict=True)) if g and not r["equivalent"]]
    misses = [i for i, (g, r) in enumerate(zip(got, rows, strict=True)) if r["equivalent"] and not g]
    assert not false_pos, false_pos[:20]
    assert len(misses) == 0, misses[:20]  # math-verify 0.9.0 also scores 100% here


def test_none_of_them_needs_sympy() -> None:
    """The fast path covers GSM8K prose: a GRPO batch of such answers never waits on the helper."""
    rows = gsm8k_rows()[:800]
    paths = {check(r["gold"], r["pred"], Limits()).path for r in rows}
    assert paths == {"fast"}
