"""The readable training output: bar postfix, the table every N steps, the plot beside metrics.jsonl."""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from training import progress

TERMS = ["think_format", "math"]


def logs(step: int) -> dict[str, float]:
    return {"reward": 0.1 * step, "rewards/think_format/mean": 1.0, "rewards/math/mean": 0.05 * step,
            "kl": 0.01, "entropy": 0.3, "loss": 0.0, "completions/mean_length": 9.0}


def test_a_table_row_every_n_steps_with_every_term_and_nothing_else(tmp_path: Path) -> None:
    out = io.StringIO()
    cb = progress.Progress(TERMS, report_every=2, out=out)
    args, state = SimpleNamespace(disable_tqdm=True), SimpleNamespace(is_world_process_zero=True, max_steps=4)
    cb.on_train_begin(args, state, None)
    for step in range(1, 5):
        state.global_step = step  # type: ignore[attr-defined]
        cb.on_log(args, state, None, logs=logs(step))
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["step", "reward", "think_format", "math", "kl", "entropy", "s/step"]
    assert [line.split()[0] for line in lines[1:]] == ["1", "2", "4"]  # the first step, then every 2nd
    assert lines[-1].split()[1:4] == ["0.400", "1.000", "0.200"]
    assert max(len(line) for line in lines) < 100  # not the 1,000-character dicts


def test_other_processes_print_nothing() -> None:
    out = io.StringIO()
    cb = progress.Progress(TERMS, report_every=1, out=out)
    state = SimpleNamespace(is_world_process_zero=False, max_steps=2, global_step=1)
    cb.on_train_begin(SimpleNamespace(disable_tqdm=True), state, None)
    cb.on_log(None, state, None, logs=logs(1))
    assert out.getvalue() == ""


def test_the_plot_lands_beside_the_metrics_file(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text("".join(json.dumps({"step": s, **logs(s)}) + "\n" for s in range(1, 6)))
    image = progress.plot(metrics, TERMS)
    assert image == tmp_path / "rewards.png" and image.stat().st_size > 5000
    assert set(progress.series(progress.read_metrics(metrics), TERMS)) == {"reward (weighted total)", *TERMS}
