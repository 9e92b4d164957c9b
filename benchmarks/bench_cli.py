"""Throughput and memory of `rewardkit score` on format + length rewards, beside a hand-written peer script.

    python benchmarks/bench_cli.py [--lines 200000] [--workers N]

The peer is what people write without rewardkit: one process, json.loads per line, open-r1's format regex and
a length score, json.dumps per line. Peak memory is the sum of RSS over rewardkit's whole process tree (the
parent and its workers), sampled every 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """rewards:
  - name: think_format
    weight: 1.0
  - name: tag_count
    weight: 0.5
  - name: length
    weight: 0.2
    params: {target: 800, unit: chars}
"""


def make_input(path: Path, lines: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    words = "so we add the two numbers then check the result carefully because it matters".split()
    with path.open("w") as f:
        for i in range(lines):
            reasoning = " ".join(rng.choice(words) for _ in range(rng.randint(10, 250)))
            answer = str(rng.randint(0, 999))
            shape = rng.random()
            if shape < 0.6:
                completion = f"<think>\n{reasoning}\n</think>\n<answer>\n{answer}\n</answer>"
            elif shape < 0.8:
                completion = f"{reasoning} The answer is {answer}."
            else:
                completion = f"<think>{reasoning}</think><answer>{answer}</answer><answer>{answer}</answer>"
            f.write(json.dumps({"id": i, "prompt": "What is 17 + 25?", "completion": completion, "answer": "42"}))
            f.write("\n")


def tree_rss_kb(root: int) -> int:
    """RSS of a process and all its descendants, in kB (from /proc; children found via task/*/children)."""
    total, stack = 0, [root]
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * page_kb
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
    return total


def run_rewardkit(source: Path, config: Path, out: Path, workers: int) -> tuple[float, int]:
    cmd = [sys.executable, "-m", "rewardkit", "score", str(source), "-c", str(config), "-o", str(out),
           "-j", str(workers), "--no-progress"]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss_kb(proc.pid))
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"rewardkit failed: {proc.stderr.read() if proc.stderr else ''}")
    return elapsed, peak


FORMAT = re.compile(r"^<think>\n.*?\n</think>\n<answer>\n.*?\n</answer>$", re.DOTALL)  # open-r1's format_reward


def run_peer(source: Path, out: Path) -> float:
    started = time.perf_counter()
    with source.open() as f, out.open("w") as g:
        for line in f:
            row = json.loads(line)
            text = row["completion"]
            fmt = 1.0 if FORMAT.match(text) else 0.0
            tags = sum(0.25 for t in ("<think>\n", "\n</think>\n", "\n<answer>\n", "\n</answer>") if text.count(t) == 1)
            length = max(0.0, 1 - abs(len(text) - 800) / 800)
            row["rewards"] = {"format": fmt, "tag_count": tags, "length": length}
            row["reward"] = fmt + 0.5 * tags + 0.2 * length
            g.write(json.dumps(row) + "\n")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        source, config = d / "in.jsonl", d / "rewards.yaml"
        config.write_text(CONFIG)
        make_input(source, args.lines)
        size_mb = source.stat().st_size / 1e6
        print(f"input: {args.lines:,} lines, {size_mb:.0f} MB; rewards: think_format, tag_count, length")
        peer = run_peer(source, d / "peer.jsonl")
        print(f"peer (one process, json + regex) : {args.lines / peer:>9,.0f} lines/s  ({peer:.2f} s)")
        for workers in sorted({0, args.workers}):
            elapsed, peak_kb = run_rewardkit(source, config, d / "out.jsonl", workers)
            rate = args.lines / elapsed
            label = f"rewardkit score -j {workers}"
            print(f"{label:<33}: {rate:>9,.0f} lines/s  ({elapsed:.2f} s, incl. start-up), "
                  f"peak RSS {peak_kb / 1024:.0f} MB (process tree), {rate / (args.lines / peer):.2f}x peer")


if __name__ == "__main__":
    main()
