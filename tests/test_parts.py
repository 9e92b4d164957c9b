"""Named sub-scores (``Score.details["parts"]``): read safely, tracked as ``<term>/<part>`` series in the stats,
the trainer metrics, the CLI's summary order and the report, and never in a total, a term's counts, the error
budget, the masked rate, or the OpenRLHF and verl replies."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewardkit import RewardSpec, Sample, Score, compose, hookimpl
from rewardkit.config import parse_config
from rewardkit.evaluate import Scored, evaluate_chunk
from rewardkit.integrations.openrlhf import reply
from rewardkit.report import Report, write_report
from rewardkit.stats import MAX_PARTS, PARTS, TOTAL, Stats, parts_of, trainer_metrics
from tests._fixtures import registered


@dataclass(frozen=True)
class NoParams:
    pass


def parted(sample: Sample, params: NoParams) -> Score:
    """A reward whose parts come from the row: ``v`` is its value, ``parts`` its sub-scores, ``fail`` an outage."""
    if sample.columns.get("fail"):
        return Score.error("the service is down", parts=sample.columns.get("parts") or {})
    return Score.ok(float(sample.columns.get("v", 1.0)), "as the row says", parts=sample.columns.get("parts") or {})


PARTED = RewardSpec(name="parted", description="sub-scores from the row", params=NoParams, range=(0.0, 1.0),
                    fn=parted)  # fmt: skip
PLUGIN = SimpleNamespace(register_rewards=hookimpl(lambda register: register(PARTED)))
CONFIG = {"max_error_rate": 1.0, "rewards": [{"name": "parted"}, {"name": "think_format", "weight": 0.5}]}


@pytest.fixture(autouse=True)
def parted_reward() -> Iterator[None]:
    with registered(PLUGIN, "parts-test-rewards"):
        yield


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        ({PARTS: {"a": 0.5, "b": 1}}, {"a": 0.5, "b": 1.0}),  # ints are numbers
        ({PARTS: {"a": Fraction(1, 4), "b": np.float32(0.5)}}, {"a": 0.25, "b": 0.5}),  # any real number
        ({PARTS: {"a": True, "b": 0.0}}, {"b": 0.0}),  # a bool is not a score
        ({PARTS: {"a": math.nan, "b": math.inf, "c": -0.5}}, {"c": -0.5}),  # not finite: ignored
        ({PARTS: {"a": 9e307, "b": -1e13, "c": 1e12, "d": -1e12}}, {"c": 1e12, "d": -1e12}),  # a run's sum
        # of parts past MAX_PART_MAGNITUDE could overflow its mean to inf (CI: two of 9e307): not sub-scores
        ({PARTS: {"a": "0.5", "b": None, "c": [1.0]}}, {}),  # not numbers
        ({PARTS: {"x/y": 1.0, "": 1.0, " a": 1.0, "a\n": 1.0, "z" * 65: 1.0, 3: 1.0, "ok name": 1.0}},
         {"ok name": 1.0}),  # a name must fit a metric key: no '/', printable, no outer spaces, <= 64 chars
        ({PARTS: [("a", 1.0)]}, {}),  # not a mapping
        ({PARTS: None}, {}),
        ({"criteria": {"a": 1.0}}, {}),  # only the documented key is read
        ({}, {}),
    ],
)  # fmt: skip
def test_parts_of_reads_only_well_formed_entries(details: dict[Any, Any], expected: dict[str, float]) -> None:
    assert parts_of(Score(1.0, details=details)) == expected


def test_parts_of_reads_at_most_max_parts_in_order() -> None:
    many = {f"p{i}": float(i) for i in range(MAX_PARTS + 8)}
    assert list(parts_of(Score.ok(1.0, parts=many))) == [f"p{i}" for i in range(MAX_PARTS)]


def _scored(*scores: tuple[str, Score], total: float | None = 1.0) -> Scored:
    return Scored(total, dict(scores))


def test_stats_count_each_part_on_the_rows_that_carry_it() -> None:
    rows = [
        _scored(("r", Score.ok(0.5, parts={"a": 1.0, "b": 0.0})), ("f", Score.ok(1.0))),
        _scored(("r", Score.ok(1.0, parts={"a": 0.0})), ("f", Score.ok(0.0))),  # b absent: not counted
        _scored(("r", Score.error("down", parts={"b": 1.0})), ("f", Score.ok(1.0)), total=None),  # judged parts
        _scored(("r", Score.not_applicable("no rubric")), ("f", Score.ok(1.0))),
    ]
    stats = Stats.of(rows)
    assert {k: (p.count, p.mean) for k, p in stats.parts.items()} == {"r/a": (2, 0.5), "r/b": (2, 0.5)}
    assert all(p.nulls == p.errors == p.failed == 0 for p in stats.parts.values())
    assert [(path, part) for path, _, part in stats.in_order()] == [
        ("r", False), ("r/a", True), ("r/b", True), ("f", False), (TOTAL, False)]
    metrics = trainer_metrics(stats, skip_means=["r"])
    assert metrics["rewardkit/r/a/mean"] == 0.5 and metrics["rewardkit/r/b/mean"] == 0.5
    assert "rewardkit/r/mean" not in metrics  # skipped term; its parts are still logged
    assert not any(k.startswith("rewardkit/r/a/") and not k.endswith("/mean") for k in metrics)  # no counts
    assert metrics["rewardkit/r/errors"] == 1.0 and metrics["rewardkit/masked"] == 0.25


def test_stats_merge_like_one_pass() -> None:
    rows = [_scored(("r", Score.ok(0.1 * i, parts={f"p{i % 3}": 0.1 * i}))) for i in range(9)]
    whole, first, second = Stats.of(rows), Stats.of(rows[:4]), Stats.of(rows[4:])
    first.merge(second)
    assert first.parts.keys() == whole.parts.keys()
    for key, ts in whole.parts.items():
        assert (first.parts[key].count, first.parts[key].total) == pytest.approx((ts.count, ts.total))


def test_nested_terms_carry_their_parts_under_their_dotted_path() -> None:
    config = {"rewards": [{"id": "g", "rewards": [{"name": "parted"}]}]}
    reward = compose(config)
    [scored] = reward.score(completions=["x"], parts=[{"a": 0.25}])
    stats = Stats.of([scored])
    assert list(stats.parts) == ["g.parted/a"]
    assert trainer_metrics(stats)["rewardkit/g.parted/a/mean"] == 0.25


# -- the property: parts are for watching only ------------------------------------------------------------

part_values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.text(max_size=3),
                        st.integers(-5, 5))  # fmt: skip
part_maps = st.dictionaries(st.sampled_from(["a", "b", "c/d", "", "x y"]), part_values, max_size=4)
rows = st.lists(
    st.tuples(st.floats(0, 1), st.booleans(), part_maps, st.sampled_from(["<think>a</think><answer>1</answer>", "1"])),
    min_size=1, max_size=12,
)  # fmt: skip


@given(rows)
def test_property_adding_parts_changes_no_total_no_term_and_no_budget(batch: list[Any]) -> None:
    values, fails, parts, texts = (list(col) for col in zip(*batch, strict=True))
    plain, rich = compose(CONFIG), compose(CONFIG)
    without = plain.score(completions=texts, v=values, fail=fails, parts=[{}] * len(texts))
    with_parts = rich.score(completions=texts, v=values, fail=fails, parts=parts)
    assert [r.total for r in with_parts] == [r.total for r in without]
    a, b = Stats.of(without), Stats.of(with_parts)
    assert a.terms == b.terms and a.rows == b.rows and a.parts == {}
    assert set(b.parts) <= {"parted/a", "parted/b", "parted/x y"}  # malformed names never become series
    assert {p: a.error_rate(p) for p in a.terms} == {p: b.error_rate(p) for p in b.terms}
    logged = trainer_metrics(b)
    part_keys = {k for k in logged if k.count("/") == 3}  # rewardkit/<term>/<part>/mean; the rest have fewer
    assert {k: v for k, v in logged.items() if k not in part_keys} == trainer_metrics(a)
    assert all(k.endswith("/mean") and math.isfinite(logged[k]) for k in part_keys)
    assert plain.budget._recent == rich.budget._recent  # the error budget saw the same failures


def test_openrlhf_replies_keep_their_fixed_key_set() -> None:
    config = parse_config(CONFIG)
    rich = [Sample("1", columns={"parts": {"a": 1.0}}), Sample("2", columns={"parts": {"b": 0.0}})]
    plain = [Sample("1"), Sample("2")]
    results = evaluate_chunk(config, rich)
    assert parts_of(results[0].scores["parted"]) == {"a": 1.0}
    got, expected = reply(config, rich, results), reply(config, plain, evaluate_chunk(config, plain))
    assert got == expected  # the same keys and the same numbers: parts are not sent


def test_verl_results_keep_their_fixed_key_set(tmp_path: Path) -> None:
    from rewardkit.integrations import verl

    path = tmp_path / "routes.yaml"
    path.write_text("data_sources:\n  d:\n    rewards: [{name: parted}]\n", encoding="utf-8")
    try:
        got = [verl.compute_score("d", "x", "1", {"parts": p}, config=str(path), workers=0)
               for p in ({"a": 0.5}, {"b": 1.0}, {})]  # fmt: skip
    finally:
        verl.close()
    assert all(isinstance(g, dict) for g in got)
    assert got[0] == got[1] == got[2]  # one key set per run, and parts change no value


# -- the report ------------------------------------------------------------------------------------------


def test_the_report_shows_each_part_after_its_term_and_merges(tmp_path: Path) -> None:
    config = parse_config(CONFIG)
    samples = [Sample(f"r{i}", columns={"parts": {"a": i / 4} if i % 2 else {"b": 1.0}}) for i in range(4)]
    results = evaluate_chunk(config, samples)
    whole, first, second = (Report.for_config(config) for _ in range(3))
    for i, (s, r) in enumerate(zip(samples, results, strict=True)):
        whole.add(i + 1, s.completion, r, 0.0)
        (first if i < 2 else second).add(i + 1, s.completion, r, 0.0)
    first.merge(second)
    assert {k: p.bins for k, p in first.parts.items()} == {k: p.bins for k, p in whole.parts.items()}
    assert whole.parts["parted/a"].statuses == {"ok": 2} and whole.parts["parted/b"].bins[-1] == 2
    write_report(whole, tmp_path / "r.md", "rows")
    text = (tmp_path / "r.md").read_text(encoding="utf-8")
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings[:5] == ["## parted", "## parted/b", "## parted/a", "## think_format", "## (total)"]
    write_report(whole, tmp_path / "r.html", "rows")
    assert "<h2>parted/a</h2>" in (tmp_path / "r.html").read_text(encoding="utf-8")
