"""The ``rewardkit audit`` and ``rewardkit check`` commands, added to the CLI through the plugin hook.

    rewardkit audit [--config FILE] [--format table|json] [--exploits FILE]... [--no-builtin] [--fail-on fp|fn|any]
    rewardkit audit --function module:attr [--shape trl|verl|pair] [--family math]... [--gold-column COL]
    rewardkit check DATA.jsonl (--config FILE | -r NAME...) [--format table|json] [--limit N] [--reference-column COL]

Exit status: 0 when everything held (audit) or nothing is wrong (check); 1 when the audit finds what
``--fail-on`` names (``fp``: an exploit rewarded; ``fn``: a correct answer rejected; ``any``, the default:
either), a score could not be computed, nothing was audited, or the dataset has problems; 2 for usage and
config errors (the group prints them).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..config import CompositionConfig, config_from_options, load_config, parse_config
from ..hookspecs import hookimpl
from .check import RewardCheck, check_dataset, iter_problem_lines, read_rows
from .corpus import FAMILIES, builtin_paths, load_corpus
from .foreign import SHAPES, aimed_rows, audit_function, prepare, probe
from .runner import AuditReport, run_audit

#: Audited when no --config is given: every built-in reward at its defaults, but the judge, which
#: needs a server and a model (give them in a config to audit it).
DEFAULT_REWARDS = ("think_format", "tag_count", "math", "code", "length", "cosine_length", "soft_overlong",
                   "repetition")  # fmt: skip
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def default_config() -> CompositionConfig:
    return parse_config({"name": "audit-defaults", "rewards": list(DEFAULT_REWARDS)})


@click.command()
@click.option("--config", "-c", "config_path", type=_FILE,
              help="YAML config whose rewards are audited (default: the built-in rewards, judge excepted).")
@click.option("--function", "-f", "target", metavar="MODULE:ATTR",
              help="Audit this reward function instead of a config (TRL, verl or f(completion, reference)).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--exploits", "-e", "exploit_files", type=_FILE, multiple=True,
              help="Extra exploit file (JSONL, the corpus's format); repeatable.")
@click.option("--builtin/--no-builtin", default=True, show_default=True, help="Include the shipped corpus.")
@click.option("--fail-on", type=click.Choice(["fp", "fn", "any"]), default="any", show_default=True,
              help="Exit 1 on exploits rewarded (fp), correct answers rejected (fn), or either (any).")
@click.option("--shape", type=click.Choice(SHAPES), default=None, help="--function's shape (default: detected).")
@click.option("--family", "families", type=click.Choice(FAMILIES), multiple=True,
              help="--function: corpus families to run (default: math); repeatable.")
@click.option("--gold-column", default="answer", show_default=True,
              help="--function (TRL shape): the column the gold is passed in (also every required parameter).")
@click.option("--completions", type=click.Choice(["auto", "chat", "text"]), default="auto", show_default=True,
              help="--function (TRL shape): completions as chat messages or text.")
@click.option("--range", "bounds", type=(float, float), default=(0.0, 1.0), show_default=True,
              help="--function: its output range (exploits may earn the low end, correct answers must earn the top).")
@click.option("--like", default=None, help="--function: the built-in reward it stands for (e.g. repetition), "
              "for rows aimed at that reward and their per-reward thresholds.")
@click.option("--data-source", default=None, help="--function (verl shape): data_source for rows without one.")
@click.option("--gold-template", default="{gold}", show_default=True,
              help="--function: how the gold is written for it, e.g. '$\\boxed{{gold}}$' for LaTeX solutions.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="--function: seconds one call may take before it is killed and counted as an error.")
def audit(config_path: Path | None, target: str | None, fmt: str, exploit_files: tuple[Path, ...], builtin: bool,
          fail_on: str, shape: str | None, families: tuple[str, ...], gold_column: str, completions: str,
          bounds: tuple[float, float], like: str | None, data_source: str | None, gold_template: str,
          timeout_s: float) -> None:
    """Score a corpus of reward hacks and correct answers with each configured reward (or one function);
    fail when an exploit is rewarded or a correct answer rejected (see --fail-on)."""
    if target and config_path:
        raise click.UsageError("give --config or --function, not both")
    corpus = load_corpus([*(builtin_paths() if builtin else []), *exploit_files])
    if target:
        ff = prepare(target, shape, completions, gold_column, data_source, gold_template)
        rows = aimed_rows(corpus, families or ("math",), like)
        report = audit_function(probe(ff, rows, completions, timeout_s), rows, bounds, like, timeout_s)
    else:
        report = run_audit(load_config(config_path) if config_path else default_config(), corpus)
    if fmt == "json":
        click.echo(json.dumps([f.to_json() for f in report.findings], indent=2, ensure_ascii=False))
    else:
        _print_audit(report)
    _audit_summary(report, config_path is None and not target, fail_on)
    if report.failed_on(fail_on) or not report.findings:
        sys.exit(1)


def _print_audit(report: AuditReport) -> None:
    table = Table(title="rewardkit audit", title_justify="left")
    for column in ("exploit", "reward", "score", "ceiling", "result", "reason"):
        table.add_column(column, justify="right" if column in ("score", "ceiling") else "left")
    styles = {"held": "green", "accepted": "green", "not_applicable": "dim", "rewarded": "bold red",
              "rejected": "bold red", "error": "yellow"}  # fmt: skip
    for f in report.findings:
        score = "null" if f.score is None else f"{f.score:.3g}"
        ceiling = "-" if f.ceiling is None else f"{f.ceiling:.3g}"
        table.add_row(f.exploit, f.reward, score, ceiling, f"[{styles[f.outcome]}]{f.outcome}[/]",
                      escape(f.reason[:80]))  # fmt: skip
    Console(highlight=False, width=max(Console().width, 140)).print(table)


def _audit_summary(report: AuditReport, defaults: bool, fail_on: str = "any") -> None:
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    counts: dict[str, int] = {}
    for f in report.findings:
        counts[f.outcome] = counts.get(f.outcome, 0) + 1
    parts = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    err.print(f"{report.exploits_run} exploits, {len(report.findings)} checks: {parts or 'none'}", markup=False)
    for kind, label, bad in (("exploit", "false positives", "rewarded"),
                             ("equivalence", "false negatives", "rejected")):
        rate = report.rate(kind)
        if rate is not None:
            n = sum(f.kind == kind and f.outcome != "not_applicable" for f in report.findings)
            err.print(f"{label}: {rate:.1%} ({sum(f.kind == kind and f.outcome == bad for f in report.findings)} "
                      f"of {n} {kind} checks {bad})", markup=False)  # fmt: skip
    for family, n in sorted(report.skipped.items()):
        hint = " (add a judge term with base_url and model to --config)" if family == "judge" else ""
        err.print(f"not run: {n} {family} exploit(s), no configured reward of that family{hint}", markup=False)
    if not report.findings:
        err.print("Error: no exploit is aimed at any configured reward; nothing was audited", markup=False)
    for f in report.failed_on(fail_on):
        bound = "floor" if f.kind == "equivalence" else "ceiling"
        err.print(f"{f.outcome.upper()}: {f.exploit} earned {f.score} from {f.reward} ({bound} {f.ceiling}): "
                  f"{f.reason}", markup=False)  # fmt: skip
    if defaults:
        err.print("(audited the built-in rewards at their defaults; pass --config to audit yours)", markup=False)


@click.command()
@click.argument("data", type=_FILE)
@click.option("--config", "-c", "config_path", type=_FILE, default=None, help="YAML config to check against.")
@click.option("--reward", "-r", "reward_args", multiple=True, metavar="NAME[:WEIGHT]",
              help="Add a term (repeatable), as in 'rewardkit score'.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Check only the first N rows.")
@click.option("--reference-column", "--gold-column", "gold_column", default=None,
              help="Column with the gold, as in 'rewardkit score' (default: the config's reference_column; code "
                   "also tries canonical_solution, solution, code, solutions).")  # fmt: skip
def check(data: Path, config_path: Path | None, reward_args: tuple[str, ...], fmt: str, limit: int | None,
          gold_column: str | None) -> None:
    """Preflight DATA.jsonl: golds parse and score the maximum, wrong answers the minimum, columns exist."""
    config = config_from_options(config_path, reward_args, gold_column)
    rows, bad = read_rows(data, limit)
    results = check_dataset(config, rows)
    if fmt == "json":
        out: dict[str, Any] = {"rows": len(rows), "invalid_lines": [{"line": n, "detail": d} for n, d in bad],
                               "rewards": [r.to_json() for r in results]}  # fmt: skip
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        _print_check(data, len(rows), bad, results)
    if bad or not all(r.ok for r in results):
        sys.exit(1)


def _print_check(data: Path, n_rows: int, bad: list[tuple[int, str]], results: list[RewardCheck]) -> None:
    out = Console(highlight=False, soft_wrap=True)
    out.print(f"[bold]rewardkit check[/] {escape(str(data))}: {n_rows} rows")
    for line, detail in bad[:10]:
        out.print(f"  [red]line {line}[/]: {escape(detail)}")
    for r in results:
        mark = "[green]ok[/]" if r.ok else "[bold red]problems[/]"
        out.print(f"{escape(r.reward)} ({escape(r.reward_name)}): {mark}")
        if r.grader:
            rate = f"{r.gold_parsed}/{r.with_gold} ({r.gold_parsed / r.with_gold:.1%})" if r.with_gold else "no golds"
            verb = "gold parses" if r.reads_gold else "reference runs (applies)"
            out.print(f"  {verb} {rate}; gold scores max {r.gold_max}/{r.gold_parsed}; "
                      f"wrong answer scores min {r.wrong_min}/{r.wrong_checked}")  # fmt: skip
        for problem in iter_problem_lines(r):
            out.print(f"  [red]{escape(problem)}[/]")


@hookimpl
def register_commands(cli: Any) -> None:
    cli.add_command(audit)
    cli.add_command(check)
