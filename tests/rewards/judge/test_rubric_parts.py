"""The rubric judge's per-criterion scores as their own series (``details["parts"]``): logged as
``rewardkit/rubric_judge/<criterion>/mean`` by compose and the TRL adapter, shown by `rewardkit score`'s summary
and ``--report``, kept out of the scored JSONL's ``rewards``, and never part of the total."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from rewardkit import Sample, Status, compose
from rewardkit.integrations.trl import reward_funcs
from rewardkit.rewards.judge.rubric import kept, parse_criteria
from rewardkit.stats import PARTS, Stats

from .fake_server import Reply, sections, serve, universal
from .helpers import kind_params

pytestmark = pytest.mark.timeout(120)
AU = "What is the capital of Australia?"
FR = "Name the capital of France."
RUBRIC_AU = [
    {"name": "capital", "criterion": "mentions Canberra", "weight": 3},
    {"name": "country", "criterion": "mentions Australia", "weight": 1},
    {"name": "pitfall", "criterion": "mentions Sydney", "weight": -2},
]
RUBRIC_FR = [{"name": "capital", "criterion": "mentions Paris", "weight": 2}, {"name": "tone", "criterion":
             "mentions please"}]  # fmt: skip
# (prompt, completion, that row's rubric): different criteria per row, one shared name, a row without any
ROWS = [
    (AU, "Canberra is the capital of Australia.", RUBRIC_AU),  # capital 1, country 1, pitfall 0
    (AU, "Sydney, Australia.", RUBRIC_AU),  # capital 0, country 1, pitfall 1 (present)
    (FR, "Paris, please.", RUBRIC_FR),  # capital 1, tone 1
    (FR, "Paris.", RUBRIC_FR),  # capital 1, tone 0
    (FR, "Say hi.", None),  # no rubric: the term does not apply, no parts
]
MEANS = {"capital": 0.75, "country": 1.0, "pitfall": 0.5, "tone": 0.5}


def params(url: str, **kw: Any) -> dict[str, Any]:
    return {"base_url": url, "model": "m", "cache_path": None, "backoff_s": 0.01, **kw}


class Metrics:
    """Stands in for TRL's ``log_metric``."""

    def __init__(self) -> None:
        self.logged: dict[str, list[float]] = defaultdict(list)

    def __call__(self, name: str, value: float) -> None:
        self.logged[name].append(value)


def oracle(rows: list[tuple[str, str, Any]], **kw: Any) -> dict[str, float]:
    """Each criterion's mean over the rows that judge it, worked out without the judge: the fake judge says
    a criterion "mentions X" is met when X is in the response; dropout keeps what `kept` keeps."""
    p = kind_params("rubric_judge", "http://127.0.0.1:1/v1", **kw)
    seen: dict[str, list[float]] = defaultdict(list)
    for prompt, text, rubric in rows:
        if rubric is None:
            continue
        for c in kept(parse_criteria(rubric, "row"), Sample(text, prompt), p):
            seen[c.name].append(float(c.text.removeprefix("mentions ").lower() in text.lower()))
    return {name: sum(v) / len(v) for name, v in seen.items()}


def columns(rows: list[tuple[str, str, Any]]) -> dict[str, list[Any]]:
    return {"prompts": [r[0] for r in rows], "completions": [r[1] for r in rows], "rubric": [r[2] for r in rows]}


def test_the_oracle_agrees_with_the_hand_worked_table() -> None:
    assert oracle(ROWS) == MEANS


@pytest.mark.parametrize(
    ("rows", "kw"),
    [
        (ROWS, {}),
        (ROWS, {"dropout": 0.5, "dropout_seed": 1}),  # some criteria left out, per prompt
        (ROWS * 3, {"dropout": 0.4, "dropout_seed": 6}),  # several groups of the same prompts
        (ROWS, {"verdict": "score"}),  # 0..10 scores, read as 0..1
    ],
    ids=["per-row", "dropout", "dropout-groups", "score-verdicts"],
)
def test_compose_logs_each_criterion_mean_over_the_rows_that_judged_it(rows: list[Any], kw: dict[str, Any]
                                                                         ) -> None:  # fmt: skip
    metrics = Metrics()
    with serve(universal) as judge:
        reward = compose({"rewards": [{"name": "rubric_judge", "params": params(judge.url, **kw)}]})
        totals = reward(**columns(rows), log_metric=metrics)
        bare = compose({"rewards": [{"name": "rubric_judge", "params": params(judge.url, **kw)}]})
        scored = bare.score(**columns(rows))
    logged = {k.split("/")[2]: v for k, v in metrics.logged.items() if k.count("/") == 3}
    expected = oracle(rows, **kw)
    assert logged == {name: [pytest.approx(mean)] for name, mean in expected.items()}
    if kw.get("dropout"):
        assert sum(len(r.scores["rubric_judge"].details.get("dropped", [])) for r in scored) > 0  # dropout happened
    assert totals == [r.total for r in scored]  # logging parts changes no value
    assert scored[-1].scores["rubric_judge"].status is Status.NOT_APPLICABLE


