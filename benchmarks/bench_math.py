"""The `math` reward against math-verify 0.9.0, side by side in one process, on one core.

    python benchmarks/bench_math.py [--grpo-golds 40] [--cold]

Regression set: shared/data/math/regression.jsonl (labels as given by their sources). GRPO workload: each
gold against 16 completions with repeated answers (right, wrong, rephrased). math-verify runs as
``verify(parse(gold), parse(pred))`` with a bare gold wrapped in ``\\boxed{}`` (its best setting) and its
signal timeouts off. Our helper process is started before timing and both parsers are warmed on the same
generic shapes (`helper.WARMUP`: ANTLR builds its tables on first use); the helper's CPU is included.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "math" / "regression.jsonl"


def ours(pairs: list[tuple[str, str]]) -> list[bool]:
    from rewardkit.rewards.math.compare import Limits, check

    return [bool(check(g, p, Limits()).equivalent) for g, p in pairs]


def theirs(pairs: list[tuple[str, str]]) -> list[bool]:
    from math_verify import parse, verify

    out = []
    for g, p in pairs:
        bare = not any(t in g for t in ("$", "\\boxed", "\\(", "\\[", "\\fbox"))
        try:
            gp = parse(f"\\boxed{{{g}}}" if bare else g, parsing_timeout=None)
            out.append(bool(verify(gp, parse(p, parsing_timeout=None), timeout_seconds=None)))
        except Exception:
            out.append(False)
    return out


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(
    fn: Callable[[list[tuple[str, str]]], list[bool]], pairs: list[tuple[str, str]]
) -> tuple[list[bool], float]:
    start = time.perf_counter()
    result = fn(pairs)
    return result, time.perf_counter() - start


def report(name: str, pairs: list[tuple[str, str]], labels: list[bool], adjudicated: list[bool] | None = None) -> None:
    a, ta = timed(ours, pairs)
    b, tb = timed(theirs, pairs)
    for who, res, t in (("rewardkit", a, ta), ("math-verify", b, tb)):
        acc = sum(x == y for x, y in zip(res, labels, strict=True)) / len(labels)
        fp = sum(x and not y for x, y in zip(res, labels, strict=True))
        rate = len(pairs) / t
        line = f"{name:12} {who:12} accuracy {acc:6.1%}  false positives {fp:3d}  {rate:8.1f} pairs/s"
        if adjudicated is not None:
            acc2 = sum(x == y for x, y in zip(res, adjudicated, strict=True)) / len(adjudicated)
            fp2 = sum(x and not y for x, y in zip(res, adjudicated, strict=True))
            line += f"  | adjudicated labels: accuracy {acc2:6.1%}, false positives {fp2}"
        print(line)
    print(f"{name:12} speed ratio rewardkit / math-verify: {tb / ta:.1f}x")


def adjudicated_labels(rows: list[dict[str, Any]]) -> list[bool]:
    """The source labels with the overrides argued row by row in tests/rewards/math/test_regression.py."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.rewards.math.test_regression import OVERRIDES

    return [OVERRIDES[i][0] if i in OVERRIDES else bool(r["equivalent"]) for i, r in enumerate(rows)]


def grpo(rows: list[dict[str, object]], n_golds: int) -> tuple[list[tuple[str, str]], list[bool]]:
    rng = random.Random(0)
    golds = ["72", "\\frac{3}{4}", "10", "3\\sqrt{13}", "\\frac{14}{3}", "2-2p", "(6,31,-1)", "90^\\circ",
             "0.25", "1,000", "\\pi", "17", "12", "5\\%", "x^2+1", "\\frac{9}{4}\\pi"]
    pairs, labels = [], []
    for i in range(n_golds):
        gold = golds[i % len(golds)]
        wrong = "\\boxed{7}" if gold != "7" else "\\boxed{8}"
        for j in range(16):
            kind = rng.choice(["right", "right", "phrase", "wrong"])
            text = f"Step {j}: some reasoning here. " * 5
            if kind == "right":
                pairs.append((gold, text + f"So the answer is \\boxed{{{gold}}}."))
            elif kind == "phrase":
                pairs.append((gold, text + f"The final answer is ${gold}$."))
            else:
                pairs.append((gold, text + wrong))
            labels.append(kind != "wrong")
    return pairs, labels


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--grpo-golds", type=int, default=40)
    ap.add_argument("--cold", action="store_true", help="skip the parser warm-up on both sides")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    from rewardkit.rewards.math.budget import warm_up
    from rewardkit.rewards.math.compare import Limits, check
    from rewardkit.rewards.math.helper import WARMUP

    check("\\sin^2 x", "\\boxed{1-\\cos^2 x}", Limits())  # start the helper (sympy) before timing
    theirs([("1", "1")])
    if not args.cold:
        # Both sides start warm: our helper parses WARMUP (generic shapes) as it does when idle;
        # math-verify parses the same strings here, which builds the same ANTLR tables in-process.
        warm_up()
        theirs([(w, w) for w in WARMUP])
    rows = [json.loads(line) for line in DATA.read_text().splitlines()]
    report("regression", [(r["gold"], r["pred"]) for r in rows], [r["equivalent"] for r in rows],
           adjudicated_labels(rows))
    pairs, labels = grpo(rows, args.grpo_golds)
    report("grpo x16", pairs, labels)


if __name__ == "__main__":
    main()
