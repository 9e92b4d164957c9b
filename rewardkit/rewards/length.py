"""Length rewards: ``length`` (closeness to a target), ``cosine_length`` (Yeo et al. 2025),
``soft_overlong`` (DAPO) and ``repetition`` (n-gram repetition penalty, as in open-r1).

Lengths are measured by one helper, `measure`, in characters, whitespace-separated words or tokens.
Token counts come from the row's ``completion_ids`` column (TRL passes it to reward functions, and it
is exactly what the policy generated), else from a local ``tokenizer.json`` loaded once per process with
the ``tokenizers`` package. Without either, the score is an error that says how to fix the setup: a
silently wrong length (say, characters read as tokens) would skew every reward of the run.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sized
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from ..errors import ConfigError
from ..hookspecs import hookimpl
from ..params import param
from ..types import RewardSpec, Sample, Score, Status

Unit: TypeAlias = Literal["chars", "words", "tokens"]
_UNIT_HELP = "what to count: chars, words (split on whitespace) or tokens (completion_ids, else tokenizer)"
_TOKENIZER_HELP = "path to a local tokenizer.json, used for unit tokens when rows carry no completion_ids"


@functools.lru_cache(maxsize=8)
def _load_tokenizer(path: str) -> Any:
    # Cached per process: loading a tokenizer.json takes tens of milliseconds, encoding microseconds.
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise RuntimeError(
            "the 'tokenizers' package is not installed: pip install tokenizers (or rewardkit[train])"
        ) from exc
    return Tokenizer.from_file(path)


def measure(sample: Sample, unit: Unit, tokenizer: str | None) -> int | Score:
    """The completion's length in ``unit``, or an error `Score` saying why it cannot be measured."""
    if unit == "chars":
        return len(sample.text)
    if unit == "words":
        return len(sample.text.split())
    ids = sample.columns.get("completion_ids")
    if ids is not None and isinstance(ids, Sized) and not isinstance(ids, (str, bytes)):
        return len(ids)
    if tokenizer is None:
        return Score.error(
            "unit 'tokens' needs token ids: the row has no 'completion_ids' column (TRL passes one) and "
            "param 'tokenizer' is not set; set tokenizer: /path/to/tokenizer.json, or unit: chars or words"
        )
    try:
        tok = _load_tokenizer(tokenizer)
    except Exception as exc:
        return Score.error(f"cannot load tokenizer {tokenizer!r}: {type(exc).__name__}: {exc}")
    return len(tok.encode(sample.text, add_special_tokens=False).ids)


# ---------------------------------------------------------------------------------------------- length


@dataclass(frozen=True)
class LengthParams:
    target: int = param(1000, "target length, in unit", ge=1)
    scale: float | None = param(
        None, "distance from the target at which the value reaches 0; null: the target itself", gt=0
    )
    unit: Literal["chars", "words", "tokens"] = param("tokens", _UNIT_HELP)
    tokenizer: str | None = param(None, _TOKENIZER_HELP)


def _length(sample: Sample, params: LengthParams) -> Score:
    n = measure(sample, params.unit, params.tokenizer)
    if isinstance(n, Score):
        return n
    scale = params.scale if params.scale is not None else params.target
    value = max(0.0, 1.0 - abs(n - params.target) / scale)
    return Score.ok(value, f"{n} {params.unit}, target {params.target}", length=n)


# --------------------------------------------------------------------------------------- cosine_length


@dataclass(frozen=True)
class CosineLengthParams:
    correct_from: str = param(
        "math", "term of the composition (else row column, bool or number) that says the answer is correct"
    )
    correct_threshold: float = param(1.0, "correct when that term's value (or the column) is >= this")
    max_len: int = param(1000, "length at which the cosine schedule ends (progress 1)", ge=1)
    min_value_correct: float = param(0.5, "value of a correct answer at max_len")
    max_value_correct: float = param(1.0, "value of a correct answer of length 0")
    min_value_wrong: float = param(-1.0, "value of a wrong answer of length 0 (short ones cost most)")
    max_value_wrong: float = param(-0.5, "value of a wrong answer at max_len")
    exceed_penalty: float | None = param(None, "value when the length exceeds max_len; null: no special case")
    unit: Literal["chars", "words", "tokens"] = param("tokens", _UNIT_HELP)
    tokenizer: str | None = param(None, _TOKENIZER_HELP)


def _cosine_range(p: CosineLengthParams) -> tuple[float, float]:
    values = [p.min_value_correct, p.max_value_correct, p.min_value_wrong, p.max_value_wrong]
    if p.exceed_penalty is not None:
        values.append(p.exceed_penalty)
    return (min(values), max(values))


def correctness(sample: Sample, name: str, threshold: float) -> bool | Score:
    """Whether the answer is correct, from the term ``name`` or else the column ``name``; or a Score."""
    term = sample.terms.get(name)
    if term is not None:
        if term.value is None:
            if term.status in (Status.ERROR, Status.TIMEOUT):
                return Score.error(f"term {name!r} failed ({term.status.value}): {term.reason}")
            return Score.not_applicable(f"term {name!r} does not apply: {term.reason}")
        return term.value >= threshold
    raw = sample.columns.get(name)
    if raw is None:
        return Score.not_applicable(f"no term or column {name!r} says whether the answer is correct")
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (int, float)) and math.isfinite(raw):
        return raw >= threshold
    return Score.error(f"column {name!r} holds {raw!r}; expected a bool or a finite number")


