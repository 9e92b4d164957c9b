"""The exploit corpus: JSONL rows, each a completion built to earn a reward it does not deserve.

A row (one JSON object per line)::

    {"exploit": "math/hedged-or",            # unique id
     "family": "math",                       # reward family it targets (format, math, code, length, judge)
     "reward": "repetition",                 # optional: only these reward names (a name or a list)
     "description": "...",                   # what the trick is
     "completion": "...", "prompt": "...", "answer": "...", "tests": [...],   # the sample, as in a data file
     "control": "...",                       # optional: an honest failing completion of the same row,
                                             #   or {"completion": ..., COLUMN: value} to change columns too
     "max_score": 0.0,                       # optional: a number, or {reward name: number}
     "margin": 0.0,                          # optional: slack added to the ceiling (noisy judges)
     "with": ["repetition"],                 # optional: rewards meant to be used beside the audited one;
                                             #   exploit and control are judged on their summed score
     "expect": "accept",                     # optional: an equivalence case, a CORRECT completion that must
     "min_score": 1.0}                       #   earn at least min_score (default: the reward's maximum)

Every key that is not one of the above is a column of the row, exactly as in a file `rewardkit score` reads.
The gold answer is read from the config's reference column, else from ``answer``. The control shares the
row's columns except ``completion_ids``, which describes the exploit's own tokens: give the control's in its
object form when a reward counts tokens.

Long inputs stay readable: any value may be written ``{"$repeat": X, "times": N}`` (a string or list X,
N times) or ``{"$concat": [part, ...]}`` (strings or lists joined; parts may themselves be ``$repeat``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..io import completion_problem
from ..rows import clean_completion
from ..types import Completion, Sample

#: Keys of a row that describe the exploit rather than the sample.
META_KEYS = frozenset({"exploit", "family", "reward", "description", "control", "max_score", "margin", "with",
                       "expect", "min_score"})  # fmt: skip
FAMILIES = ("format", "math", "code", "length", "judge", "ifeval", "json_schema", "tool_call", "qa", "truncation")
_MAX_EXPANDED = 10_000_000


@dataclass(frozen=True)
class Exploit:
    """One corpus row, validated; ``source`` is ``file:line`` for messages."""

    id: str
    family: str
    completion: Completion
    prompt: Any = None
    row: Mapping[str, Any] = field(default_factory=dict)
    rewards: tuple[str, ...] = ()
    description: str = ""
    control: Completion | None = None
    control_columns: Mapping[str, Any] = field(default_factory=dict)
    max_score: float | Mapping[str, float] | None = None
    margin: float = 0.0
    source: str = ""
    companions: tuple[str, ...] = ()
    #: "reject": an exploit (a false positive when rewarded); "accept": a correct answer (a false negative
    #: when it earns less than ``min_score``, by default the reward's maximum).
    expect: str = "reject"
    min_score: float | Mapping[str, float] | None = None

    def applies_to(self, reward_name: str, family: str | None) -> bool:
        """Whether this exploit is aimed at a reward: named in ``reward``, else of the same family."""
        if self.rewards:
            return reward_name in self.rewards
        return family is not None and family == self.family

    def sample(self, reference_column: str) -> Sample:
        """The row as a `Sample`."""
        return self._sample(reference_column, self.completion, dict(self.row))

    def control_sample(self, reference_column: str) -> Sample:
        """The control as a `Sample` of the same row (without the exploit's ``completion_ids``)."""
        assert self.control is not None
        row = {k: v for k, v in self.row.items() if k != "completion_ids"}
        return self._sample(reference_column, self.control, {**row, **self.control_columns})

    def _sample(self, reference_column: str, completion: Completion, row: dict[str, Any]) -> Sample:
        ref_key = reference_column if reference_column in row else "answer"
        columns = {k: v for k, v in row.items() if k not in (ref_key, "answer", reference_column)}
        return Sample(clean_completion(completion), self.prompt, row.get(ref_key), columns)

    def ceiling_for(self, reward_name: str) -> float | None:
        """The row's own ceiling for a reward (``max_score``), or None to use the default."""
        if isinstance(self.max_score, Mapping):
            value = self.max_score.get(reward_name)
            return None if value is None else float(value)
        return None if self.max_score is None else float(self.max_score)


def builtin_paths() -> list[Path]:
    """The corpus files shipped with rewardkit, one per family."""
    folder = resources.files("rewardkit.audit") / "exploits"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".jsonl"))


