"""The `math` reward against math-verify 0.9.0, side by side in one process, pinned to one core.

    python benchmarks/bench_math.py [--grpo-golds 100] [--cold]

Workloads (all labels come from the data, never from a test file):

- ``unit pairs``: tests/data/math/regression.jsonl, 366 short labelled pairs (Math-Verify, lighteval, hendrycks,
  NeMo-Skills, open-r1, TRL tests); accuracy on the source labels, and on the source labels with the rows
  that the data itself records as mislabelled (``mislabel``, with a reason) replaced.
- ``gsm8k``: the 5,276 GPT-3 GSM8K solutions (OpenAI's is_correct labels), whole solutions as completions.
- ``math long``: MATH-style long solutions (no MATH data ships with the project, so they are built from
  templates: paragraphs of LaTeX reasoning with inline and display math, ending in one of the usual
  closings) for the unit-pair golds, half with the gold and half with a wrong answer (the gold with one
  digit changed); plus ``real long``, the regression rows whose completion is a real model solution.
- ``grpo gsm8k``: per problem, its 4 real model solutions in 4 closings (GSM8K ``A:``, ``<think>`` + box,
  "The answer is", ``####``): 16 completions per gold, right and wrong as the models wrote them.
- ``grpo math``: 16 templated long solutions per gold, right and wrong mixed.

math-verify runs as ``verify(parse(gold), parse(pred))`` with a bare gold wrapped in ``\\boxed{}`` (its best
setting) and its signal timeouts off. Our helper processes are started before timing, and both parsers are
warmed on the same generic shapes (`helper.WARMUP`; ANTLR builds its tables on first use). Our caches are
cleared before each workload; within one, they work as they do in training.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import time
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "math"
Pairs = list[tuple[str, str]]


def load(name: str) -> list[dict[str, Any]]:
    opener = gzip.open if name.endswith(".gz") else open
    with opener(DATA / name, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def ours(pairs: Pairs) -> tuple[list[bool], int]:
    from rewardkit.rewards.math.compare import Limits, check

    verdicts = [check(g, p, Limits()) for g, p in pairs]
    return [bool(v.equivalent) for v in verdicts], sum(v.path == "symbolic" for v in verdicts)


def theirs(pairs: Pairs) -> tuple[list[bool], int]:
    from math_verify import parse, verify

    out = []
    for g, p in pairs:
        bare = not any(t in g for t in ("$", "\\boxed", "\\(", "\\[", "\\fbox"))
        try:
            gp = parse(f"\\boxed{{{g}}}" if bare else g, parsing_timeout=None)
            out.append(bool(verify(gp, parse(p, parsing_timeout=None), timeout_seconds=None)))
        except Exception:
            out.append(False)
    return out, len(pairs)


def _clear_caches() -> None:
    from rewardkit.rewards.math import answers, compare, numeric

    numeric.parse_number.cache_clear()
    numeric.unit.cache_clear()
    compare.prepare_gold.cache_clear()
    compare._check_answer.cache_clear()
    answers.parse_answer.cache_clear()


def _scores(res: list[bool], labels: list[bool]) -> str:
    acc = sum(x == y for x, y in zip(res, labels, strict=True)) / len(labels)
    fp = sum(x and not y for x, y in zip(res, labels, strict=True))
    return f"accuracy {acc:6.1%}  false positives {fp:3d}"


def report(name: str, pairs: Pairs, labels: list[bool], adjudicated: list[bool] | None = None) -> float:
    """Print both sides' accuracy, false positives and pairs/s; return the speed ratio."""
    times: dict[str, float] = {}
    for who, fn in (("rewardkit", ours), ("math-verify", theirs)):
        _clear_caches()
        start = time.perf_counter()
        res, symbolic = fn(pairs)
        times[who] = took = time.perf_counter() - start
        line = f"{name:11} {who:11} {_scores(res, labels)}  {len(pairs) / took:8.1f} pairs/s"
        if adjudicated is not None:
            line += f"  | with documented mislabels: {_scores(res, adjudicated)}"
        if who == "rewardkit":
            line += f"  | sympy reached {symbolic}/{len(pairs)}"
        print(line, flush=True)
    ratio = times["math-verify"] / times["rewardkit"]
    print(f"{name:11} speed ratio rewardkit / math-verify: {ratio:.1f}x  ({len(pairs)} pairs)", flush=True)
    return ratio


