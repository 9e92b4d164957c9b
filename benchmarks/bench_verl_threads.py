"""verl's calling pattern: compute_score once per sample from 1, 2 and 4 threads, on math that needs sympy.

verl 0.9.1's reward managers call ``compute_score`` from executor threads, one sample per call. Pure-Python
verification holds the GIL, so extra threads add nothing; rewardkit scores in worker processes (one lane
per core), so throughput should grow with threads up to the cores. The peer is math-verify called the
same way (``parse`` + ``verify``, timeouts off: its ``signal.alarm`` timeouts fail off the main thread).

Pairs are symbolic golds (``\\frac{\\sqrt{k}}{m}``, ``a\\sqrt{b}``, ``\\frac{x^2-a^2}{x-a}``, ``x^3+6x^2+12x+8``,
...) against model answers written another way (``\\sqrt{k}/m``, ``\\sqrt{a^2 b}``, ``x+a``, ``(x+2)^3``, ...),
every one distinct so no cache helps, one in eight wrong.

    python benchmarks/bench_verl_threads.py [--samples 300] [--repeats 5] [--workers N]
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Sequence

Pair = tuple[str, str, bool]  # gold, model answer, equivalent
THREADS = (1, 2, 4)
NON_SQUARES = [x for x in range(2, 400) if int(x**0.5) ** 2 != x]


def pairs(n: int, seed: int = 0) -> list[Pair]:
    rng = random.Random(seed)
    out: list[Pair] = []
    seen: set[tuple[str, str]] = set()
    while len(out) < n:
        k = rng.choice(NON_SQUARES)
        m, a = rng.randint(2, 60), rng.randint(2, 999)  # wide: families of one parameter need many values
        family = len(out) % 8
        if family == 0:
            pair = (f"\\frac{{\\sqrt{{{k}}}}}{{{m}}}", f"\\sqrt{{{k}}}/{m}", True)
        elif family == 1:
            pair = (f"\\frac{{\\sqrt{{{k}}}}}{{{m}}}", f"\\frac{{{k}}}{{{m}\\sqrt{{{k}}}}}", True)
        elif family == 2:
            pair = (f"{a % 30 + 2}\\sqrt{{{k}}}", f"\\sqrt{{{(a % 30 + 2) ** 2 * k}}}", True)
        elif family == 3:
            pair = (f"\\frac{{x^2-{a * a}}}{{x-{a}}}", f"x+{a}", True)
        elif family == 4:
            pair = (f"\\frac{{1}}{{x+{a}}}+\\frac{{1}}{{x-{a}}}", f"\\frac{{2x}}{{x^2-{a * a}}}", True)
        elif family == 5:
            pair = (f"x^3+{3 * a}x^2+{3 * a * a}x+{a**3}", f"(x+{a})^3", True)
        elif family == 6:
            pair = (f"\\sqrt{{{k}}}-1", f"\\frac{{{k - 1}}}{{\\sqrt{{{k}}}+1}}", True)
        else:
            pair = (f"\\frac{{\\sqrt{{{k}}}}}{{{m}}}", f"\\frac{{\\sqrt{{{k + 1}}}}}{{{m}}}", False)
        if (pair[0], pair[1]) not in seen:
            seen.add((pair[0], pair[1]))
            out.append(pair)
    return out


def solution(answer: str) -> str:
    return f"Simplifying step by step, we get $\\boxed{{{answer}}}$."


def throughput(score: Callable[[Pair], bool], work: Sequence[Pair], threads: int) -> tuple[float, int]:
    """Samples per second with ``threads`` threads sharing ``work``; and how many verdicts were right."""
    right = [0] * threads

    def run(t: int) -> None:
        for pair in work[t::threads]:
            right[t] += score(pair) == pair[2]

    pool = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    start = time.perf_counter()
    for p in pool:
        p.start()
    for p in pool:
        p.join()
    return len(work) / (time.perf_counter() - start), sum(right)


def rewardkit_scorer(workers: int | None) -> Callable[[Pair], bool]:
    from rewardkit.integrations.verl import compute_score

    def score(pair: Pair) -> bool:
        result = compute_score(data_source="lighteval/MATH", solution_str=solution(pair[1]), ground_truth=pair[0],
                               extra_info={}, workers=workers)  # fmt: skip
        return isinstance(result, dict) and result["acc"] == 1.0

    return score


def math_verify_scorer() -> Callable[[Pair], bool]:
    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)  # it warns on every call with timeouts off

    def score(pair: Pair) -> bool:
        gold = parse(f"${pair[0]}$", parsing_timeout=None)  # type: ignore[arg-type]
        pred = parse(solution(pair[1]), parsing_timeout=None)  # type: ignore[arg-type]
        return bool(verify(gold, pred, timeout_seconds=None))

    return score


def measure(name: str, score: Callable[[Pair], bool], n: int, repeats: int) -> dict[int, tuple[float, float]]:
    """Best samples/s per thread count; thread counts interleaved so a burst of load elsewhere hits all."""
    score(pairs(1, seed=99)[0])  # start worker processes, import sympy
    best = {threads: (0.0, 0.0) for threads in THREADS}
    for r in range(repeats):
        for threads in THREADS:
            work = pairs(n, seed=1000 * threads + r)  # fresh pairs every run: nothing cached
            rate, right = throughput(score, work, threads)
            if rate > best[threads][0]:
                best[threads] = (rate, right / n)
    for threads, (rate, accuracy) in best.items():
        print(f"  {name:12} {threads} thread(s): {rate:8.1f} samples/s   accuracy {accuracy:.3f}", flush=True)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=300, help="calls per measurement")
    parser.add_argument("--repeats", type=int, default=5, help="runs per thread count; the best is kept")
    parser.add_argument("--workers", type=int, default=None, help="rewardkit worker processes (default: cores)")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"compute_score from threads, {args.samples} sympy pairs per run, best of {args.repeats}, {cores} cores")
    ours = measure("rewardkit", rewardkit_scorer(args.workers), args.samples, args.repeats)
    inline = measure("in-process", rewardkit_scorer(0), args.samples, args.repeats)  # workers=0: GIL-bound
    peer = measure("math-verify", math_verify_scorer(), max(10, args.samples // 8), 2)  # ~40/s: keep it short
    columns = {"rewardkit": ours, "workers=0": inline, "math-verify": peer}
    print("\n threads | " + " | ".join(f"{name + '/s':>14} {'x 1':>5}" for name in columns))
    for threads in THREADS:
        print(f"{threads:>8} | " + " | ".join(f"{c[threads][0]:14.1f} {c[threads][0] / c[1][0]:5.2f}"
                                           for c in columns.values()))  # fmt: skip
    ratio = ours[2][0] / ours[1][0]
    print(f"\nrewardkit 2 threads / 1 thread: {ratio:.2f} (target >= 1.7: {'met' if ratio >= 1.7 else 'NOT met'})")


if __name__ == "__main__":
    main()
