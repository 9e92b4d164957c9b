"""Training output a person can follow: a progress bar, a compact table every N steps, a plot at the end.

Transformers prints every log entry as one dict of ~40 keys (~1,000 characters a line). `Progress`
replaces that with a bar showing the step, ETA, the reward and each term's mean, and every
``report_every`` steps one table row (step, reward, each term, KL or entropy, seconds per step). At
the end `plot` draws the reward and each term over steps into ``rewards.png`` beside ``metrics.jsonl``
(needs matplotlib: ``pip install matplotlib``; without it the path of the metrics file is printed instead).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

EXTRA = ("kl", "entropy")  # shown when logged: the two numbers that warn of collapse


def short(term: str) -> str:
    return term.rsplit(".", 1)[-1][:12]


class Table:
    """Fixed-width rows: step, reward, each term, the extras, seconds per step."""

    def __init__(self, terms: Sequence[str], out: TextIO) -> None:
        self.terms, self.out = list(terms), out
        self.columns = ["step", "reward", *(short(t) for t in self.terms), *EXTRA, "s/step"]
        self._header_done = False

    def row(self, step: int, logs: Mapping[str, Any], seconds_per_step: float | None) -> None:
        if not self._header_done:
            self._write(" ".join(f"{c:>12}" for c in self.columns))
            self._header_done = True
        cells = [str(step), _fmt(logs.get("reward"))]
        cells += [_fmt(logs.get(f"rewards/{t}/mean")) for t in self.terms]
        cells += [_fmt(logs.get(k)) for k in EXTRA]
        cells.append(_fmt(seconds_per_step))
        self._write(" ".join(f"{c:>12}" for c in cells))

    def _write(self, line: str) -> None:
        try:
            from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]

            tqdm.write(line, file=self.out)  # above the bar, which stays at the bottom
        except ImportError:
            print(line, file=self.out)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    try:
        return f"{float(value):.3f}"
    except (TypeError, ValueError):
        return str(value)


class Progress:
    """A TrainerCallback-shaped object (see `make_callback`) drawing the bar and the table."""

    def __init__(self, terms: Sequence[str], report_every: int | None = None, out: TextIO | None = None) -> None:
        self.terms = list(terms)
        self.report_every = report_every
        self.out = out or sys.stdout
        self.table = Table(self.terms, self.out)
        self.bar: Any = None
        self._start = time.perf_counter()

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        self._start = time.perf_counter()
        if self.report_every is None:  # about ten rows per run
            self.report_every = max(1, int(state.max_steps or 10) // 10)
        if not getattr(args, "disable_tqdm", False):
            from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]

            self.bar = tqdm(total=state.max_steps, unit="step", dynamic_ncols=True, file=sys.stderr)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args: Any, state: Any, control: Any, logs: Mapping[str, Any] | None = None,
               **kwargs: Any) -> None:
        if not state.is_world_process_zero or not logs or "reward" not in logs:
            return
        if self.bar is not None:
            post = {"reward": f"{float(logs['reward']):.3f}"}
            post |= {short(t): f"{float(logs[f'rewards/{t}/mean']):.2f}" for t in self.terms
                     if f"rewards/{t}/mean" in logs}
            self.bar.set_postfix(post, refresh=False)
        step = int(state.global_step)
        if self.report_every and (step % self.report_every == 0 or step == 1):
            self.table.row(step, logs, (time.perf_counter() - self._start) / max(1, step))

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class MetricsFile:
    """A TrainerCallback-shaped object appending each log entry to a JSONL file as it arrives."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.write_text("", encoding="utf-8")

    def on_log(self, args: Any, state: Any, control: Any, logs: Mapping[str, Any] | None = None,
               **kwargs: Any) -> None:
        if logs and getattr(state, "is_world_process_zero", True):  # one writer under accelerate launch
            entry = {"step": state.global_step, **logs}
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry, default=float) + "\n")


def metrics_callback(path: Path) -> Any:
    from transformers import TrainerCallback

    class _Callback(MetricsFile, TrainerCallback):
        pass

    return _Callback(path)


def summarize(history: Sequence[Mapping[str, Any]], terms: Sequence[str], window: int = 3) -> dict[str, Any]:
    """Mean reward over the first and last ``window`` logged steps, overall and per term."""
    steps = [h for h in history if "reward" in h]
    out: dict[str, Any] = {"logged_steps": len(steps)}
    for key in ["reward", *(f"rewards/{t}/mean" for t in terms)]:
        values = [float(h[key]) for h in steps if key in h]
        if values:
            first, last = values[:window], values[-window:]
            out[key] = {"first": sum(first) / len(first), "last": sum(last) / len(last)}
    return out


def make_callback(terms: Sequence[str], report_every: int | None = None) -> Any:
    from transformers import TrainerCallback

    class _Progress(Progress, TrainerCallback):
        pass

    return _Progress(terms, report_every)


def quiet_default_printing(trainer: Any) -> None:
    """Remove transformers' own bar and dict printer, which `Progress` replaces."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)


def read_metrics(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def series(entries: Sequence[Mapping[str, Any]], terms: Sequence[str]) -> dict[str, tuple[list[int], list[float]]]:
    """Step and value lists for ``reward`` and each ``rewards/<term>/mean`` logged."""
    out: dict[str, tuple[list[int], list[float]]] = {}
    for key, label in [("reward", "reward (weighted total)"), *((f"rewards/{t}/mean", t) for t in terms)]:
        points = [(int(e["step"]), float(e[key])) for e in entries if key in e and "step" in e]
        if points:
            out[label] = ([s for s, _ in points], [v for _, v in points])
    return out


def plot(metrics: Path, terms: Sequence[str], target: Path | None = None) -> Path | None:
    """Draw reward and each term over steps into ``target`` (default: rewards.png beside ``metrics``).

    Returns the image's path, or None when matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed: write a file
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    target = target or metrics.with_name("rewards.png")
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for label, (steps, values) in series(read_metrics(metrics), terms).items():
        ax.plot(steps, values, label=label, linewidth=2 if label.startswith("reward") else 1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("mean reward per completion")
    ax.set_title(f"Rewards over training ({metrics.parent.name})")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return target
