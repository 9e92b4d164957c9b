"""Several HTTP front-end processes on one listening socket: ``rewardkit serve --frontends N``.

Why: trainers that send one sample per request at high concurrency (OpenRLHF, 256 in flight) make the
server's cost per request, not per sample: HTTP parsing, JSON, building samples and replies, handing work
to the lanes. One Python process does all of that on one core (the GIL), so at 256 requests in flight on
a small machine the front end, not scoring, sets the latency. N front ends share the work of N cores.

How: the parent reserves the port (so ``--port 0`` means one port for all), forks N children before any
thread exists, and each child listens on that port with SO_REUSEPORT and runs the ordinary aiohttp
application with its own `RewardService` (``workers // N`` worker processes each, at least one). The
kernel spreads new connections over the children. The parent only supervises: it forwards SIGTERM/SIGINT
so every child finishes its requests in flight, and if one child dies on its own it stops the others and
exits non-zero (a half-dead server must be restarted loudly, not limp on).

What is per child, and why that is fine: the error budget is a sliding window over the samples that child
scored, so an outage (which hits every child) trips each of them; ``/health`` counters are the child's
own, and say which child answered (``frontend``, ``frontends``).
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..config import CompositionConfig
    from .app import ServerSettings

log = logging.getLogger("rewardkit.server")

#: Pending connections the kernel queues per listening socket: a trainer opening 256 at once must not be refused.
BACKLOG = 2048


def workers_per_frontend(workers: int, frontends: int) -> int:
    """Each child's worker processes: the total shared out, at least one unless scoring is in-process (0)."""
    return 0 if workers == 0 else max(1, workers // frontends)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def reserve_port(host: str, port: int) -> socket.socket:
    """A bound, not listening, SO_REUSEPORT socket: it fixes the port (``--port 0`` too) for the children's
    own listening sockets, and takes no connections itself (the kernel balances over listening ones only).

    SO_REUSEPORT is set only after the bind. Set before it, the bind succeeds on a port that another
    server of the same user holds with SO_REUSEPORT (a stale `serve --frontends`, or the port ``--port 0``
    happens to draw), and the two servers silently share the connections. SO_REUSEADDR, as every listening
    socket here has, still lets a restarted server bind over connections left in TIME_WAIT.
    """
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    except OSError as exc:
        sock.close()
        raise cannot_listen(host, port, exc) from None
    return sock


def listening_socket(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    """A listening socket, bound here so that a taken port is one clear line, not a traceback.

    ``reuse_port``: one per front end, not one shared. With a shared socket the first child to wake accepts a
    whole burst of connections (asyncio accepts up to the backlog per wake-up), and with keep-alive that
    imbalance lasts; SO_REUSEPORT has the kernel spread connections over the children by their addresses.
    """
    try:
        return socket.create_server((host, port), family=_family(host), backlog=BACKLOG, reuse_port=reuse_port)
    except OSError as exc:
        raise cannot_listen(host, port, exc) from None


def cannot_listen(host: str, port: int, exc: OSError) -> ConfigError:
    return ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port (or --host), "
                       "or stop the process that holds it")  # fmt: skip


def serve_frontends(
    config: CompositionConfig, host: str, port: int, workers: int, frontends: int,
    settings: ServerSettings, shutdown_timeout: float, print_fn: Callable[[str], None],
) -> int:  # fmt: skip
    """Run ``frontends`` children on one socket until a signal; the exit status to leave with."""
    if "fork" not in multiprocessing.get_all_start_methods() or not hasattr(socket, "SO_REUSEPORT"):
        raise ConfigError(f"--frontends {frontends} needs fork and SO_REUSEPORT (Linux, BSD, macOS); "
                          f"on {sys.platform} use --frontends 1")
    if threading.active_count() > 1:  # fork copies one thread: a lock held by another would never be released
        raise ConfigError("--frontends > 1 must start before any thread; call it from the command line")
    reserved = reserve_port(host, port)
    bound = reserved.getsockname()[1]
    share = workers_per_frontend(workers, frontends)
    print_fn(f"======== Running on http://{host}:{bound} ({frontends} front ends x {share} workers) ========")
    ctx = multiprocessing.get_context("fork")
    children = [
        ctx.Process(target=_child, name=f"rewardkit-frontend-{i}",
                    args=(config, host, bound, share, settings, shutdown_timeout, i, frontends))
        for i in range(frontends)
    ]  # fmt: skip
    try:
        for child in children:
            child.start()
        return _supervise(children, shutdown_timeout)
    finally:
        reserved.close()


def _supervise(children: list[Any], shutdown_timeout: float) -> int:
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()
        for child in children:
            if child.is_alive() and child.pid is not None:
                os.kill(child.pid, signal.SIGTERM)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    status = 0
    try:
        alive = list(children)
        while alive:
            multiprocessing.connection.wait([c.sentinel for c in alive])
            for child in [c for c in alive if not c.is_alive()]:
                alive.remove(child)
                if not stopping.is_set():
                    log.error("%s exited on its own (exit code %s); stopping the others", child.name, child.exitcode)
                    status = 1
                    stop(signal.SIGTERM, None)
        return status
    finally:
        for child in children:
            child.join(shutdown_timeout + 10)
            if child.is_alive():
                child.kill()
                child.join()
        for s, handler in previous.items():
            signal.signal(s, handler)


def _child(
    config: CompositionConfig, host: str, port: int, workers: int, settings: ServerSettings,
    shutdown_timeout: float, index: int, frontends: int,
) -> None:  # fmt: skip
    from .app import FRONTEND, create_app, run, tune_interpreter

    # The parent's handlers were copied by fork; the child's own come from aiohttp's runner (`app.run`).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    tune_interpreter()
    sock = listening_socket(host, port, reuse_port=True)
    app = create_app(config, workers, settings)
    app[FRONTEND] = (index, frontends)
    run(app, sock, shutdown_timeout)
