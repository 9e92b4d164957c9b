"""HumanEval canonical solutions through the `code` reward vs a plain `subprocess.run([python, file])` each.

    python benchmarks/bench_code.py [--data PATH] [--slots N]

Both sides grade the 164 canonical solutions (all must pass) and the same with the body replaced by
`return None` (all must fail), and print programs/s and the ratio, one program at a time per core and
with N at once (subprocesses from N threads vs N fork servers). The reward runs with full isolation
(Landlock, seccomp, rlimits, bubblewrap when installed); the baseline runs with none.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rewardkit.params import build_params
from rewardkit.rewards.code import CodeParams, score_batch
from rewardkit.rewards.code.sandbox import probe
from rewardkit.types import Sample

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "code" / "HumanEval.jsonl"
PYTHON = os.path.realpath(sys.executable)  # a pyenv shim would cost ~130 ms per start


def load(path: Path) -> tuple[list[dict[str, str]], list[str], list[str]]:
    rows = [json.loads(line) for line in path.open()]
    good = [r["prompt"] + r["canonical_solution"] for r in rows]
    bad = [r["prompt"] + "    return None\n" for r in rows]
    return rows, good, bad


def plain_one(program: str, row: dict[str, str], workdir: str) -> bool:
    fd, path = tempfile.mkstemp(suffix=".py", dir=workdir)
    with os.fdopen(fd, "w") as f:
        f.write(f"{program}\n\n{row['test']}\n\ncheck({row['entry_point']})\n")
    try:
        return subprocess.run([PYTHON, path], capture_output=True, timeout=10).returncode == 0
    except subprocess.TimeoutExpired:
        return False
    finally:
        os.unlink(path)


def plain(programs: list[str], rows: list[dict[str, str]], threads: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as workdir, ThreadPoolExecutor(threads) as pool:
        start = time.perf_counter()
        passed = sum(pool.map(lambda pr: plain_one(pr[0], pr[1], workdir), zip(programs, rows, strict=True)))
        return time.perf_counter() - start, passed


def reward(programs: list[str], rows: list[dict[str, str]], slots: int) -> tuple[float, int, str]:
    params = build_params("code", CodeParams, {"slots": slots})
    samples = [Sample(f"```python\n{p}\n```", columns=r) for p, r in zip(programs, rows, strict=True)]
    score_batch(samples[:slots], params)  # start the fork servers (reported separately below)
    start = time.perf_counter()
    scores = score_batch(samples, params)
    elapsed = time.perf_counter() - start
    errors = [s for s in scores if s.value is None]
    if errors:
        raise SystemExit(f"sandbox errors: {errors[0].reason}")
    return elapsed, sum(s.value == 1.0 for s in scores), str(scores[0].details.get("isolation"))


def startup(slots: int) -> float:
    from rewardkit.rewards.code.sandbox.client import LocalExecutor

    start = time.perf_counter()
    executor = LocalExecutor(slots)
    for slot in executor.slots:
        slot.start()
    elapsed = time.perf_counter() - start
    executor.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--slots", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    rows, good, bad = load(args.data)
    n = len(rows)
    print(f"{n} HumanEval programs, python {PYTHON}, {os.cpu_count()} CPUs")
    print(f"isolation available: {probe.probe().level(True)}; fork server start: {startup(args.slots):.3f} s")
    header = f"{'side':<22}{'at once':>8}{'pass good':>11}{'pass bad':>10}{'seconds':>9}{'prog/s':>9}"
    print(header + f"{'ratio':>7}")
    for width in sorted({1, args.slots}):
        t_plain, ok_plain = plain(good, rows, width)
        t_bad_plain, bad_plain = plain(bad, rows, width)
        t_rew, ok_rew, isolation = reward(good, rows, width)
        t_bad_rew, bad_rew, _ = reward(bad, rows, width)
        base = 2 * n / (t_plain + t_bad_plain)
        ours = 2 * n / (t_rew + t_bad_rew)
        print(f"{'plain subprocess.run':<22}{width:>8}{ok_plain:>11}{bad_plain:>10}"
              f"{t_plain + t_bad_plain:>9.2f}{base:>9.1f}{1.0:>7.2f}")  # fmt: skip
        print(f"{'code reward':<22}{width:>8}{ok_rew:>11}{bad_rew:>10}"
              f"{t_rew + t_bad_rew:>9.2f}{ours:>9.1f}{ours / base:>7.2f}")  # fmt: skip
        print(f"  (code reward isolation: {isolation}; plain subprocess: none)")
        if (ok_plain, bad_plain, ok_rew, bad_rew) != (n, 0, n, 0):
            raise SystemExit("wrong verdicts: every canonical solution must pass, every `return None` fail")


if __name__ == "__main__":
    main()