# -- MATH-style long solutions (templates) -------------------------------------------------------------

_PARAGRAPHS = [
    "We begin by writing the condition in terms of $x$. Let $f(x) = ax^2 + bx + c$, so that "
    "$f(1) = a + b + c$ and $f(-1) = a - b + c$. Subtracting these two equations gives "
    "$2b = f(1) - f(-1)$, hence $b = \\frac{f(1) - f(-1)}{2}$.",
    "Note that \\[ (x+1)^2 = x^2 + 2x + 1, \\] so completing the square turns the expression into "
    "$\\left(x + \\frac{b}{2a}\\right)^2 - \\frac{b^2 - 4ac}{4a^2}$, which is minimized when $x = -\\frac{b}{2a}$.",
    "Since $\\gcd(12, 18) = 6$ and $\\operatorname{lcm}(12, 18) = 36$, the product of the two numbers is "
    "$6 \\cdot 36 = 216 = 12 \\cdot 18$, as expected. We will use this identity below.",
    "By the Pythagorean theorem, $AB^2 = AC^2 + BC^2 = 3^2 + 4^2 = 25$, so $AB = 5$. The area of the triangle is "
    "therefore $\\frac{1}{2} \\cdot 3 \\cdot 4 = 6$, and its inradius is $r = \\frac{6}{(3 + 4 + 5)/2} = 1$.",
    "Consider the sum \\[ \\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}. \\] Applying it with $n = 10$ gives $55$, and "
    "the sum of the squares is $\\sum_{k=1}^{10} k^2 = \\frac{10 \\cdot 11 \\cdot 21}{6} = 385$.",
    "There are $\\binom{5}{2} = 10$ ways to choose the pair, and each choice is equally likely, so the probability "
    "of any particular pair is $\\frac{1}{10}$. Multiplying by the $3$ favourable pairs gives $\\frac{3}{10}$.",
    "Let $\\theta$ be the angle at $O$. Then $\\cos \\theta = \\frac{\\vec{u} \\cdot \\vec{v}}{|\\vec{u}| |\\vec{v}|}"
    " = \\frac{1}{2}$, so $\\theta = 60^\\circ$, and the arc it subtends has length $\\frac{\\pi r}{3}$.",
    "We can factor: \\begin{align*} x^3 - 1 &= (x - 1)(x^2 + x + 1), \\\\ x^3 + 1 &= (x + 1)(x^2 - x + 1). "
    "\\end{align*} The quadratic factors have negative discriminant, so the only real roots are $x = \\pm 1$.",
    "Working modulo $7$, we have $3^1 \\equiv 3$, $3^2 \\equiv 2$, $3^3 \\equiv 6$, $3^6 \\equiv 1$, so the powers "
    "of $3$ repeat with period $6$, and $3^{100} = 3^{96} \\cdot 3^4 \\equiv 3^4 \\equiv 4 \\pmod 7$.",
    "Substituting $y = 2x - 1$ into the second equation gives $x^2 + (2x - 1)^2 = 10$, that is "
    "$5x^2 - 4x - 9 = 0$, whose roots are $x = \\frac{4 \\pm \\sqrt{16 + 180}}{10} = \\frac{4 \\pm 14}{10}$.",
]
_CLOSINGS = [
    "Therefore, the answer is $\\boxed{{{a}}}$.",
    "Final Answer: The final answer is ${a}$. I hope it is correct.",
    "Putting everything together, we obtain \\[ \\boxed{{{a}}}. \\]",
    "So the answer is $\\boxed{{{a}}}$.",
    "Thus the value we are looking for is $\\boxed{{{a}}}$.",
]


def _wrong(gold: str) -> str | None:
    """The gold with its first digit changed: a different value for every gold of the pool."""
    m = re.search(r"\d", gold)
    return None if m is None else gold[: m.start()] + str((int(m.group(0)) + 1) % 10) + gold[m.end() :]


