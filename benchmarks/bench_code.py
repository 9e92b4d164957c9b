"""The `code` reward through `rewardkit score` vs a plain `subprocess.run([python, file])` per program.

    python benchmarks/bench_code.py [--workers N] [--calls K]

Programs (about 940): the 164 HumanEval problems (tests/data/code, openai/human-eval, MIT) in HumanEval
format with three bodies each: the canonical solution (must pass), ``return None`` and ``raise`` (must
fail); the same problems as MBPP-format rows (each one-line ``assert candidate(...)`` of ``check()``
rewritten as an assert on the entry point, plus the test's imports as setup code) with the same three
bodies; and the vendored MBPP sample (google-research mbpp, CC-BY-4.0) with its references and ``None``.

Both sides grade every program with N at once: the baseline writes program + tests to a file and runs it
(exit status 0 = pass) from N threads, with no isolation at all; the reward side is the CLI
(``rewardkit score rows.jsonl -c code.yaml -j N``: start-up, fork servers, JSONL in and out included),
with full isolation and split-process grading (the tests in a judge process, the program in another,
plain data between them). Verdicts must agree with the baseline's on every program.

Then the cost of the split itself, on one fork server: a stdin/stdout run vs a call-based run with no
call, and the cost of one test call (a test making K calls, minus one making none).

Measured 2026-12-01 on a 2-core VM (-j 2, one fork server per worker). Other jobs shared the machine, so
plain's seconds moved 37-88 s from sitting to sitting: compare runs of one sitting. Last sitting, A/B
alternating, same tree but for the sandbox (before: 8f0af83; after: this state):
    plain s / rewardkit s / ratio, before: 36.84/8.92/4.13, 42.92/9.15/4.69, 42.58/9.13/4.66
                                   after:  42.40/8.36/5.07, 39.68/9.47/4.19, 40.74/9.02/4.52
i.e. the whole-CLI figure did not move beyond the noise (~4.5x; 4x in every run of that sitting, not
5x): the per-run savings below are real on one fork server but small against the rest of a row's cost.
Then on a quiet machine (nothing else running; 3 runs): 44.36/9.60/4.62, 45.28/8.93/5.07, 41.80/8.58/4.87,
split cost: stdin/stdout run 4.1-4.9 ms, call-based run 7.1-8.3 ms, one test call 96-110 us (the first
run of the day, before these changes: 48.18/11.67/4.13; 7.52 ms, 11.39 ms, 129 us). Of ~9 s, about 1 s
is fixed: the CLI's import (~0.45 s, a third of it building dataclasses and compiling regexes), worker and
fork-server start-up, and shutdown.
Where a run went (per-stage timers and page-fault counts in the fork server and in both children; perf
on the whole bench): 2/3 of the CPU is the kernel, and most of that is memory: copy-on-write faults as a
fork first writes the server's pages (~17%), tearing the fork's address space down at exit (~12%), the
fork's copy of the page tables (~7%). Before -> after, one call-based run: page faults 1202 -> 990-1030
(server + judge + candidate); a child's CPU before its first line 1.1 -> 0.45 ms (230 -> 107 faults:
the server no longer runs site-packages' .pth files, which loaded threading and ~80 modules); the
candidate's move into the pids cgroup 0.4-3.6 ms -> 0 (the server is in it, forks are born there);
replacing the std streams 53 -> 15 faults; the seccomp install 58 -> 34 faults; and the compiler's state
(AST node types) built once in the server, not in every fork that compiles a program or tests (a
server loaded from __pycache__ never compiled anything: +250 faults, +3-4 ms a run). Still there, per child:
fork ~0.8 ms in the server, lock-down ~1 ms (seccomp ~0.3 ms of it, mostly the kernel compiling the
filter), exit 1.2-1.9 ms; per test call ~90-130 us. A judge kept across runs would save a whole fork, but
is not safe (see the sandbox package's docstring).
"""

from __future__ import annotations

