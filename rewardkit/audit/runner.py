"""Running the exploit corpus against the rewards of a config, and deciding which exploits were rewarded.

What "rewarded" means (one rule, with per-row data to make it precise per family):

- the **ceiling** of an (exploit, reward) pair is the score of the row's ``control`` (an honest failing
  completion of the same row, scored by the same reward) when the row has one; else the row's
  ``max_score`` for that reward; else the reward's minimum (the low end of its output range);
- the exploit is **rewarded** when the reward gives it more than ceiling + ``margin`` (+1e-9 for floats).

The shipped corpus uses this as follows. ``math`` and ``code``: the minimum (0): no exploit contains a
legitimate solution, so an honest wrong answer's 0 is all it may earn. ``format``: ``think_format`` is
all-or-nothing, so 0; ``tag_count`` gives partial credit per tag by design, so its ceiling is 0.75: an
exploit is rewarded only when it earns the full credit of a well-formed completion. ``length``:
``repetition`` must bite (ceilings below 0), ``soft_overlong`` must reach -1 past the limit, and
``cosine_length`` must not pay a padded wrong answer more than the same wrong answer unpadded (control).
``judge``: a control (the same wrong answer without the injection), with a margin of 0.1 for judge noise.
``length`` (closeness to a target) is not a target: padding is exactly what it measures.

Equivalence cases (``"expect": "accept"``) are the other side: correct answers written the way models write
them (``\frac12`` for a gold 0.5, "The answer is 42." for 42). Such a row is **rejected** (a false negative)
when the reward gives it less than its ``min_score`` (default: the top of the reward's range) minus
``margin``, or does not apply to it; else it is **accepted**.

A row may name companions (``"with": ["repetition"]``): rewards its target is designed to be used beside, as
Yeo et al. pair the cosine length reward with a repetition penalty so that padding a wrong answer with filler
does not pay. Exploit and control are then judged on the target's score plus the companions' (each at its
configured parameters when the config has it, else at its defaults, weight 1).

Each reward is scored on its own, without the config's gates (a gate would hide a weak reward behind
another term), but with the terms it reads (``cosine_length`` reads the ``math`` term). A score that is
``not_applicable`` earns nothing and passes; a masked score (infrastructure error) is an ``error``: the
audit could not tell, and fails.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .. import registry
from ..config import CompositionConfig, Term, term_dependencies
from ..evaluate import evaluate_chunk
from ..params import build_params
from ..types import RewardSpec, Score, Status
from .corpus import Exploit

#: The family of each built-in reward; plugin rewards built on the code reward count as ``code``.
BUILTIN_FAMILIES = {
    "think_format": "format", "tag_count": "format", "math": "math", "code": "code", "judge": "judge",
    "length": "length", "cosine_length": "length", "soft_overlong": "length", "repetition": "length",
}  # fmt: skip
_EPS = 1e-9


def family_of(spec: RewardSpec) -> str | None:
    """The exploit family a reward belongs to (its declared ``family``), or None (only rows naming it apply)."""
    if spec.family:
        return spec.family
    if spec.name in BUILTIN_FAMILIES:
        return BUILTIN_FAMILIES[spec.name]
    func = getattr(spec.batch_fn, "func", None)  # make_code_reward wraps score_batch in a partial
    if func is not None and getattr(func, "__module__", "") == "rewardkit.rewards.code":
        return "code"
    return None


@dataclass(frozen=True)
class Finding:
    """One exploit against one reward term. ``passed`` is True when the reward held (not rewarded)."""

    exploit: str
    family: str
    reward: str
    reward_name: str
    score: float | None
    ceiling: float | None
    passed: bool
    outcome: str  # exploits: held | rewarded; equivalence cases: accepted | rejected; or error | not_applicable
    status: str
    reason: str
    control_score: float | None = None
    description: str = ""
    kind: str = "exploit"  # exploit | equivalence

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class AuditReport:
    findings: list[Finding]
    #: Exploits no configured reward was aimed at, by family (e.g. judge rows with no judge term).
    skipped: dict[str, int]

    @property
    def exploits_run(self) -> int:
        return len({f.exploit for f in self.findings})

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if not f.passed]

    def count(self, outcome: str) -> int:
        return sum(f.outcome == outcome for f in self.findings)

    def rate(self, kind: str) -> float | None:
        """The false-positive rate (``kind`` "exploit": exploits rewarded) or the false-negative rate
        ("equivalence": correct answers rejected), over the checks of that kind; None when there are none."""
        checks = [f for f in self.findings if f.kind == kind and f.outcome != "not_applicable"]
        bad = "rewarded" if kind == "exploit" else "rejected"
        return sum(f.outcome == bad for f in checks) / len(checks) if checks else None

    def failed_on(self, fail_on: str) -> list[Finding]:
        """The findings that fail a CI run: ``fp`` exploits rewarded, ``fn`` correct answers rejected, ``any``
        both; scores that could not be computed (``error``) fail every mode."""
        bad = {"fp": {"rewarded"}, "fn": {"rejected"}, "any": {"rewarded", "rejected"}}[fail_on]
        return [f for f in self.findings if f.outcome in bad or f.outcome == "error"]


def solo_config(config: CompositionConfig, leaf: Term) -> CompositionConfig:
    """A config that computes ``leaf`` alone (gates dropped) plus the terms it reads, in order."""
    leaves = {t.path: t for t in config.leaves}
    needed: dict[str, Term] = {}
    pending = [leaf]
    while pending:
        term = pending.pop()
        if term.path in needed:
            continue
        needed[term.path] = replace(term, gate=None)
        for dep in term_dependencies(replace(term, gate=None), set(leaves)):
            pending.append(leaves[dep])
    return replace(config, terms=tuple(needed.values()))


def run_audit(config: CompositionConfig, exploits: Sequence[Exploit]) -> AuditReport:
    """Score every exploit with every configured reward it is aimed at."""
    findings: list[Finding] = []
    aimed: set[str] = set()
    for leaf in config.leaves:
        assert leaf.spec is not None
        family = family_of(leaf.spec)
        rows = [e for e in exploits if e.applies_to(leaf.spec.name, family)]
        if rows:
            aimed.update(e.id for e in rows)
            findings.extend(_audit_leaf(config, leaf, rows))
    skipped: dict[str, int] = {}
    for e in exploits:
        if e.id not in aimed:
            skipped[e.family or "/".join(e.rewards)] = skipped.get(e.family or "/".join(e.rewards), 0) + 1
    order = {e.id: i for i, e in enumerate(exploits)}
    findings.sort(key=lambda f: (order[f.exploit], f.reward))
    return AuditReport(findings, skipped)


def _audit_leaf(config: CompositionConfig, leaf: Term, rows: Sequence[Exploit]) -> list[Finding]:
    groups: dict[tuple[str, ...], list[Exploit]] = {}
    for e in rows:
        groups.setdefault(e.companions, []).append(e)
    findings = []
    for companions, group in groups.items():
        findings.extend(_audit_group(config, leaf, companions, group))
    order = {e.id: i for i, e in enumerate(rows)}
    return sorted(findings, key=lambda f: order[f.exploit])


def _audit_group(
    config: CompositionConfig, leaf: Term, companions: tuple[str, ...], rows: Sequence[Exploit]
) -> list[Finding]:
    solo = solo_config(config, leaf)
    extra = tuple(_companion(config, name) for name in companions if name not in {t.path for t in solo.terms})
    solo = replace(solo, terms=solo.terms + extra)
    ref = config.reference_column
    samples = [e.sample(ref) for e in rows]
    with_control = [e for e in rows if e.control is not None]
    samples += [e.control_sample(ref) for e in with_control]
    paths = (leaf.path, *(t.path for t in extra))
    scored = [_summed(s.scores, paths) for s in evaluate_chunk(solo, samples)]
    controls = dict(zip((e.id for e in with_control), scored[len(rows) :], strict=True))
    return [_judge(e, leaf, score, controls.get(e.id)) for e, score in zip(rows, scored, strict=False)]


def _companion(config: CompositionConfig, name: str) -> Term:
    """The config's own term for a companion reward, or the reward at its defaults."""
    for term in config.leaves:
        if term.spec is not None and term.spec.name == name:
            return replace(term, gate=None, weight=1.0)
    spec = registry.get(name)
    return Term(f"{name}@companion", 1.0, spec, build_params(name, spec.params, {}), None, spec.timeout_s)


