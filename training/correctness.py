"""Does correctness rise because of the reward? A run and its control, identical but for shuffled golds.

    python training/correctness.py                      # tiny-correctness.yaml, seed 0, both runs at once
    python training/correctness.py --seeds 0 1 --set grpo.max_steps=200

The treatment trains on the true golds; the control on the same questions with the golds permuted across
questions (`dataset.shuffle_answers`), so both learn the format and the answers' distribution and only
the treatment can learn the operation. Both start from the same warmed-up model (same seed). Held-out
accuracy is the `math` reward on greedy answers to questions neither run trained on; the rise due to the
reward is the treatment's held-out accuracy minus the control's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "training" / "configs" / "tiny-correctness.yaml"
ARMS = {"treatment": "false", "control": "true"}


def command(config: Path, output_dir: Path, seed: int, shuffled: str, overrides: Sequence[str]) -> list[str]:
    cmd = [sys.executable, str(ROOT / "training" / "grpo.py"), "--config", str(config),
           "--output-dir", str(output_dir), "--set", f"seed={seed}", "--set", f"dataset.shuffle_answers={shuffled}",
           "--set", "grpo.disable_tqdm=true"]
    for item in overrides:
        cmd += ["--set", item]
    return cmd


def run_all(config: Path, root: Path, seeds: Sequence[int], overrides: Sequence[str],
            parallel: int) -> list[dict[str, Any]]:
    """Run every (seed, arm), ``parallel`` at a time; return one record per run with its summary."""
    jobs = [(seed, arm) for seed in seeds for arm in ARMS]
    records: list[dict[str, Any]] = []
    while jobs:
        batch, jobs = jobs[:parallel], jobs[parallel:]
        running = []
        for seed, arm in batch:
            out = root / f"seed{seed}-{arm}"
            log = (root / f"seed{seed}-{arm}.log").open("w")
            cmd = command(config, out, seed, ARMS[arm], overrides)
            running.append((seed, arm, out, log, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)))
        for seed, arm, out, log, proc in running:
            code = proc.wait()
            log.close()
            if code != 0:
                raise SystemExit(f"{arm} run of seed {seed} failed (exit {code}); see {log.name}")
            summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
            records.append({"seed": seed, "arm": arm, **summary})
    return records


def compare(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Held-out accuracy before and after per run, and treatment minus control per seed and on average."""
    table = {(r["seed"], r["arm"]): r for r in records}
    seeds = sorted({r["seed"] for r in records})
    after = {key: r["heldout"]["after"]["accuracy"] for key, r in table.items()}
    diffs = {s: after[s, "treatment"] - after[s, "control"] for s in seeds}
    return {
        "runs": [{"seed": r["seed"], "arm": r["arm"], "before": r["heldout"]["before"]["accuracy"],
                  "after": r["heldout"]["after"]["accuracy"], "questions": r["heldout"]["after"]["questions"],
                  "train_math_last": (r.get("rewards/math/mean") or {}).get("last"), "seconds": r["seconds"]}
                 for r in records],
        "treatment_minus_control": diffs,
        "mean_treatment_minus_control": sum(diffs.values()) / len(diffs),
    }


def render(result: dict[str, Any]) -> str:
    lines = [f"{'seed':>4} {'arm':>9} {'held-out before':>15} {'after':>6} {'train math':>10} {'seconds':>7}"]
    for r in result["runs"]:
        lines.append(f"{r['seed']:>4} {r['arm']:>9} {r['before']:>15.1%} {r['after']:>6.1%} "
                     f"{r['train_math_last'] or 0:>10.2f} {r['seconds']:>7.0f}")
    for seed, diff in result["treatment_minus_control"].items():
        lines.append(f"seed {seed}: treatment minus control = {diff * 100:+.1f} points of held-out accuracy")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--output-dir", type=Path, default=Path("runs") / "correctness")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--parallel", type=int, default=2, help="runs at once (each uses torch_threads)")
    parser.add_argument("--set", action="append", default=[], metavar="BLOCK.KEY=VALUE")
    ns = parser.parse_args(argv)
    ns.output_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result = compare(run_all(ns.config, ns.output_dir, ns.seeds, ns.set, max(1, ns.parallel)))
    result["wall_seconds"] = round(time.perf_counter() - start, 1)
    (ns.output_dir / "comparison.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(render(result))
    print(f"wall time {result['wall_seconds']:.0f} s; details in {ns.output_dir / 'comparison.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