import argparse
import ast
import builtins
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rewardkit.rewards.code.executor import Limits, Run  # noqa: E402
from rewardkit.rewards.code.sandbox import probe  # noqa: E402
from rewardkit.rewards.code.sandbox.client import LocalExecutor  # noqa: E402

DATA = ROOT / "tests" / "data" / "code"
PYTHON = os.path.realpath(sys.executable)  # a pyenv shim would cost ~130 ms per start
BODIES = {"canonical": None, "none": "    return None\n", "raise": "    raise NotImplementedError\n"}
Item = tuple[str, str, dict[str, Any], str, bool]  # (kind, program, row, plain-side file, must pass)


class _Rename(ast.NodeTransformer):
    def __init__(self, name: str) -> None:
        self.name = name

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return ast.Name(self.name, node.ctx) if node.id == "candidate" else node


def _defined(program: str) -> set[str]:
    tree = ast.parse(program)
    names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    return names | {(a.asname or a.name).split(".")[0] for n in tree.body
                    if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}  # fmt: skip


def mbpp_from_humaneval(row: dict[str, Any]) -> dict[str, Any] | None:
    """The one-line asserts of ``check()`` as an MBPP row, or None when none stands on its own."""
    tree = ast.parse(row["test"])
    check = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check")
    imports = [n for n in [*tree.body, *check.body] if isinstance(n, (ast.Import, ast.ImportFrom))]
    known = set(dir(builtins)) | {"candidate"} | _defined(row["prompt"])
    known |= {(a.asname or a.name).split(".")[0] for n in imports for a in n.names}
    tests = []
    for node in check.body:
        used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        if isinstance(node, ast.Assert) and "candidate" in used and used <= known:
            tests.append(ast.unparse(_Rename(row["entry_point"]).visit(node)))
    if not tests:
        return None
    return {"task_id": row["task_id"], "test_list": tests, "test_setup_code": "\n".join(map(ast.unparse, imports))}


def items() -> Iterator[Item]:
    rows = [json.loads(line) for line in (DATA / "HumanEval.jsonl").open()]
    for kind, body in BODIES.items():
        for row in rows:
            program = row["prompt"] + (body or row["canonical_solution"])
            plain = f"{program}\n\n{row['test']}\n\ncheck({row['entry_point']})\n"
            yield f"humaneval/{kind}", program, row, plain, body is None
            mbpp = mbpp_from_humaneval(row)
            if mbpp is not None:
                plain = f"{program}\n\n{mbpp['test_setup_code']}\n" + "\n".join(mbpp["test_list"]) + "\n"
                yield f"mbpp-from-humaneval/{kind}", program, mbpp, plain, body is None
    for line in (DATA / "mbpp_sample.jsonl").open():
        row = json.loads(line)
        for program, good in ((row["code"], True), ("def _():\n    return None\n", False)):
            plain = f"{program}\n\n{row['test_setup_code']}\n" + "\n".join(row["test_list"]) + "\n"
            yield f"mbpp/{'reference' if good else 'none'}", program, row, plain, good


def plain_one(source: str, workdir: str) -> bool:
    fd, path = tempfile.mkstemp(suffix=".py", dir=workdir)
    with os.fdopen(fd, "w") as f:
        f.write(source)
    try:
        return subprocess.run([PYTHON, path], capture_output=True, timeout=30).returncode == 0
    except subprocess.TimeoutExpired:
        return False
    finally:
        os.unlink(path)


def plain(all_items: list[Item], threads: int) -> tuple[float, list[bool]]:
    with tempfile.TemporaryDirectory() as workdir, ThreadPoolExecutor(threads) as pool:
        start = time.perf_counter()
        verdicts = list(pool.map(lambda it: plain_one(it[3], workdir), all_items))
        return time.perf_counter() - start, verdicts


