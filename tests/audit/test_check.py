"""`rewardkit check`: the preflight catches unparseable golds, missing columns, vacuous tests, bad lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from rewardkit.audit.check import check_dataset, read_rows
from rewardkit.config import parse_config

from .test_audit import _cli

MATH_ROWS = [
    {"prompt": "6*7?", "answer": "42"},
    {"prompt": "half?", "answer": "\\frac{1}{2}"},
    {"prompt": "choice", "answer": "C"},  # the wrong answer is another letter
    {"prompt": "solution", "answer": "So the answer is $\\boxed{42}$."},  # a worked solution as gold
    {"prompt": "broken gold", "answer": "\\frac{1}{"},  # line 5: cannot match itself
    {"prompt": "no gold"},  # line 6: the reference column is missing
]
CODE_ROWS = [
    {"code": "def add(a, b):\n    return a + b", "test_list": ["assert add(1, 2) == 3"]},
    {"code": "def add(a, b):\n    return a + b", "test_list": ["assert True"]},  # line 2: vacuous tests
    {"code": "def add(a, b):\n    return a + b", "test_list": ["assert add(1, 2) == 4"]},  # line 3: wrong tests
    {"code": "def add(a, b):\n    return a + b"},  # line 4: no test columns
]


def _write(path: Path, rows: list[dict[str, Any]], extra: str = "") -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + extra, encoding="utf-8")
    return path


def _problems(rows: list[dict[str, Any]], config: dict[str, Any], tmp_path: Path) -> dict[str, list[int]]:
    parsed, bad = read_rows(_write(tmp_path / "d.jsonl", rows))
    assert not bad
    [result] = check_dataset(parse_config(config), parsed)
    return {kind: [line for line, _ in found] for kind, found in result.problems.items()}


def test_math_catches_an_unparseable_gold_and_a_missing_column(tmp_path: Path) -> None:
    problems = _problems(MATH_ROWS, {"rewards": ["math"]}, tmp_path)
    assert problems == {
        "missing column 'answer'": [6],
        "gold does not parse (it does not match itself)": [5],
    }


def test_code_catches_vacuous_tests_wrong_tests_and_missing_tests(tmp_path: Path) -> None:
    problems = _problems(CODE_ROWS, {"rewards": [{"name": "code", "params": {"cpu_s": 1.0}}]}, tmp_path)
    assert problems == {
        "wrong answer scores above the minimum": [2],
        "gold does not score the maximum": [3],
        "reward does not apply": [4],
    }


def test_a_clean_dataset_passes_with_exit_status_0(tmp_path: Path) -> None:
    data = _write(tmp_path / "d.jsonl", MATH_ROWS[:4])
    config = tmp_path / "c.yaml"
    config.write_text("rewards:\n  - think_format\n  - math\n", encoding="utf-8")
    result = CliRunner().invoke(_cli(), ["check", str(data), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "gold parses 4/4 (100.0%)" in result.output


def test_the_command_reports_problems_and_invalid_lines_with_exit_status_1(tmp_path: Path) -> None:
    data = _write(tmp_path / "d.jsonl", MATH_ROWS, extra="not json\n")
    config = tmp_path / "c.yaml"
    config.write_text("rewards:\n  - math\n", encoding="utf-8")
    result = CliRunner().invoke(_cli(), ["check", str(data), "-c", str(config), "--format", "json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["invalid_lines"][0]["line"] == 7
    [math] = report["rewards"]
    assert math["gold_parse_rate"] == 4 / 5 and math["wrong_min"] == 5


def test_limit_checks_only_the_first_rows(tmp_path: Path) -> None:
    rows, bad = read_rows(_write(tmp_path / "d.jsonl", MATH_ROWS), limit=2)
    assert [r.line for r in rows] == [1, 2] and not bad
