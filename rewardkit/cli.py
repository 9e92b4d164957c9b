"""The ``rewardkit`` command: parse arguments, call the library, print. Plugins add commands via a hook."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import registry
from .config import CompositionConfig, config_from_options, read_config_file
from .errors import ConfigError, RewardkitError
from .io import AtomicWriter, RowError, peek_columns
from .params import describe_params
from .plugins import get_plugin_manager, plugin_distribution
from .report import write_report
from .rows import require_columns
from .runner import default_workers
from .scorefile import FileReport, score_file
from .stats import TOTAL

err = Console(stderr=True, highlight=False, soft_wrap=True)
MAX_REPORTED_ERRORS = 1000


class _Group(click.Group):
    """Turns rewardkit's own errors into a one-line message and exit status 2, instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RewardkitError as exc:
            err.print(f"[bold red]Error:[/] {escape(str(exc))}", markup=True, highlight=False)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="rewardkit")
def cli() -> None:
    """Verifiable rewards for RL on language models: score files, list and describe rewards."""


@cli.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--config", "-c", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML file with a 'rewards:' list.")
@click.option("--reward", "-r", "reward_args", multiple=True, metavar="NAME[:WEIGHT]",
              help="Add a term (repeatable), e.g. -r think_format:0.2.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write scored lines here (atomically). Default: stdout.")
@click.option("--workers", "-j", type=click.IntRange(min=0), default=None,
              help="Worker processes (default: number of cores; 0 scores in-process without time budgets).")
@click.option("--details/--no-details", default=False, help="Add reward_details (status, reason, details).")
@click.option("--reference-column", default=None, help="Column holding the gold answer (default: answer).")
@click.option("--chunk-lines", type=click.IntRange(min=1), default=None,
              help="Lines per chunk sent to a worker (default: adapted so a chunk takes ~50 ms).")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when a terminal).")
@click.option("--rejects", type=click.Path(dir_okay=False, path_type=Path),
              help="Write invalid lines here as JSONL {line, error, raw}, to fix and score again.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a report (FILE.html or FILE.md): per-term histograms, failure rates, slowest rows, "
                   "examples per outcome.")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Where workers run: this machine, or a Ray cluster (pip install 'rewardkit[ray]').")
@click.option("--ray-address", default=None, help="Ray cluster address (default: start or join a local one).")
def score(source: Path, config_path: Path | None, reward_args: tuple[str, ...], output: Path | None,
          workers: int | None, details: bool, reference_column: str | None, chunk_lines: int | None,
          progress: bool | None, rejects: Path | None, report_path: Path | None, engine: str,
          ray_address: str | None) -> None:
    """Score every line of SOURCE (JSONL with a 'completion' field) and write it back with its rewards."""
    config = config_from_options(config_path, reward_args, reference_column)
    if engine == "ray" and workers == 0:
        raise ConfigError("--engine ray needs -j N >= 1 (worker processes per Ray actor); -j 0 means in-process "
                          "scoring, which only --engine local does")
    if workers is None and config_path is not None and "workers" in read_config_file(config_path):
        workers = config.workers  # the config file's own 'workers:' key, unless -j overrides it
    require_columns(config, peek_columns(source), f"{source}", "--reference-column")
    reported = 0

    reject_file = AtomicWriter(rejects) if rejects else None

    def on_error(error: RowError) -> None:
        nonlocal reported
        reported += 1
        if reported <= MAX_REPORTED_ERRORS:
            err.print(f"{source}:{error.line}: {error.message}", markup=False)
        if reject_file is not None:
            raw = error.raw.decode("utf-8", errors="replace").rstrip("\r\n")
            reject_file.write(json.dumps({"line": error.line, "error": error.message, "raw": raw}) + "\n")

    # SIGTERM unwinds like Ctrl-C, so the temporary output file is removed and the old output stays.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    show = err.is_terminal if progress is None else progress
    with reject_file or contextlib.nullcontext(), _progress_bar(source, show) as advance:
        if engine == "ray":
            from .engines.ray import score_file_ray

            report = score_file_ray(config, source, output, details=details, chunk_lines=chunk_lines or 256,
                                    on_error=on_error, on_progress=advance, address=ray_address,
                                    workers_per_actor=workers or None)
        else:
            workers = default_workers() if workers is None else workers
            report = score_file(config, source, output, workers, details, chunk_lines, on_error, advance,
                                report=report_path is not None)
    if reported > MAX_REPORTED_ERRORS:
        err.print(f"... and {reported - MAX_REPORTED_ERRORS} more invalid lines", markup=False)
    _print_summary(report, output)
    if report_path is not None:
        if report.report is None:
            err.print("--report is not available with --engine ray; score locally for a report", markup=False)
        else:
            write_report(report.report, report_path, str(source))
            err.print(f"report -> {report_path}", markup=False)
    failed = _over_budget(config, report)
    if report.stats.rows == 0 and report.invalid == 0:
        err.print(f"{source}: no rows to score (the file is empty or blank). Each line must be a JSON object "
                  'with a "completion" field.', markup=False)
        failed = True
    if report.invalid or failed:
        sys.exit(1)