def math_long(golds: list[str], per_gold: int, rng: random.Random) -> tuple[Pairs, list[bool]]:
    pairs, labels = [], []
    for gold in golds:
        wrong = _wrong(gold)
        for j in range(per_gold):
            right = wrong is None or j % 2 == 0
            body = " ".join(rng.sample(_PARAGRAPHS, rng.randint(3, 7)))
            pairs.append((gold, body + "\n\n" + rng.choice(_CLOSINGS).format(a=gold if right else wrong)))
            labels.append(right)
    return pairs, labels


def math_golds(rows: list[dict[str, Any]]) -> list[str]:
    """Short bare golds of the unit pairs that both readers accept written as is (no '$', no prose)."""
    seen: dict[str, None] = {}
    for r in rows:
        g = r["gold"]
        if r["equivalent"] and len(g) <= 40 and "$" not in g and "\\boxed" not in g and re.search(r"\d", g):
            seen.setdefault(g, None)
    return list(seen)


# -- GRPO on GSM8K: 16 completions per gold from its 4 real solutions --------------------------------

def grpo_gsm8k(rows: list[dict[str, Any]], n_golds: int) -> tuple[Pairs, list[bool]]:
    by_gold: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_gold.setdefault(r["source"].split("#line")[1].split(":")[0], []).append(r)
    pairs, labels = [], []
    for problem in list(by_gold.values())[:n_golds]:
        for r in problem:
            body, _, _ = r["pred"].rpartition("\nA:")
            ans = r["pred_answer"]
            for closing in (f"{body}\nA: {ans}", f"<think>\n{body}\n</think>\nThe answer is $\\boxed{{{ans}}}$.",
                            f"{body}\nThe answer is {ans}.", f"{body}\n#### {ans}"):
                pairs.append((r["gold"], closing))
                labels.append(bool(r["equivalent"]))
    return pairs, labels


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--grpo-golds", type=int, default=100)
    ap.add_argument("--cold", action="store_true", help="skip the parser warm-up on both sides")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, helpers included
    from rewardkit.rewards.math.budget import warm_up
    from rewardkit.rewards.math.compare import Limits, check
    from rewardkit.rewards.math.helper import WARMUP

    check("\\sin^2 x", "\\boxed{1-\\cos^2 x}", Limits())  # start the helper (sympy) before timing
    theirs([("1", "1")])
    if not args.cold:
        # Both sides start warm: our helper parses WARMUP as it does when idle; math-verify parses the
        # same strings here, which builds the same ANTLR tables in-process.
        warm_up()
        theirs([(w, w) for w in WARMUP])
    reg = load("regression.jsonl")
    gsm = load("gsm8k_model_solutions.jsonl.gz")
    rng = random.Random(0)
    adjudicated = [bool(r["mislabel"]["verdict"]) if r.get("mislabel") else bool(r["equivalent"]) for r in reg]
    ratios: dict[str, float] = {}
    ratios["unit pairs"] = report("unit pairs", [(r["gold"], r["pred"]) for r in reg],
                                  [bool(r["equivalent"]) for r in reg], adjudicated)
    ratios["gsm8k"] = report("gsm8k", [(r["gold"], r["pred"]) for r in gsm], [bool(r["equivalent"]) for r in gsm])
    golds = math_golds(reg)
    ratios["math long"] = report("math long", *math_long(golds, 2, rng))
    long_rows = [(i, r) for i, r in enumerate(reg) if len(r["pred"]) > 300]
    ratios["real long"] = report("real long", [(r["gold"], r["pred"]) for _, r in long_rows],
                                 [bool(r["equivalent"]) for _, r in long_rows], [adjudicated[i] for i, _ in long_rows])
    ratios["grpo gsm8k"] = report("grpo gsm8k", *grpo_gsm8k(gsm, args.grpo_golds))
    ratios["grpo math"] = report("grpo math", *math_long(golds[: args.grpo_golds // 2], 16, rng))
    print("speed ratios: " + ", ".join(f"{k} {v:.1f}x" for k, v in ratios.items()))



if __name__ == "__main__":
    main()
