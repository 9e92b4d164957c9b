"""Auditing a reward function rewardkit did not write: ``rewardkit audit --function module:attr``.

The function's shape is read from its signature (or given with ``--shape``):

- ``trl``: ``f(completions, **columns)`` (TRL's ``reward_funcs``; ``prompts=`` too), a list back with one value
  per completion, ``None`` meaning "skip". Columns are passed as one-element lists; the gold is passed under
  the ``--gold-column`` name and under every other required parameter (TRL's ``accuracy_reward`` reads
  ``solution``). Completions are chat messages or text, from the ``completions`` annotation, else text unless
  only chat messages work (probed on the first row).
- ``verl``: ``f(data_source, solution_str, ground_truth, extra_info=None)``, a number or ``{"score": ...}``.
- ``pair``: ``f(completion, reference)``, a number or a bool.

Every row of the corpus aimed at the chosen families is scored (exploits, their controls, and equivalence
cases) and judged by the same rules as the audit of a composition (`rewardkit.audit.runner.judge`), with the
function's output range given by ``--range`` (default 0 to 1). ``None`` is "not applicable": an exploit
skipped is held, a correct answer skipped is rejected (it earns nothing).

Why a worker process: a foreign function may hang (math-verify without its alarm, a power tower in sympy) or
crash the interpreter. Each call runs in a forked worker, in its main thread (so ``signal.alarm`` timeouts
inside the function still work), under a wall-clock budget; a call past it is killed and reported as an
error, the worker replaced.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import math
import multiprocessing
import multiprocessing.pool
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..types import Sample, Score, completion_text, prompt_text
from .corpus import Exploit
from .runner import AuditReport, Finding, judge

SHAPES = ("trl", "verl", "pair")
#: Parameters TRL passes that are not dataset columns, so never the gold.
_TRL_OWN = frozenset({"prompts", "completions", "completion_ids", "trainer_state", "log_extra", "log_metric"})


@dataclass(frozen=True)
class ForeignFunction:
    """A loaded reward function and how to call it."""

    target: str
    fn: Callable[..., Any]
    shape: str
    chat: bool = True  # trl: completions as chat messages (else text)
    gold_names: tuple[str, ...] = ("answer",)
    data_source: str | None = None  # verl: passed when the row has no data_source column
    #: How the gold is written for the function: ``{gold}`` as the corpus has it (GSM8K-style bare answers),
    #: or e.g. ``$\boxed{{gold}}$`` for functions that expect LaTeX solutions (open-r1 parses the gold as LaTeX).
    gold_template: str = "{gold}"

    def gold(self, reference: Any) -> Any:
        if reference is None or self.gold_template == "{gold}":
            return reference
        return self.gold_template.replace("{gold}", str(reference))


def load_function(target: str) -> Callable[..., Any]:
    """``module:attr`` (dotted attributes allowed) or ``path/to/file.py:attr``, imported."""
    module_name, sep, attr = target.rpartition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"--function {target!r}: write it as module:attr (e.g. trl.rewards:accuracy_reward) "
                          "or path/to/file.py:attr")  # fmt: skip
    try:
        if module_name.endswith(".py"):
            spec = importlib.util.spec_from_file_location(Path(module_name).stem, module_name)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {module_name}")
            module: Any = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            if "" not in sys.path:  # as `python -m` does: modules of the current directory import
                sys.path.insert(0, "")
            module = importlib.import_module(module_name)
        obj: Any = module
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, OSError) as exc:
        raise ConfigError(f"--function {target!r}: {type(exc).__name__}: {exc}") from None
    if not callable(obj):
        raise ConfigError(f"--function {target!r} is a {type(obj).__name__}, not a function")
    return obj  # type: ignore[no-any-return]


def detect_shape(fn: Callable[..., Any]) -> str:
    """``trl``, ``verl`` or ``pair`` from the parameters' names; `ConfigError` naming the shapes otherwise."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        raise ConfigError("cannot read the function's signature; pass --shape trl|verl|pair") from None
    if "completions" in params:
        return "trl"
    if "solution_str" in params and "ground_truth" in params:
        return "verl"
    positional = [p for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) >= 2 and all(p.default is p.empty for p in positional[:2]):
        return "pair"
    raise ConfigError(
        f"cannot tell the shape of a function with parameters ({', '.join(params)}): expected TRL's "
        "f(completions, **columns), verl's f(data_source, solution_str, ground_truth, extra_info) or "
        "f(completion, reference); pass --shape"
    )