class _progress_bar:
    def __init__(self, source: Path, show: bool) -> None:
        self.show = show
        self.progress = Progress(
            TextColumn("scoring"), BarColumn(), DownloadColumn(), TimeElapsedColumn(), console=err, transient=True
        )
        self.task = self.progress.add_task("score", total=source.stat().st_size)

    def __enter__(self) -> Any:
        if not self.show:
            return lambda n: None
        self.progress.start()
        return lambda n: self.progress.advance(self.task, n)

    def __exit__(self, *exc: object) -> None:
        if self.show:
            self.progress.stop()


def _print_summary(report: FileReport, output: Path | None) -> None:
    table = Table(title="rewardkit score", title_justify="left")
    for column in ("term", "mean", "count", "nulls", "errors", "bugs", "timeouts", "n/a"):
        table.add_column(column, justify="left" if column == "term" else "right")
    for path, ts, part in report.stats.in_order():  # a part (a term's sub-score) has no failures of its own
        mean = "-" if ts.mean is None else f"{ts.mean:.4f}"
        counts = ("", "", "", "", "") if part else (ts.nulls, ts.errors, ts.bugs, ts.timeouts, ts.not_applicable)
        table.add_row(escape(f"  {path}" if part else path), mean, str(ts.count), *map(str, counts),
                      style="bold" if path == TOTAL else "dim" if part else None)
    err.print(table)
    where = f" -> {output}" if output else ""
    err.print(
        f"{report.stats.rows} lines scored, {report.invalid} invalid, in {report.seconds:.2f} s "
        f"({report.lines_per_second:,.0f} lines/s){where}", markup=False,
    )


def _over_budget(config: CompositionConfig, report: FileReport) -> bool:
    over = False
    for path in report.stats.terms:
        rate = report.stats.error_rate(path)
        if rate > config.max_error_rate:
            err.print(f"[bold red]Error:[/] {rate:.0%} of {escape(repr(path))} scores failed (errors, bugs, timeouts) "
                      f"(max_error_rate {config.max_error_rate:.0%}); see --details for the reasons.")
            over = True
    return over


@cli.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_rewards(as_json: bool) -> None:
    """List installed rewards and the plugin each comes from."""
    specs = sorted(registry.rewards().values(), key=lambda s: s.name)
    if as_json:
        click.echo(json.dumps([{"name": s.name, "plugin": s.plugin, "description": s.description}
                               for s in specs], indent=2))
        return
    table = Table()
    for column in ("reward", "plugin", "description"):
        table.add_column(column)
    for s in specs:
        table.add_row(s.name, s.plugin, s.description.splitlines()[0] if s.description else "")
    Console().print(table)


@cli.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def describe(name: str, as_json: bool) -> None:
    """Show a reward's description, plugin, output range, needed columns and parameters."""
    spec = registry.get(name)
    lo, hi = spec.output_range(spec.params())
    info = {
        "name": spec.name, "plugin": spec.plugin, "distribution": plugin_distribution(spec.plugin),
        "description": spec.description, "range": [lo, hi],
        "columns": list(spec.columns), "reads": spec.reads, "needs_reference": spec.needs_reference,
        "timeout_s": spec.timeout_s,
        "params": [p.__dict__ for p in describe_params(spec.params)],
    }
    if as_json:
        click.echo(json.dumps(info, indent=2, default=str))
        return
    out = Console(highlight=False, soft_wrap=True)
    out.print(f"[bold]{spec.name}[/]  (plugin {spec.plugin}; {info['distribution']})")
    out.print(spec.description, markup=False)
    wanted = ["reference answer"] * spec.needs_reference + list(spec.columns) + [spec.reads] * bool(spec.reads)
    needs = ", ".join(wanted) or "nothing"
    out.print(f"range: [{lo}, {hi}]    needs: {needs}    time budget: {spec.timeout_s:g} s", markup=False)
    table = Table(title="parameters", title_justify="left")
    for column in ("name", "type", "default", "description"):
        table.add_column(column)
    for p in describe_params(spec.params):
        bounds = " ".join(f"{k} {v}" for k, v in p.bounds.items())
        table.add_row(p.name, p.type, repr(p.default), p.help + (f" ({bounds})" if bounds else ""))
    out.print(table)


@cli.command()
def plugins() -> None:
    """List loaded plugins and the packages they come from."""
    pm = get_plugin_manager()
    for name, _plugin in sorted(pm.list_name_plugin()):
        click.echo(f"{name}\t{plugin_distribution(name)}")


def _load_plugin_commands() -> None:
    try:
        get_plugin_manager().hook.register_commands(cli=cli)
    except RewardkitError as exc:  # a broken plugin must not take `rewardkit --help` down with it
        err.print(f"[bold red]Error:[/] {exc}")


_load_plugin_commands()


def main() -> None:
    cli()