def load_corpus(paths: Iterable[str | Path]) -> list[Exploit]:
    """Read and validate exploit files; ids must be unique across all of them."""
    found: list[Exploit] = []
    seen: dict[str, str] = {}
    for path in paths:
        for exploit in load_file(path):
            if exploit.id in seen:
                raise InputError(f"{exploit.source}: exploit id {exploit.id!r} is already used at {seen[exploit.id]}")
            seen[exploit.id] = exploit.source
            found.append(exploit)
    return found


def load_file(path: str | Path) -> list[Exploit]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read exploit file {str(path)!r}: {exc.strerror}") from None
    out = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            out.append(parse_exploit(line, f"{path}:{number}"))
    return out


def parse_exploit(line: str, where: str) -> Exploit:
    """One JSONL line as an `Exploit`; `InputError` names the file, line and field on any problem."""
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: invalid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(raw, dict):
        raise InputError(f"{where}: an exploit is a JSON object with 'exploit', 'family' and 'completion'")
    try:
        obj = {k: expand(v) for k, v in raw.items()}
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None
    ident = obj.get("exploit")
    if not isinstance(ident, str) or not ident:
        raise InputError(f"{where}: 'exploit' must be a non-empty id such as \"math/hedged-or\"")
    rewards = _names(obj.get("reward"), where)
    family = obj.get("family", "")
    if not isinstance(family, str) or not (family or rewards):
        raise InputError(f"{where}: give 'family' (one of {', '.join(FAMILIES)}) or 'reward' (a reward name)")
    if "completion" not in obj:
        raise InputError(f"{where}: field 'completion' is missing; it holds the exploit's model output")
    control, control_columns = _control(obj.get("control"), where)
    for key, value in (("completion", obj["completion"]), ("control", control)):
        problem = completion_problem(value) if value is not None else None
        if problem:
            raise InputError(f"{where}: field {key!r}: {problem}")
    return Exploit(
        id=ident, family=family, completion=obj["completion"], prompt=obj.get("prompt"),
        row={k: v for k, v in obj.items() if k not in META_KEYS and k not in ("completion", "prompt")},
        rewards=rewards, description=str(obj.get("description", "")), control=control,
        control_columns=control_columns,
        max_score=_max_score(obj.get("max_score"), where), margin=_number(obj.get("margin", 0.0), "margin", where),
        source=where, companions=_names(obj.get("with"), where), expect=_expect(obj.get("expect"), where),
        min_score=_max_score(obj.get("min_score"), where),
    )  # fmt: skip


def _expect(value: Any, where: str) -> str:
    if value is None or value in ("reject", "accept"):
        return value or "reject"
    raise InputError(f"{where}: 'expect' must be \"reject\" (an exploit) or \"accept\" (a correct answer), "
                     f"got {value!r}")


def _control(value: Any, where: str) -> tuple[Any, dict[str, Any]]:
    if not isinstance(value, dict):
        return value, {}
    if "completion" not in value:
        raise InputError(f"{where}: 'control' as an object needs a 'completion' (other keys are its columns)")
    return value["completion"], {k: v for k, v in value.items() if k != "completion"}


def _names(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise InputError(f"{where}: 'reward' must be a reward name or a list of names, got {value!r}")


def _number(value: Any, key: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{where}: {key!r} must be a number, got {value!r}")
    return float(value)


def _max_score(value: Any, where: str) -> float | dict[str, float] | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return {str(k): _number(v, f"max_score.{k}", where) for k, v in value.items()}
    return _number(value, "max_score", where)


def expand(value: Any) -> Any:
    """Resolve ``$repeat`` and ``$concat`` (recursively); other values are returned as they are."""
    if isinstance(value, list):
        return [expand(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$repeat" in value:
        if set(value) != {"$repeat", "times"}:
            raise ValueError(f"'$repeat' takes exactly the keys '$repeat' and 'times', got {sorted(value)}")
        part, times = expand(value["$repeat"]), value["times"]
        if not isinstance(part, (str, list)) or not isinstance(times, int) or times < 0:
            raise ValueError("'$repeat' needs a string or list and a 'times' count >= 0")
        if len(part) * times > _MAX_EXPANDED:
            raise ValueError(f"'$repeat' would build {len(part) * times:,} items (limit {_MAX_EXPANDED:,})")
        return part * times
    if "$concat" in value:
        parts = [expand(p) for p in value["$concat"]] if isinstance(value["$concat"], list) else None
        if not parts or len(value) != 1 or not _same_kind(parts):
            raise ValueError("'$concat' takes one non-empty list of strings, or of lists")
        return "".join(parts) if isinstance(parts[0], str) else [x for p in parts for x in p]
    return {k: expand(v) for k, v in value.items()}


def _same_kind(parts: Sequence[Any]) -> bool:
    return all(isinstance(p, str) for p in parts) or all(isinstance(p, list) for p in parts)
