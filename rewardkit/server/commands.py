"""The ``rewardkit serve`` command, added to the CLI through the public ``register_commands`` hook."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from ..config import load_config, read_config_file
from ..errors import ConfigError
from ..hookspecs import hookimpl
from ..runner import default_workers


@click.command()
@click.option("--config", "-c", "config_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML file with a 'rewards:' list (the same file `rewardkit score` takes).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 to accept other machines.")
@click.option("--port", "-p", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--workers", "-j", type=click.IntRange(min=0), default=None,
              help="Worker processes (default: the config's 'workers:', else the number of cores; "
                   "0 scores in one thread without time budgets).")
@click.option("--frontends", type=click.IntRange(min=1), default=1, show_default=True,
              help="HTTP front-end processes sharing the port, each with --workers/N worker processes. At high "
                   "concurrency with one sample per request (OpenRLHF), set it to the number of cores.")
@click.option("--max-body-mb", type=click.FloatRange(min=0.001), default=64.0, show_default=True,
              help="Largest request body; bigger requests get 413.")
@click.option("--max-inflight-mb", type=click.FloatRange(min=0.001), default=256.0, show_default=True,
              help="Most request-body memory held at once over all requests; beyond it 503 with Retry-After.")
@click.option("--max-samples", type=click.IntRange(min=1), default=16384, show_default=True,
              help="Most samples in one request; more get 413.")
@click.option("--null-reward", type=float, default=0.0, show_default=True,
              help="Reward sent to OpenRLHF for a sample whose total is masked (an infrastructure failure) or whose "
                   "row cannot be scored; extra_logs['rewardkit/masked'] and ['rewardkit/invalid'] mark them.")
@click.option("--shutdown-timeout", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Seconds requests in flight get to finish after SIGTERM/SIGINT.")
def serve(config_path: Path, host: str, port: int, workers: int | None, frontends: int, max_body_mb: float,
          max_inflight_mb: float, max_samples: int, null_reward: float, shutdown_timeout: float) -> None:
    """Serve the configured rewards over HTTP (OpenRLHF's /get_reward, /score, /health, /rewards)."""
    try:
        from .app import ServerSettings
        from .app import serve as run_server
    except ImportError as exc:
        raise ConfigError(
            f"the reward server needs aiohttp ({exc}); install it with: pip install 'rewardkit[serve]'"
        ) from None
    config = load_config(config_path)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if workers is None:  # the config file's own 'workers:' (0 included) before the machine's cores
        workers = config.workers if "workers" in read_config_file(config_path) else default_workers()
    settings = ServerSettings(max_body_mb, max_samples, null_reward, max_inflight_mb)
    click.echo(f"rewardkit serve: {config.name!r} with {workers} workers on http://{host}:{port}", err=True)
    status = run_server(config, host, port, workers, settings, shutdown_timeout,
                        print_fn=lambda line: click.echo(line, err=True), frontends=frontends)  # fmt: skip
    if status:
        raise SystemExit(status)


@hookimpl
def register_commands(cli: Any) -> None:
    cli.add_command(serve)