def test_the_trl_adapter_logs_parts_even_though_trl_logs_the_terms_mean() -> None:
    metrics = Metrics()
    with serve(universal) as judge:
        funcs = reward_funcs({"rewards": [{"name": "rubric_judge", "params": params(judge.url)},
                                          {"name": "think_format", "weight": 0.1}]})  # fmt: skip
        values = [f(**columns(ROWS), log_metric=metrics) for f in funcs]
    assert values[0] == pytest.approx([1.0, 1 / 6, 1.0, 2 / 3, None])  # rubric_judge per row (nansum skips None)
    assert "rewardkit/rubric_judge/mean" not in metrics.logged  # TRL logs rewards/rubric_judge/mean itself
    for name, mean in MEANS.items():
        assert metrics.logged[f"rewardkit/rubric_judge/{name}/mean"] == [pytest.approx(mean)]  # once per batch


def _down_on_sydney(n: int, request: dict[str, Any], headers: dict[str, str]) -> Reply:
    if sections(request).get("CRITERION") == "mentions Sydney":
        return Reply(503, "overloaded")
    return universal(n, request, headers)


def test_a_masked_row_keeps_the_criteria_that_were_judged_and_still_masks_the_total() -> None:
    with serve(_down_on_sydney) as judge:
        reward = compose({"max_error_rate": 1.0, "rewards": [
            {"name": "rubric_judge", "params": params(judge.url, max_retries=0)}]})  # fmt: skip
        [au, fr] = reward.score(**columns([ROWS[0], ROWS[2]]))
    score = au.scores["rubric_judge"]
    assert score.status is Status.ERROR and au.total is None and "pitfall" in score.reason
    assert score.details[PARTS] == {"capital": 1.0, "country": 1.0}  # judged; the pitfall was not
    stats = Stats.of([au, fr])
    assert stats.terms["rubric_judge"].errors == 1 and stats.error_rate("rubric_judge") == 0.5
    assert {k: ts.count for k, ts in stats.parts.items()} == {"rubric_judge/capital": 2, "rubric_judge/country": 1,
                                                             "rubric_judge/tone": 1}  # fmt: skip


# -- end to end through `rewardkit score` ---------------------------------------------------------------------


def _score(tmp_path: Path, url: str, *extra: str) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"prompt": p, "completion": c, **({"rubric": r} if r else {})}) + "\n"
                            for p, c, r in ROWS), encoding="utf-8")  # fmt: skip
    config = tmp_path / "rubric.yaml"
    config.write_text(yaml.safe_dump({"rewards": [{"name": "rubric_judge", "params": params(url)}]}), "utf-8")
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "rewardkit", "score", str(rows), "-c", str(config), "-o", str(out), *extra]
    env = {**os.environ, "COLUMNS": "200"}  # the summary table's rows unwrapped
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return done, [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_cli_summary_report_and_details_show_the_parts(tmp_path: Path) -> None:
    with serve(universal) as judge:
        done, rows = _score(tmp_path, judge.url, "--details", "--report", str(tmp_path / "r.md"), "-j", "1")
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in done.stderr.splitlines() if "│" in line]
    summary = {c[0]: c[1:3] for c in cells if "/" in c[0]}  # term, mean, count
    assert summary == {f"rubric_judge/{n}": [f"{m:.4f}", str(c)] for n, m, c in
                       [("capital", 0.75, 4), ("country", 1.0, 2), ("pitfall", 0.5, 2), ("tone", 0.5, 2)]}  # fmt: skip
    assert all(set(r["rewards"]) == {"rubric_judge"} for r in rows)  # a fixed key set: one per term
    parts = [r["reward_details"]["rubric_judge"].get("details", {}).get(PARTS) for r in rows]
    assert parts == [{"capital": 1.0, "country": 1.0, "pitfall": 0.0}, {"capital": 0.0, "country": 1.0,
                     "pitfall": 1.0}, {"capital": 1.0, "tone": 1.0}, {"capital": 1.0, "tone": 0.0}, None]  # fmt: skip
    headings = [line for line in (tmp_path / "r.md").read_text(encoding="utf-8").splitlines() if line[:3] == "## "]
    assert headings[:6] == ["## rubric_judge", "## rubric_judge/capital", "## rubric_judge/country",
                            "## rubric_judge/pitfall", "## rubric_judge/tone", "## (total)"]  # fmt: skip


def test_cli_without_details_writes_no_parts(tmp_path: Path) -> None:
    with serve(universal) as judge:
        _, rows = _score(tmp_path, judge.url, "-j", "0")
    assert [sorted(r) for r in rows] == [["completion", "prompt", "reward", "rewards", "rubric"]] * 4 + [
        ["completion", "prompt", "reward", "rewards"]]
    assert [r["reward"] for r in rows] == pytest.approx([1.0, 1 / 6, 1.0, 2 / 3, None])
