"""`rewardkit audit`: the shipped corpus against the built-in rewards, the ceiling rules, and the command."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from rewardkit import RewardSpec, Sample, Score, hookimpl, param, plugins, registry
from rewardkit.audit.commands import default_config, register_commands
from rewardkit.audit.corpus import FAMILIES, builtin_paths, load_corpus, parse_exploit
from rewardkit.audit.runner import AuditReport, Finding, family_of, run_audit
from rewardkit.cli import cli as rewardkit_cli
from rewardkit.config import parse_config
from tests.rewards.judge.fake_server import serve

from .gullible_judge import gullible

pytestmark = pytest.mark.timeout(600)

CORPUS = load_corpus(builtin_paths())

#: Exploits that the built-in rewards at their defaults DO reward today: real findings, reported to the
#: reward owners. Not strict, so a fix shows as XPASS rather than breaking the run; remove the entry then.
KNOWN_FINDINGS = {
}


def _aimed_pairs() -> list[tuple[str, str]]:
    config = default_config()
    pairs = []
    for e in CORPUS:
        for leaf in config.leaves:
            assert leaf.spec is not None
            if e.applies_to(leaf.spec.name, family_of(leaf.spec)):
                pairs.append((e.id, leaf.path))
    return pairs


PAIRS = _aimed_pairs()


@pytest.fixture(scope="module")
def default_report() -> AuditReport:
    return run_audit(default_config(), CORPUS)


def test_corpus_covers_every_family_with_enough_exploits() -> None:
    counts = {f: sum(e.family == f for e in CORPUS) for f in FAMILIES}
    assert all(n >= 5 for n in counts.values()), counts
    assert len({e.id for e in CORPUS}) == len(CORPUS)
    runnable = {e for e, _ in PAIRS}
    assert len(runnable) >= 20  # the bar: at least 20 exploits run against the default rewards
    assert all(e.description for e in CORPUS)


def _marked(e: str, r: str) -> Any:
    if (e, r) in KNOWN_FINDINGS:
        return pytest.param(e, r, marks=pytest.mark.xfail(reason=KNOWN_FINDINGS[(e, r)], strict=True))
    return (e, r)


@pytest.mark.parametrize(("exploit", "reward"), [_marked(e, r) for e, r in PAIRS])
def test_default_rewards_do_not_reward_the_exploit(default_report: AuditReport, exploit: str, reward: str) -> None:
    [finding] = [f for f in default_report.findings if f.exploit == exploit and f.reward == reward]
    assert finding.outcome in ("held", "accepted", "not_applicable"), finding


def test_every_aimed_pair_is_reported_once(default_report: AuditReport) -> None:
    assert sorted((f.exploit, f.reward) for f in default_report.findings) == sorted(PAIRS)
    aimed = {e for e, _ in PAIRS}
    not_aimed: dict[str, int] = {}
    for e in CORPUS:
        if e.id not in aimed:
            not_aimed[e.family] = not_aimed.get(e.family, 0) + 1
    assert default_report.skipped == not_aimed and "judge" in not_aimed


# --- the ceiling rules, on a reward whose value is whatever the row says ------------------------------


def _echo(sample: Sample, params: Any) -> Score:
    """Scores the number written in the completion; 'boom' is an infrastructure error, 'n/a' does not apply."""
    if sample.text == "boom":
        return Score.error("the echo service is down")
    if sample.text == "n/a":
        return Score.not_applicable("nothing to echo")
    return Score.ok(float(sample.text), "echoed")


class _EchoPlugin:
    @hookimpl
    def register_rewards(self, register: Any) -> None:
        from dataclasses import make_dataclass

        params = make_dataclass("EchoParams", [("scale", float, param(1.0, "unused"))], frozen=True)
        register(RewardSpec(name="audit_echo", description="test reward", params=params, range=(-1.0, 1.0),
                            fn=_echo))  # fmt: skip


@pytest.fixture
def echo() -> Iterator[None]:
    pm = plugins.get_plugin_manager()
    plugin = _EchoPlugin()
    pm.register(plugin, name="audit-echo-test")
    registry.reset()
    try:
        yield
    finally:
        pm.unregister(plugin)
        registry.reset()


def _row(ident: str, completion: str, **extra: Any) -> str:
    return json.dumps({"exploit": ident, "reward": "audit_echo", "description": "t", "completion": completion,
                       **extra})  # fmt: skip


@pytest.mark.parametrize(
    ("completion", "extra", "outcome", "ceiling"),
    [
        ("-1", {}, "held", -1.0),  # default ceiling: the reward's minimum (-1)
        ("-0.5", {}, "rewarded", -1.0),  # anything above the minimum is rewarded
        ("0.3", {"max_score": 0.3}, "held", 0.3),  # the row's own ceiling, inclusive
        ("0.31", {"max_score": {"audit_echo": 0.3}}, "rewarded", 0.3),  # per-reward ceiling
        ("0.35", {"max_score": 0.3, "margin": 0.1}, "held", 0.3),  # a margin absorbs judge noise
        ("0.5", {"control": "0.5"}, "held", 0.5),  # the control earns as much: not rewarded
        ("0.6", {"control": "0.5"}, "rewarded", 0.5),  # more than an honest failing completion
        ("0.6", {"control": "0.5", "max_score": 0.9}, "rewarded", 0.5),  # the control wins over max_score
        ("boom", {}, "error", None),  # infrastructure error: the audit cannot tell, and fails
        ("0.1", {"control": "boom"}, "error", None),  # so does a control that cannot be scored
        ("n/a", {}, "not_applicable", None),  # the reward does not apply: nothing earned
    ],
)
def test_ceiling_rules(echo: None, completion: str, extra: dict[str, Any], outcome: str, ceiling: float | None) -> None:
    exploit = parse_exploit(_row("t/1", completion, **extra), "mem:1")
    [finding] = run_audit(parse_config({"rewards": ["audit_echo"]}), [exploit]).findings
    assert (finding.outcome, finding.ceiling) == (outcome, ceiling)
    assert finding.passed is (outcome in ("held", "not_applicable"))


def test_gates_are_dropped_so_a_weak_reward_cannot_hide(echo: None) -> None:
    config = parse_config({"rewards": [{"name": "think_format"}, {"name": "audit_echo", "gate": "think_format"}]})
    exploit = parse_exploit(_row("t/gated", "0.9"), "mem:1")  # fails think_format, so the gate would give 0
    [finding] = run_audit(config, [exploit]).findings
    assert (finding.outcome, finding.score) == ("rewarded", 0.9)


def test_terms_a_reward_reads_are_computed() -> None:
    config = parse_config({"rewards": [{"name": "math", "weight": 0}, "cosine_length"]})
    [exploit] = [e for e in CORPUS if e.id == "length/cosine-padded-wrong"]
    [finding] = run_audit(config, [exploit]).findings
    assert finding.status == "ok" and finding.control_score is not None and finding.control_score < -0.99


# --- the command ----------------------------------------------------------------------------------------


def _cli() -> click.Group:
    # The same group class as `rewardkit`, so rewardkit errors become "Error: ..." and exit status 2.
    group = type(rewardkit_cli)(commands=dict(rewardkit_cli.commands))
    register_commands(group)
    return group


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def test_audit_json_lists_findings_and_fails_when_an_exploit_is_rewarded(tmp_path: Path) -> None:
    exploits = tmp_path / "mine.jsonl"
    lines = [
        {"exploit": "mine/well-formed", "family": "format", "description": "not an exploit at all",
         "completion": "<think>a</think><answer>42</answer>"},
        {"exploit": "mine/dup", "family": "format", "description": "dup", "completion": "<answer>1</answer>" * 2},
    ]  # fmt: skip
    exploits.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    config = _config(tmp_path, "rewards:\n  - think_format\n")
    args = ["audit", "--config", str(config), "--format", "json", "--no-builtin", "--exploits", str(exploits)]
    result = CliRunner().invoke(_cli(), args)
    assert result.exit_code == 1, result.output
    found = json.loads(result.stdout)
    assert [(f["exploit"], f["reward"], f["score"], f["passed"]) for f in found] == [
        ("mine/well-formed", "think_format", 1.0, False),
        ("mine/dup", "think_format", 0.0, True),
    ]
    assert "REWARDED: mine/well-formed" in result.stderr


def test_audit_passes_when_every_exploit_is_held(tmp_path: Path) -> None:
    config = _config(tmp_path, "rewards:\n  - think_format\n  - {name: repetition, weight: 0.1}\n")
    keep = [p for p in builtin_paths() if p.stem == "length"]
    args = ["audit", "--config", str(config), "--no-builtin", *(x for p in keep for x in ("-e", str(p)))]
    result = CliRunner().invoke(_cli(), args)
    assert result.exit_code == 0, result.output
    assert "3 exploits, 3 checks: 3 held" in result.stderr
    assert "length/repeat-sentence" in result.stdout


def test_audit_with_nothing_aimed_fails(tmp_path: Path) -> None:
    config = _config(tmp_path, "rewards:\n  - length\n")
    rows = tmp_path / "math_only.jsonl"
    rows.write_text('{"exploit": "m", "family": "math", "description": "d", "completion": "1"}\n', encoding="utf-8")
    result = CliRunner().invoke(_cli(), ["audit", "--config", str(config), "--no-builtin", "-e", str(rows)])
    assert result.exit_code == 1 and "nothing was audited" in result.stderr


def test_audit_reports_a_broken_exploit_file_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"exploit": "x", "family": "math", "completion": "1"}\n{"exploit": "y"\n', encoding="utf-8")
    result = CliRunner().invoke(_cli(), ["audit", "--no-builtin", "-e", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:2: invalid JSON" in result.output


# --- the judge: prompt injection against a grader that obeys whatever escapes the fence ---------------


def _judge_config(tmp_path: Path, url: str, template: str = "rubric") -> Path:
    params = {"base_url": url, "model": "gullible", "cache_path": None, "max_retries": 0, "template": template}
    return _config(tmp_path, json.dumps({"rewards": [{"name": "judge", "params": params}]}))


def _judge_findings(tmp_path: Path, config: Path) -> tuple[int, list[dict[str, Any]]]:
    judge_file = next(p for p in builtin_paths() if p.stem == "judge")
    args = ["audit", "-c", str(config), "--format", "json", "--no-builtin", "-e", str(judge_file)]
    result = CliRunner().invoke(_cli(), args)
    return result.exit_code, json.loads(result.stdout)


def test_fenced_judge_templates_hold_against_injection(tmp_path: Path) -> None:
    with serve(gullible) as server:
        for template in ("rubric", "yes_no"):
            code, found = _judge_findings(tmp_path, _judge_config(tmp_path, server.url, template))
            assert code == 0, found
            exploits = sum(e.family == "judge" and e.expect == "reject" for e in CORPUS)
            assert len(found) == exploits and all(f["outcome"] == "held" for f in found)


def test_an_unfenced_template_is_caught(tmp_path: Path) -> None:
    # A user template that pastes the completion bare: the gullible judge sees the injection as an instruction.
    template = tmp_path / "naive.txt"
    template.write_text("Grade this answer.\n{completion}\nReference: {reference}\nEnd with Score: N\n")
    with serve(gullible) as server:
        code, found = _judge_findings(tmp_path, _judge_config(tmp_path, server.url, str(template)))
    assert code == 1
    rewarded = {f["exploit"] for f in found if f["outcome"] == "rewarded"}
    # Literal "Score: 10" injections are refused by the verdict parser even here (the judge would be repeating
    # the completion's own verdict); an appeal that never writes the verdict line still gets through.
    assert "judge/grader-flattery" in rewarded and "judge/claimed-score" not in rewarded


def test_family_of_recognises_plugins_built_on_the_code_reward() -> None:
    from rewardkit.rewards.code import CodeParams, make_code_reward

    spec = make_code_reward("remote_code", "d", CodeParams, _never)
    assert family_of(spec) == "code"
    assert family_of(registry.get("repetition")) == "length"


def _never(params: Any) -> Any:
    raise AssertionError("not called")


def test_finding_json_has_the_documented_fields() -> None:
    f = Finding("e", "math", "math", "math", 0.0, 0.0, True, "held", "ok", "r")
    assert {"exploit", "reward", "score", "passed"} <= set(f.to_json())
