"""`rewardkit score --report`: a report a person reads instead of the JSONL (HTML or Markdown)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rewardkit.config import parse_config
from rewardkit.evaluate import evaluate_chunk
from rewardkit.report import Report
from rewardkit.types import Sample

ROWS = [
    {"completion": "<think>17 + 25 = 42</think><answer>42</answer>", "answer": "42"},
    {"completion": "<think>17 + 25 = 41</think><answer>41</answer>", "answer": "42"},
    {"completion": "The answer is 42 | pipes and <b>tags</b>.", "answer": "42"},
    {"completion": "<think>x</think><answer>3</answer>"},  # no gold: math does not apply
]


@pytest.mark.parametrize("suffix", [".md", ".html"])
def test_score_writes_a_report_with_histograms_rates_slowest_rows_and_examples(tmp_path: Path, suffix: str) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    report = tmp_path / f"report{suffix}"
    result = subprocess.run([sys.executable, "-m", "rewardkit", "score", str(source), "-r", "think_format", "-r",
                             "math", "-o", str(tmp_path / "out.jsonl"), "--report", str(report), "-j", "1"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"report -> {report}" in result.stderr
    text = report.read_text()
    for heading in ("think_format", "math", "(total)", "Slowest rows", "top of range", "bottom of range",
                    "not_applicable"):
        assert heading in text
    assert "4 rows scored" in text
    if suffix == ".html":
        assert "&lt;b&gt;tags&lt;/b&gt;" in text and "<b>tags" not in text  # completions are escaped
    else:
        assert "pipes" in text


def test_reports_merge_like_one_report() -> None:
    config = parse_config([{"name": "think_format"}, {"name": "math"}])
    samples = [Sample(r["completion"], None, r.get("answer")) for r in ROWS]
    results = evaluate_chunk(config, samples)
    whole, first, second = Report.for_config(config), Report.for_config(config), Report.for_config(config)
    for i, (s, r) in enumerate(zip(samples, results, strict=True)):
        whole.add(i + 1, s.completion, r, 0.01 * i)
        (first if i < 2 else second).add(i + 1, s.completion, r, 0.01 * i)
    first.merge(second)
    assert first.rows == whole.rows == 4
    assert {p: t.bins for p, t in first.terms.items()} == {p: t.bins for p, t in whole.terms.items()}
    assert {p: t.statuses for p, t in first.terms.items()} == {p: t.statuses for p, t in whole.terms.items()}
    assert sorted(first.slowest) == sorted(whole.slowest)
    assert whole.terms["math"].statuses == {"ok": 3, "not_applicable": 1}
