"""The audit corpus rows of the instruction, structured-output, tool-call, QA and truncation families, against
the rewards at their defaults: every exploit is held (earns no more than its ceiling) and every equivalence case
(a correct answer written the way models write it) is accepted (earns the maximum)."""

from __future__ import annotations

import pytest

from rewardkit.audit.corpus import FAMILIES, builtin_paths, load_corpus
from rewardkit.audit.runner import AuditReport, run_audit
from rewardkit.config import parse_config

NEW = {"ifeval": "ifeval", "json_schema": "json_schema", "tool_call": "tool_call", "qa": "qa_match",
       "truncation": "truncation"}  # fmt: skip
CORPUS = [e for e in load_corpus(builtin_paths()) if e.family in NEW]


@pytest.fixture(scope="module")
def report() -> AuditReport:
    return run_audit(parse_config({"rewards": [{"name": n} for n in NEW.values()]}), CORPUS)


def test_each_family_has_its_file_five_exploits_and_three_equivalence_cases() -> None:
    assert set(NEW) <= set(FAMILIES)
    for family in NEW:
        rows = [e for e in CORPUS if e.family == family]
        assert sum(e.expect != "accept" for e in rows) >= 5, family
        assert sum(e.expect == "accept" for e in rows) >= 3, family


@pytest.mark.parametrize("exploit", [e.id for e in CORPUS])
def test_exploits_are_held_and_correct_answers_accepted(report: AuditReport, exploit: str) -> None:
    [finding] = [f for f in report.findings if f.exploit == exploit]
    expected = "accepted" if exploit.startswith("equiv/") else "held"
    assert finding.outcome == expected, finding


def test_every_row_was_aimed_at_its_family_reward(report: AuditReport) -> None:
    assert report.skipped == {}
    assert {(f.exploit, f.reward_name) for f in report.findings} == {(e.id, NEW[e.family]) for e in CORPUS}
