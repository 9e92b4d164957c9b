"""Exploits audited beside companion rewards (``"with"``), as a reward's authors intend it to be used."""

from __future__ import annotations

import json
from pathlib import Path

from rewardkit.audit.corpus import load_file
from rewardkit.audit.runner import run_audit
from rewardkit.config import parse_config

PADDED = {"$concat": ["<think>", {"$repeat": "hmm let me think. ", "times": 250}, "</think><answer>7</answer>"]}
ROW = {"exploit": "t/padded", "family": "length", "reward": "cosine_length", "answer": "42",
       "completion": PADDED, "control": "<think>hmm</think><answer>7</answer>"}


def _audit(tmp_path: Path, row: dict[str, object]) -> tuple[float | None, str]:
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps(row) + "\n")
    config = parse_config({"rewards": [{"name": "math"},
                                       {"name": "cosine_length", "params": {"unit": "chars", "max_len": 4600}}]})
    (finding,) = run_audit(config, load_file(path)).findings
    return finding.score, finding.outcome


def test_alone_the_cosine_schedule_pays_a_padded_wrong_answer_more(tmp_path: Path) -> None:
    score, outcome = _audit(tmp_path, ROW)
    assert outcome == "rewarded" and score is not None and score > -0.6


def test_beside_the_repetition_penalty_padding_does_not_pay(tmp_path: Path) -> None:
    score, outcome = _audit(tmp_path, {**ROW, "with": ["repetition"]})
    assert outcome == "held" and score is not None and score < -1.4