def reward(all_items: list[Item], workers: int) -> tuple[float, list[float | None], str]:
    with tempfile.TemporaryDirectory() as tmp:
        src, out, config = Path(tmp, "rows.jsonl"), Path(tmp, "out.jsonl"), Path(tmp, "code.yaml")
        config.write_text("rewards:\n  - name: code\n    params: {slots: 1}\n")
        with src.open("w") as f:
            for _, program, row, _, _ in all_items:
                f.write(json.dumps({**row, "completion": f"```python\n{program}\n```"}) + "\n")
        cmd = [PYTHON, "-c", "from rewardkit.cli import main; main()", "score", str(src), "-c", str(config),
               "-j", str(workers), "-o", str(out), "--details", "--no-progress"]  # fmt: skip
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        elapsed = time.perf_counter() - start
        if not out.exists():
            raise SystemExit(f"rewardkit score failed ({done.returncode}): {done.stderr[-2000:]}")
        scored = [json.loads(line) for line in out.open()]
    values = [s["rewards"]["code"] for s in scored]
    isolation = str(scored[0]["reward_details"]["code"]["details"].get("isolation"))
    return elapsed, values, isolation


def _per_run(executor: LocalExecutor, run: Run, n: int) -> float:
    executor.run_one(run)
    start = time.perf_counter()
    for _ in range(n):
        outcome = executor.run_one(run)
        assert outcome.verified and not outcome.infra_error, outcome
    return (time.perf_counter() - start) / n


def split_cost(calls: int, n: int = 20) -> dict[str, float]:
    executor = LocalExecutor(1)
    code, lim = "def f(x):\n    return x", Limits(cpu_s=10)
    try:
        stdio = _per_run(executor, Run(code="print(1)", mode="stdio", limits=lim), n)
        none = _per_run(executor, Run(code=code, mode="script", tests=("pass",), limits=lim), n)
        many = _per_run(executor, Run(code=code, mode="script", tests=(f"for i in range({calls}): assert f(i) == i",),
                                      limits=lim), n)  # fmt: skip
    finally:
        executor.close()
    return {"stdio_ms": 1e3 * stdio, "split_ms": 1e3 * none, "per_call_us": 1e6 * (many - none) / calls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    all_items = list(items())
    n = len(all_items)
    print(f"{n} programs, python {PYTHON}, {os.cpu_count()} CPUs, {args.workers} at once")
    print(f"isolation available: {probe.probe().level(True)}")
    t_plain, ok_plain = plain(all_items, args.workers)
    t_rew, values, isolation = reward(all_items, args.workers)
    ok_rew = [v == 1.0 for v in values]
    print(f"{'side':<24}{'programs':>9}{'passed':>8}{'seconds':>9}{'prog/s':>9}{'ratio':>7}")
    print(f"{'plain subprocess.run':<24}{n:>9}{sum(ok_plain):>8}{t_plain:>9.2f}{n / t_plain:>9.1f}{1.0:>7.2f}")
    print(f"{'rewardkit score (code)':<24}{n:>9}{sum(ok_rew):>8}{t_rew:>9.2f}{n / t_rew:>9.1f}{t_plain / t_rew:>7.2f}")
    print(f"  code reward isolation: {isolation}; plain subprocess: none")
    by_kind: dict[str, list[int]] = {}
    for (kind, *_), got, base in zip(all_items, ok_rew, ok_plain, strict=True):
        tally = by_kind.setdefault(kind, [0, 0, 0])
        tally[0] += 1
        tally[1] += got
        tally[2] += got != base
    for kind, (total, passed, disagree) in sorted(by_kind.items()):
        print(f"  {kind:<32} {passed:>4} of {total:>4} pass   {disagree} disagree with plain")
    cost = split_cost(args.calls)
    print(f"split cost on one fork server: stdin/stdout run {cost['stdio_ms']:.2f} ms, call-based run (judge + "
          f"program) {cost['split_ms']:.2f} ms, one test call {cost['per_call_us']:.1f} us")
    wrong = [k for (k, *_, want), got in zip(all_items, ok_rew, strict=True) if got != want]
    if wrong or any(v is None for v in values):
        raise SystemExit(f"wrong verdicts: {len(wrong)} ({sorted(set(wrong))}); nulls: {values.count(None)}")


if __name__ == "__main__":
    main()
