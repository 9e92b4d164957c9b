"""Two trainer processes (``accelerate launch --cpu --num_processes 2``), as on two GPUs: each completion is
scored once, by the process that generated it, and the per-term means are logged by the main process only."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("trl")
pytest.importorskip("accelerate")

REPO = Path(__file__).resolve().parents[2]
STEPS, PER_DEVICE, PROCESSES = 2, 16, 2
TERMS = ("tag_count", "think_format", "math")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_processes_score_each_completion_once_and_log_every_term_on_the_main_one(tmp_path: Path) -> None:
    launcher = shutil.which("accelerate")
    if launcher is None:
        pytest.skip("the accelerate command is not on PATH")
    counts = tmp_path / "counts"
    counts.mkdir()
    # --multi_gpu on a machine without GPUs gives accelerate's MULTI_CPU (gloo), as TRL sets use_cpu
    cmd = [launcher, "launch", "--multi_gpu", "--num_processes", str(PROCESSES), "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29517",
           str(REPO / "tests" / "training" / "accelerate_check.py"), str(counts),
           "--config", str(REPO / "training" / "configs" / "tiny-cpu.yaml"), "--output-dir", str(tmp_path / "out"),
           "--set", f"grpo.max_steps={STEPS}", "--set", f"grpo.per_device_train_batch_size={PER_DEVICE}",
           "--set", "grpo.disable_tqdm=true"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=560,
                          env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "RANK": ""})
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-4000:])
    calls = {p.stem: [json.loads(x)["completions"] for x in p.read_text().splitlines()] for p in counts.iterdir()}
    # One scoring call per step per process, each over that process's own completions: the three terms share
    # it (not three calls), and no completion is scored by both processes.
    assert calls == {f"rank{r}": [PER_DEVICE] * STEPS for r in range(PROCESSES)}, calls
    logged = [json.loads(x) for x in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    steps = [e for e in logged if "reward" in e]
    assert [e["step"] for e in steps] == list(range(1, STEPS + 1))  # one writer: each step once
    for term in TERMS:
        assert all(f"rewards/{term}/mean" in e and e[f"rewardkit/{term}/errors"] == 0 for e in steps), term