def prepare(target: str, shape: str | None = None, completions: str = "auto", gold_column: str = "answer",
            data_source: str | None = None, gold_template: str = "{gold}") -> ForeignFunction:  # fmt: skip
    """Load ``target`` and decide how to call it (the ``auto`` completion format is settled by `probe`)."""
    fn = load_function(target)
    shape = shape or detect_shape(fn)
    if shape not in SHAPES:
        raise ConfigError(f"--shape must be one of {', '.join(SHAPES)}, got {shape!r}")
    golds = [gold_column]
    if shape == "trl":
        params = inspect.signature(fn).parameters.values()
        golds += [p.name for p in params if p.default is p.empty and p.name not in _TRL_OWN
                  and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]  # fmt: skip
    chat = completions == "chat" or (completions == "auto" and _annotated_chat(fn) is True)
    if "{gold}" not in gold_template:
        raise ConfigError(f"--gold-template must contain {{gold}}, got {gold_template!r}")
    return ForeignFunction(target, fn, shape, chat, tuple(dict.fromkeys(golds)), data_source, gold_template)


def _annotated_chat(fn: Callable[..., Any]) -> bool | None:
    """From the ``completions`` annotation: True for message lists, False for strings, None when silent."""
    param = inspect.signature(fn).parameters.get("completions")
    text = "" if param is None or param.annotation is param.empty else str(param.annotation)
    if "dict" in text or "list[list" in text.replace("List", "list"):
        return True
    if "str" in text:
        return False
    return None


# -- calling it -----------------------------------------------------------------------------------------

#: The function being audited, set before the worker is forked (the child inherits it).
_CURRENT: ForeignFunction | None = None


def call(ff: ForeignFunction, sample: Sample, family: str) -> tuple[str, Any]:
    """``("value", float | None)`` or ``("error", reason)``: one call, in the caller's process."""
    try:
        raw = _invoke(ff, sample, family)
    except Exception as exc:  # the function's bug on this input: reported, as TRL would end training on it
        return "error", f"raised {type(exc).__name__}: {str(exc)[:200]}"
    return _read(raw, ff.shape)


def _invoke(ff: ForeignFunction, sample: Sample, family: str) -> Any:
    if ff.shape == "verl":
        columns = dict(sample.columns)
        source = columns.pop("data_source", None) or ff.data_source or family
        return ff.fn(source, sample.text, ff.gold(sample.reference), columns)
    if ff.shape == "pair":
        return ff.fn(sample.text, ff.gold(sample.reference))
    if ff.chat:
        completion: Any = (list(sample.completion) if not isinstance(sample.completion, str)
                           else [{"role": "assistant", "content": sample.completion}])  # fmt: skip
        prompt: Any = [{"role": "user", "content": prompt_text(sample.prompt)}]
    else:
        completion, prompt = completion_text(sample.completion), prompt_text(sample.prompt)
    columns = {k: [v] for k, v in sample.columns.items()}
    golds = {name: [ff.gold(sample.reference)] for name in ff.gold_names}
    return ff.fn(prompts=[prompt], completions=[completion], **{**columns, **golds})