def _summed(scores: Mapping[str, Score], paths: Sequence[str]) -> Score:
    """The target's score, or with companions the sum of all (masked when any part is)."""
    if len(paths) == 1:
        return scores[paths[0]]
    parts = [scores[p] for p in paths]
    failed = next((s for s in parts if s.value is None), None)
    if failed is not None:
        return failed
    reason = " + ".join(f"{p.split('@')[0]} {s.value:g}" for p, s in zip(paths, parts, strict=True))
    return Score.ok(sum(s.value or 0.0 for s in parts), reason)


def _judge(exploit: Exploit, leaf: Term, score: Score, control: Score | None) -> Finding:
    assert leaf.spec is not None
    return judge(exploit, leaf.path, leaf.spec.name, score, control, leaf.output_range())


def judge(exploit: Exploit, reward: str, name: str, score: Score, control: Score | None,
          bounds: tuple[float, float]) -> Finding:  # fmt: skip
    """The finding for one row scored by one reward (``name``, output range ``bounds``), by the rules above."""
    base: Mapping[str, Any] = {
        "exploit": exploit.id, "family": exploit.family, "reward": reward, "reward_name": name,
        "score": score.value, "status": score.status.value, "description": exploit.description,
        "control_score": None if control is None else control.value,
    }  # fmt: skip
    if exploit.expect == "accept":
        return judge_equivalence(exploit, base, score, name, bounds[1])
    if score.status is Status.NOT_APPLICABLE:
        return Finding(**base, ceiling=None, passed=True, outcome="not_applicable", reason=score.reason)
    if score.value is None:
        return Finding(**base, ceiling=None, passed=False, outcome="error", reason=score.reason)
    if control is not None and control.value is None:
        why = f"the control could not be scored ({control.status.value}): {control.reason}"
        return Finding(**base, ceiling=None, passed=False, outcome="error", reason=why)
    ceiling = _ceiling(exploit, name, control, bounds[0])
    rewarded = score.value > ceiling + exploit.margin + _EPS
    return Finding(**base, ceiling=ceiling, passed=not rewarded, outcome="rewarded" if rewarded else "held",
                   reason=score.reason)  # fmt: skip