def _cosine_length(sample: Sample, params: CosineLengthParams) -> Score:
    correct = correctness(sample, params.correct_from, params.correct_threshold)
    if isinstance(correct, Score):
        return correct
    n = measure(sample, params.unit, params.tokenizer)
    if isinstance(n, Score):
        return n
    verdict = "correct" if correct else "wrong"
    if n > params.max_len and params.exceed_penalty is not None:
        reason = f"{verdict}, {n} {params.unit} > max_len {params.max_len}"
        return Score.ok(params.exceed_penalty, reason, length=n, correct=correct)
    cosine = math.cos(math.pi * min(n / params.max_len, 1.0))
    if correct:
        lo, hi = params.min_value_correct, params.max_value_correct
    else:  # swapped, as in open-r1: at length 0 the value is min_value_wrong
        lo, hi = params.max_value_wrong, params.min_value_wrong
    value = lo + 0.5 * (hi - lo) * (1.0 + cosine)
    reason = f"{verdict}, {n} {params.unit} of max_len {params.max_len}"
    return Score.ok(value, reason, length=n, correct=correct)


# --------------------------------------------------------------------------------------- soft_overlong


@dataclass(frozen=True)
class SoftOverlongParams:
    max_length: int = param(1024, "hard length limit (DAPO's L_max); set it to max_completion_length", ge=2)
    cache_length: int = param(256, "soft buffer before max_length where the penalty ramps to -1", ge=1)
    unit: Literal["chars", "words", "tokens"] = param("tokens", _UNIT_HELP)
    tokenizer: str | None = param(None, _TOKENIZER_HELP)

    def __post_init__(self) -> None:
        if self.cache_length >= self.max_length:
            raise ValueError(
                f"cache_length ({self.cache_length}) must be less than max_length ({self.max_length})"
            )


def _soft_overlong(sample: Sample, params: SoftOverlongParams) -> Score:
    n = measure(sample, params.unit, params.tokenizer)
    if isinstance(n, Score):
        return n
    free = params.max_length - params.cache_length
    if n <= free:
        return Score.ok(0.0, f"{n} {params.unit}, within {free}", length=n)
    if n <= params.max_length:
        value = (free - n) / params.cache_length
        reason = f"{n} {params.unit}, in the soft buffer ({free}, {params.max_length}]"
        return Score.ok(value, reason, length=n)
    return Score.ok(-1.0, f"{n} {params.unit}, over max_length {params.max_length}", length=n)


# ------------------------------------------------------------------------------------------ repetition


@dataclass(frozen=True)
class RepetitionParams:
    ngram_size: int = param(3, "length of the word n-grams compared", ge=1)
    max_penalty: float = param(-1.0, "value when every n-gram repeats the first (must be <= 0)", le=0)


def _repetition(sample: Sample, params: RepetitionParams) -> Score:
    words = sample.text.lower().split()
    k = params.ngram_size
    total = len(words) - k + 1
    if total <= 0:
        return Score.ok(0.0, f"{len(words)} words, fewer than ngram_size {k}", ngrams=0, unique=0)
    # The shifted lists differ in length on purpose: zip stops at the last full n-gram.
    unique = len(set(zip(*(words[i:] for i in range(k)), strict=False)))
    # `+ 0.0` turns -0.0 (no repetition times a negative penalty) into 0.0 for the output files.
    value = (1.0 - unique / total) * params.max_penalty + 0.0
    return Score.ok(value, f"{total - unique} of {total} {k}-grams repeat", ngrams=total, unique=unique)


def _repetition_range(p: RepetitionParams) -> tuple[float, float]:
    return (p.max_penalty, 0.0)


def _token_columns(params: Any) -> tuple[str, ...]:
    """Token counts need the ids TRL passes, unless a tokenizer is configured."""
    return ("completion_ids",) if params.unit == "tokens" and params.tokenizer is None else ()


def _check_tokenizer(params: Any) -> None:
    """A configured tokenizer must load now: a typo in its path would otherwise mask every row."""
    if params.unit == "tokens" and params.tokenizer is not None:
        try:
            _load_tokenizer(params.tokenizer)
        except Exception as exc:
            raise ConfigError(
                f"params.tokenizer {params.tokenizer!r} cannot be loaded ({type(exc).__name__}: {exc}); give the "
                "path of a local tokenizer.json, or use unit: chars or words"
            ) from None


_MEASURES: dict[str, Any] = {
    "columns_for": _token_columns, "validate": _check_tokenizer,
    "columns_hint": "Token lengths need the ids TRL passes in 'completion_ids': outside TRL set params.tokenizer "
                    "to a local tokenizer.json, or count unit: chars or words.",
}  # fmt: skip


@hookimpl
def register_rewards(register: Callable[[RewardSpec], None]) -> None:
    register(RewardSpec(
        name="length",
        description="Closeness to a target length: max(0, 1 - |L - target| / scale).",
        params=LengthParams, range=(0.0, 1.0), fn=_length, timeout_s=5.0, family="length", **_MEASURES,
    ))
    register(RewardSpec(
        name="cosine_length",
        description="Cosine length schedule (Yeo et al. 2025): short correct answers earn most, short "
        "wrong answers lose most. Correctness comes from another term (e.g. math) or a column.",
        params=CosineLengthParams, range=_cosine_range, fn=_cosine_length,
        term_params=("correct_from",), timeout_s=5.0, family="length", **_MEASURES,
    ))
    register(RewardSpec(
        name="soft_overlong",
        description="DAPO's soft overlong punishment: 0 up to max_length - cache_length, a linear ramp to "
        "-1 in the buffer, -1 beyond max_length.",
        params=SoftOverlongParams, range=(-1.0, 0.0), fn=_soft_overlong, timeout_s=5.0, family="length",
        **_MEASURES,
    ))
    register(RewardSpec(
        name="repetition",
        description="N-gram repetition penalty (open-r1): (1 - unique/total n-grams) * max_penalty.",
        params=RepetitionParams, range=_repetition_range, fn=_repetition, timeout_s=5.0, family="length",
    ))