def _read(raw: Any, shape: str) -> tuple[str, Any]:
    if shape == "trl":
        if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)) or len(raw) != 1:
            return "error", f"returned {type(raw).__name__}, not a list with one value per completion"
        raw = raw[0]
    if isinstance(raw, Mapping):
        raw = raw.get("score")
    if raw is None:
        return "value", None
    if isinstance(raw, (bool, int, float)) or type(raw).__name__ in ("float32", "float64", "int64", "Tensor"):
        value = float(raw)
        return ("value", None) if math.isnan(value) else ("value", value)  # NaN: TRL skips it like None
    return "error", f"returned {type(raw).__name__}, not a number"


def _call_current(sample: Sample, family: str) -> tuple[str, Any]:
    assert _CURRENT is not None
    return call(_CURRENT, sample, family)


class _Worker:
    """One forked process running calls; replaced when a call outlives ``timeout_s``."""

    def __init__(self, ff: ForeignFunction, timeout_s: float) -> None:
        global _CURRENT
        _CURRENT = ff
        self.timeout_s = timeout_s
        self._context = multiprocessing.get_context("fork")
        self._pool = self._context.Pool(1)

    def run(self, sample: Sample, family: str) -> tuple[str, Any]:
        pending = self._pool.apply_async(_call_current, (sample, family))
        try:
            return pending.get(self.timeout_s)
        except multiprocessing.TimeoutError:
            self._restart()
            return "error", f"did not return within {self.timeout_s:g} s (killed)"
        except Exception as exc:  # the worker died (a segfault, os._exit in the function)
            self._restart()
            return "error", f"the worker process died: {type(exc).__name__}: {exc}"

    def _restart(self) -> None:
        self._pool.terminate()
        self._pool = self._context.Pool(1)

    def close(self) -> None:
        self._pool.terminate()
        self._pool.join()


def probe(ff: ForeignFunction, rows: Sequence[Exploit], completions: str, timeout_s: float) -> ForeignFunction:
    """Settle ``auto`` for TRL functions whose annotation is silent: text (TRL's standard format) unless
    text breaks the function and chat messages do not (``completion[0]["content"]`` on a string raises)."""
    if ff.shape != "trl" or completions != "auto" or _annotated_chat(ff.fn) is not None or not rows:
        return ff
    first, chat = rows[0], replace(ff, chat=True)
    worker = _Worker(ff, timeout_s)
    try:
        if worker.run(first.sample("answer"), first.family)[0] == "value":
            return ff
    finally:
        worker.close()
    worker = _Worker(chat, timeout_s)
    try:
        return chat if worker.run(first.sample("answer"), first.family)[0] == "value" else ff
    finally:
        worker.close()


# -- the audit --------------------------------------------------------------------------------------------


def aimed_rows(exploits: Sequence[Exploit], families: Sequence[str], like: str | None) -> list[Exploit]:
    """Rows of ``families`` (rows restricted to named rewards only when ``like`` names one of them)."""
    return [e for e in exploits
            if (like is not None and like in e.rewards) or (not e.rewards and e.family in families)]  # fmt: skip


def audit_function(ff: ForeignFunction, rows: Sequence[Exploit], bounds: tuple[float, float] = (0.0, 1.0),
                   like: str | None = None, timeout_s: float = 30.0) -> AuditReport:  # fmt: skip
    """Score every row (and each exploit's control) with the function and judge it."""
    worker = _Worker(ff, timeout_s)
    findings: list[Finding] = []
    try:
        for e in rows:
            score = _as_score(worker.run(e.sample("answer"), e.family))
            control = None if e.control is None else _as_score(worker.run(e.control_sample("answer"), e.family))
            finding = judge(e, ff.target, like or ff.shape, score, control, bounds)
            findings.append(replace(finding, reward_name=ff.shape))
    finally:
        worker.close()
    return AuditReport(findings, {})


def _as_score(result: tuple[str, Any]) -> Score:
    kind, value = result
    if kind == "error":
        return Score.error(str(value))
    if value is None:
        return Score.not_applicable("the function returned None (the sample is skipped)")
    return Score.ok(value, f"returned {value:g}")
