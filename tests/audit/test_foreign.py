"""`rewardkit audit --function`: foreign reward functions of every shape, false positives and negatives, CI exits;
and the audit's use of the spec fields (family, gold/wrong builders, tolerance)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import make_dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rewardkit import RewardSpec, Sample, Score, hookimpl, param, plugins, registry
from rewardkit.audit.check import Row, check_dataset
from rewardkit.audit.corpus import builtin_paths, load_corpus, parse_exploit
from rewardkit.audit.foreign import aimed_rows, audit_function, detect_shape, prepare, probe
from rewardkit.audit.runner import AuditReport, family_of, run_audit
from rewardkit.config import parse_config
from rewardkit.errors import ConfigError, InputError

from . import foreign_rewards as fr
from .test_audit import _cli

pytestmark = pytest.mark.timeout(600)

CORPUS = load_corpus(builtin_paths())
MATH_ROWS = aimed_rows(CORPUS, ["math"], None)
HERE = "tests.audit.foreign_rewards"


def _run(*args: str) -> tuple[int, str, list[dict[str, Any]]]:
    result = CliRunner().invoke(_cli(), ["audit", "--format", "json", *args])
    found = json.loads(result.stdout) if result.stdout.strip().startswith("[") else []
    return result.exit_code, result.stderr, found


def _rows_file(tmp_path: Path, *rows: dict[str, Any]) -> Path:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"description": "t", **r}) + "\n" for r in rows), encoding="utf-8")
    return path


EXPLOIT = {"exploit": "x/hedge", "family": "math", "answer": "42", "completion": "41 or 42"}
CORRECT = {"exploit": "x/correct", "family": "math", "expect": "accept", "answer": "42", "completion": "42"}


# --- shapes ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "shape"),
    [
        (fr.substring_reward, "trl"),  # f(completions, answer, **kwargs)
        (fr.always_one, "trl"),
        (fr.rewardkit_math, "trl"),  # a Composition: its __call__(prompts, completions, **kwargs)
        (fr.compute_score, "verl"),  # f(data_source, solution_str, ground_truth, extra_info)
        (fr.exact, "pair"),  # f(completion, reference)
    ],
)
def test_the_shape_is_read_from_the_signature(fn: Any, shape: str) -> None:
    assert detect_shape(fn) == shape


def test_an_unknown_shape_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"f\(completions, \*\*columns\).*--shape"):
        detect_shape(fr.odd_shape)


def test_trl_gold_goes_to_every_required_parameter_and_chat_is_read_from_annotations() -> None:
    ff = prepare("trl.rewards:accuracy_reward")
    assert ff.shape == "trl" and ff.chat and ff.gold_names == ("answer", "solution")
    assert prepare(f"{HERE}:substring_reward").gold_names == ("answer",)


def test_auto_probes_chat_only_when_text_breaks_the_function() -> None:
    text = prepare(f"{HERE}:substring_reward")
    assert not text.chat and not probe(text, MATH_ROWS[:1], "auto", 30.0).chat  # silent annotation: text
    chat = prepare(f"{HERE}:first_message_only")
    assert probe(chat, MATH_ROWS[:1], "auto", 30.0).chat  # completion[0]["content"] on a string raised
    assert prepare(f"{HERE}:first_message_only", completions="chat").chat  # an explicit choice is kept


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("nocolon", "module:attr"),
        ("no_such_module_xyz:f", "ModuleNotFoundError"),
        (f"{HERE}:missing", "AttributeError"),
        (f"{HERE}:not_a_function", "not a function"),
        (f"{HERE}:odd_shape", "cannot tell the shape"),
    ],
)
def test_bad_targets_are_usage_errors(target: str, message: str) -> None:
    code, stderr, _ = _run("--function", target)
    assert code == 2 and message in stderr


def test_a_file_path_target_loads(tmp_path: Path) -> None:
    path = tmp_path / "my_reward.py"
    path.write_text("def reward(completion, reference):\n    return completion.strip() == reference\n")
    code, _, found = _run("--function", f"{path}:reward", "--no-builtin", "-e", str(_rows_file(tmp_path, CORRECT)))
    assert code == 0 and [f["outcome"] for f in found] == ["accepted"]


# --- outcomes and exit codes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "fail_on", "code"),
    [
        ("always_one", "fp", 1),  # every exploit rewarded
        ("always_one", "fn", 0),  # but no correct answer rejected
        ("always_one", "any", 1),
        ("always_zero", "fp", 0),
        ("always_zero", "fn", 1),  # every correct answer rejected
        ("always_zero", "any", 1),
        ("skip_all", "fp", 0),  # None on an exploit: skipped, held
        ("skip_all", "fn", 1),  # None on a correct answer: it earns nothing
    ],
)
def test_fail_on_selects_what_fails_ci(tmp_path: Path, function: str, fail_on: str, code: int) -> None:
    rows = _rows_file(tmp_path, EXPLOIT, CORRECT)
    got, _, _ = _run("--function", f"{HERE}:{function}", "--no-builtin", "-e", str(rows), "--fail-on", fail_on)
    assert got == code


def test_rates_are_printed_per_kind(tmp_path: Path) -> None:
    rows = _rows_file(tmp_path, EXPLOIT, {**EXPLOIT, "exploit": "x/2", "completion": "43"}, CORRECT)
    result = CliRunner().invoke(_cli(), ["audit", "--function", f"{HERE}:substring_reward", "--no-builtin",
                                         "-e", str(rows)])  # fmt: skip
    assert "false positives: 50.0% (1 of 2 exploit checks rewarded)" in result.stderr
    assert "false negatives: 0.0% (0 of 1 equivalence checks rejected)" in result.stderr
    assert result.exit_code == 1


@pytest.mark.parametrize(
    ("function", "reason"),
    [
        ("hangs", "did not return within"),  # killed, and the next call still runs
        ("dies", "did not return within"),  # the pool replaces its dead worker; the call never returns
        ("raises", "raised ValueError: cannot parse"),
        ("wrong_length", "not a list with one value per completion"),
    ],
)
def test_broken_functions_are_errors_that_fail_every_mode(tmp_path: Path, function: str, reason: str) -> None:
    rows = _rows_file(tmp_path, EXPLOIT, CORRECT)
    code, _, found = _run("--function", f"{HERE}:{function}", "--no-builtin", "-e", str(rows), "--fail-on", "fp",
                          "--timeout", "1")  # fmt: skip
    assert code == 1
    assert [f["outcome"] for f in found] == ["error", "error"] and reason in found[0]["reason"]


def test_verl_functions_get_the_data_source_and_their_dict_score_is_read(tmp_path: Path) -> None:
    rows = _rows_file(tmp_path, {**CORRECT, "completion": "so it is 42"}, {**EXPLOIT, "completion": "42 or 41"})
    code, _, found = _run("--function", f"{HERE}:compute_score", "--no-builtin", "-e", str(rows))
    assert [(f["outcome"], f["reward_name"]) for f in found] == [("accepted", "verl"), ("held", "verl")]
    assert code == 0


def test_pair_functions_and_thresholds_follow_the_range(tmp_path: Path) -> None:
    rows = _rows_file(tmp_path, CORRECT, {**EXPLOIT, "completion": "42"})  # an "exploit" that is the gold
    _, _, found = _run("--function", f"{HERE}:exact", "--no-builtin", "-e", str(rows), "--range", "0", "2")
    assert [(f["outcome"], f["ceiling"]) for f in found] == [("rejected", 2.0), ("rewarded", 0.0)]


def test_like_selects_rows_aimed_at_a_builtin_reward() -> None:
    rows = aimed_rows(CORPUS, ["length"], "repetition")
    assert rows and all("repetition" in e.rewards for e in rows)
    assert aimed_rows(CORPUS, ["length"], None) == []  # every length row names its reward


# --- the peers, measured ------------------------------------------------------------------------------


NAMED = ("math/hedged-or-boxed", "math/answer-only-in-reasoning", "math/false-equation")
#: The equivalence cases and a few exploits: what the peers' verdicts below are measured on (the full math
#: corpus costs TRL's reward ~40 s of math-verify timeouts on the hostile rows).
PEER_ROWS = [e for e in MATH_ROWS if e.expect == "accept" or e.id in NAMED]
BOXED = "$\\boxed{{gold}}$"


@pytest.fixture(scope="module")
def peer_reports() -> dict[str, AuditReport]:
    targets = {"trl": ("trl.rewards:accuracy_reward", "{gold}"),
               "open-r1": ("tests.audit.open_r1_accuracy:accuracy_reward", "{gold}"),
               "open-r1 boxed": ("tests.audit.open_r1_accuracy:accuracy_reward", BOXED),
               "rewardkit": (f"{HERE}:rewardkit_math", "{gold}")}  # fmt: skip
    return {name: audit_function(probe(prepare(t, gold_template=g), PEER_ROWS, "auto", 30.0), PEER_ROWS)
            for name, (t, g) in targets.items()}  # fmt: skip


def _outcome(report: AuditReport, exploit: str) -> str:
    [finding] = [f for f in report.findings if f.exploit == exploit]
    return finding.outcome


@pytest.mark.parametrize(
    ("row", "trl", "open_r1", "open_r1_boxed", "rewardkit"),
    [
        ("equiv/math/boxed", "accepted", "accepted", "accepted", "accepted"),
        # unboxed prose: math-verify without anchors reads nothing (open-r1 pays every bare gold: unparseable)
        ("equiv/math/answer-is-sentence", "rejected", "accepted", "rejected", "accepted"),
        ("equiv/math/decimal-vs-frac", "rejected", "rejected", "rejected", "accepted"),
        ("equiv/math/tuple-spacing", "rejected", "accepted", "accepted", "accepted"),  # TRL: parse(gold) -> None
        ("math/hedged-or-boxed", "held", "rewarded", "held", "held"),  # open-r1: an unparseable gold pays 1.0
        ("math/answer-only-in-reasoning", "rewarded", "rewarded", "rewarded", "held"),  # first match wins
        ("math/false-equation", "rewarded", "rewarded", "held", "held"),
    ],
)
def test_peer_verdicts_on_named_rows(peer_reports: dict[str, AuditReport], row: str, trl: str, open_r1: str,
                                     open_r1_boxed: str, rewardkit: str) -> None:  # fmt: skip
    got = tuple(_outcome(peer_reports[name], row) for name in ("trl", "open-r1", "open-r1 boxed", "rewardkit"))
    assert got == (trl, open_r1, open_r1_boxed, rewardkit)


def test_the_peers_reject_correct_answers_rewardkit_accepts(peer_reports: dict[str, AuditReport]) -> None:
    assert peer_reports["rewardkit"].rate("equivalence") == 0.0
    assert (peer_reports["trl"].rate("equivalence") or 0.0) > 0.4  # 17 of 25 measured
    assert (peer_reports["open-r1 boxed"].rate("equivalence") or 0.0) > 0.3  # 11 of 25 measured


def test_rewardkit_math_has_no_false_positive_or_negative_on_the_math_corpus() -> None:
    report = audit_function(prepare(f"{HERE}:rewardkit_math"), MATH_ROWS)
    assert report.rate("exploit") == 0.0 and report.rate("equivalence") == 0.0, report.failed


# --- composition audits: equivalence rows and spec fields ----------------------------------------------


def test_every_original_family_has_equivalence_cases() -> None:
    families = {e.family for e in CORPUS if e.expect == "accept"}
    assert {"format", "math", "code", "length", "judge"} <= families
    assert sum(e.expect == "accept" and e.family == "math" for e in CORPUS) >= 20


def test_builtin_rewards_accept_the_correct_answers() -> None:
    report = run_audit(parse_config({"rewards": ["think_format", "tag_count", "math", "code", "repetition",
                                                 "soft_overlong", "cosine_length", "length"]}), CORPUS)  # fmt: skip
    equivalence = [f for f in report.findings if f.kind == "equivalence"]
    assert len(equivalence) >= 40 and all(f.outcome == "accepted" for f in equivalence), report.failed


@pytest.mark.parametrize("bad", ['"maybe"', "1"])
def test_expect_must_be_accept_or_reject(bad: str) -> None:
    with pytest.raises(InputError, match="'expect' must be"):
        parse_exploit(f'{{"exploit": "e", "family": "math", "completion": "1", "expect": {bad}}}', "f.jsonl:1")


def _graded(sample: Sample, params: Any) -> Score:
    """Full marks for the word 'gold', 0.05 for 'almost', 0 otherwise."""
    return Score.ok({"gold": 1.0, "almost": 0.95}.get(sample.text, 0.0), "graded")


class _SpecPlugin:
    @hookimpl
    def register_rewards(self, register: Any) -> None:
        params = make_dataclass("P", [("unused", float, param(1.0, "unused"))], frozen=True)
        common: dict[str, Any] = {"description": "t", "params": params, "range": (0.0, 1.0), "fn": _graded}
        register(RewardSpec(name="spec_declared", family="math", needs_reference=True,
                            gold_completion=lambda row, ref, p: "almost", wrong_completion=lambda row, ref, p: "x",
                            check_tolerance=0.1, **common))  # fmt: skip
        register(RewardSpec(name="spec_strict", gold_completion=lambda row, ref, p: "almost", **common))


@pytest.fixture
def declared() -> Iterator[None]:
    pm = plugins.get_plugin_manager()
    plugin = _SpecPlugin()
    pm.register(plugin, name="spec-fields-test")
    registry.reset()
    try:
        yield
    finally:
        pm.unregister(plugin)
        registry.reset()


def test_family_of_prefers_the_declared_family(declared: None) -> None:
    assert family_of(registry.get("spec_declared")) == "math"  # declared, not in the built-in map
    assert family_of(registry.get("spec_strict")) is None


def test_check_uses_the_declared_builders_and_tolerance(declared: None) -> None:
    rows = [Row(1, {"answer": "anything"})]
    [tolerant] = check_dataset(parse_config({"rewards": ["spec_declared"]}), rows)
    assert tolerant.ok and tolerant.gold_max == 1 and tolerant.wrong_min == 1  # 0.95 within 0.1 of the top
    [strict] = check_dataset(parse_config({"rewards": ["spec_strict"]}), rows)
    assert strict.grader and not strict.ok  # a gold builder makes it a grader; 0.95 is not the maximum
    assert "gold does not score the maximum" in strict.problems