def judge_equivalence(exploit: Exploit, base: Mapping[str, Any], score: Score, name: str, top: float) -> Finding:
    """A correct answer: accepted when it earns its floor, rejected (a false negative) otherwise."""
    base = {**base, "kind": "equivalence"}
    floor = floor_for(exploit, name, top)
    if score.status is Status.NOT_APPLICABLE:
        why = f"a correct answer was not graded (not applicable): {score.reason}"
        return Finding(**base, ceiling=floor, passed=False, outcome="rejected", reason=why)
    if score.value is None:
        return Finding(**base, ceiling=floor, passed=False, outcome="error", reason=score.reason)
    accepted = score.value >= floor - exploit.margin - _EPS
    return Finding(**base, ceiling=floor, passed=accepted, outcome="accepted" if accepted else "rejected",
                   reason=score.reason)  # fmt: skip


def floor_for(exploit: Exploit, name: str, top: float) -> float:
    """The least a correct answer must earn: the row's ``min_score`` for ``name`` (a number, or per reward
    name; for a reward the mapping does not name, its highest value), else ``top``."""
    floor = exploit.min_score
    if isinstance(floor, Mapping):
        floor = floor.get(name, max(floor.values()) if floor else None)
    return top if floor is None else float(floor)


def _ceiling(exploit: Exploit, name: str, control: Score | None, bottom: float) -> float:
    if control is not None and control.value is not None:
        return control.value
    own = exploit.ceiling_for(name)
    return own if own is not None else bottom
