"""The aiohttp application: routes, JSON errors, bounded request memory, graceful shutdown.

aiohttp is imported by the server's modules only (here, `fastpath`, `routes_extra`), and those only when
the server is used (the ``serve`` extra). Handlers never score on the event loop: `RewardService` hands the
samples to the core's `Scorer`. `run` serves the app with OpenRLHF's plain requests taken by `fastpath`.

Memory: a body is read only after its size is known to fit both ``--max-body-mb`` (else 413) and what is
left of ``--max-inflight-mb`` over every request being read, parsed or scored (else 503 with
``Retry-After``); a body of unknown length reserves the whole per-request limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..config import CompositionConfig
from ..integrations import openrlhf
from ..runner import settle_heap
from .fastpath import KEEPALIVE_S, FastSite, FastStats
from .frontends import BACKLOG
from .protocol import (
    Inflight,
    ServerSettings,
    admit,
    decode_json,
    describe_config,
    openrlhf_entries,
    parse_score,
    refusal,
    score_response,
)
from .routes_extra import add_extra_routes
from .service import RewardService

__all__ = ["ServerSettings", "create_app", "serve"]


SERVICE = web.AppKey("service", RewardService)
SETTINGS = web.AppKey("settings", ServerSettings)
INFLIGHT = web.AppKey("inflight", Inflight)
STARTED = web.AppKey("started", float)
FAST_STATS = web.AppKey("fast_stats", FastStats)
#: (this front end's index, how many there are): see `rewardkit.server.frontends`.
FRONTEND = web.AppKey("frontend", tuple)
_RESERVED = web.RequestKey("reserved", int)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=json.dumps(data, ensure_ascii=False), status=status, headers=headers,
                        content_type="application/json")  # fmt: skip


def _error(status: int, message: str, retry_after: float | None = None) -> web.Response:
    headers = None if retry_after is None else {"Retry-After": f"{retry_after:g}"}
    return _json({"error": message, "status": status}, status, headers)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure is a JSON ``{"error": ...}``; a request's fault never takes the server down."""
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge as exc:
        limit = request.app[SETTINGS].max_body_bytes
        return _error(exc.status, f"the request body is larger than this server's limit of {limit} bytes; "
                      "send smaller batches or start the server with a higher --max-body-mb")  # fmt: skip
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error(exc.status, f"{exc.reason}: {request.method} {request.path}")
    except Exception as exc:
        refused = refusal(exc, f"{request.method} {request.path}")
        return _error(refused.status, str(refused), refused.retry_after)
    finally:
        request.app[INFLIGHT].used -= request.get(_RESERVED, 0)


async def _body(request: web.Request) -> Any:
    """The request's JSON document, read only once its size fits the server's memory bounds."""
    request[_RESERVED] = admit(request.app[SETTINGS], request.app[INFLIGHT], request.content_length)
    return decode_json(await request.read())


async def get_reward(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    entries = openrlhf_entries(await _body(request), service.config.reference_column, request.app[SETTINGS])
    results = await service.score(openrlhf.samples_of(entries))
    return _json(service.replies.reply(entries, results))


async def score(request: web.Request) -> web.Response:
    settings, service = request.app[SETTINGS], request.app[SERVICE]
    samples, details = parse_score(await _body(request), service.config.reference_column, settings.max_samples)
    results = await service.score(samples)
    return _json(score_response(results, details))


async def health(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    return _json({
        "status": "ok", "name": service.config.name, "workers": service.workers, "queued": service.pending,
        "served_requests": service.served_requests, "served_samples": service.served_samples,
        "inflight_bytes": request.app[INFLIGHT].used, "uptime_s": round(time.monotonic() - request.app[STARTED], 3),
        "frontend": request.app[FRONTEND][0], "frontends": request.app[FRONTEND][1],
        "event_loop": "uvloop" if type(asyncio.get_running_loop()).__module__.startswith("uvloop") else "asyncio",
        "fast_path": request.app[FAST_STATS].to_json(),
    })  # fmt: skip


async def rewards(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    return _json(describe_config(service.config, service.workers))


def create_app(config: CompositionConfig, workers: int, settings: ServerSettings | None = None) -> web.Application:
    """The reward server as an aiohttp application (start it with `serve` or ``aiohttp.web.run_app``)."""
    settings = settings or ServerSettings()
    app = web.Application(middlewares=[json_errors], client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[INFLIGHT] = Inflight(settings.max_inflight_bytes)
    app[STARTED] = time.monotonic()
    app[FAST_STATS] = FastStats()
    app[FRONTEND] = (0, 1)

    async def start_service(app: web.Application) -> None:
        app[SERVICE] = RewardService(config, workers, settings.null_reward)

    async def stop_service(app: web.Application) -> None:
        # In a thread: closing waits for the work in flight, and the loop must stay responsive meanwhile.
        await asyncio.get_running_loop().run_in_executor(None, app[SERVICE].close)

    app.on_startup.append(start_service)
    app.on_cleanup.append(stop_service)
    app.router.add_post("/get_reward", get_reward)
    app.router.add_post("/score", score)
    app.router.add_get("/health", health)
    app.router.add_get("/rewards", rewards)
    add_extra_routes(app, _body, SERVICE, SETTINGS)  # NeMo-Gym /verify, slime /slime and /slime/scalar
    return app


#: The server process's GIL switch interval (Python's default: 5 ms). Lane threads wake on every batch a
#: worker returns (pipe reads, unpickling, waking the loop), and each wake-up waits for the event-loop
#: thread to let go of the GIL: up to the whole interval. At one sample per request that queueing, not
#: scoring, set the latency tail; 1 ms keeps the hand-offs short. Set only in `serve`: the process is ours.
SWITCH_INTERVAL_S = 0.001
#: ``asyncio`` keeps the standard event loop even where uvloop is installed.
EVENT_LOOP_ENV = "REWARDKIT_EVENT_LOOP"


def tune_interpreter() -> None:
    """The server process's interpreter settings: the GIL switch interval, and uvloop as the event loop where
    it is installed (the `serve` extra installs it) unless ``REWARDKIT_EVENT_LOOP=asyncio``. uvloop's socket
    and transport layer is written in C; asyncio's costs a front end a large share of its CPU at thousands of
    one-sample requests a second (benchmarks/bench_server.py measures both)."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    if os.environ.get(EVENT_LOOP_ENV, "").strip().lower() == "asyncio":
        return
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def serve(config: CompositionConfig, host: str, port: int, workers: int,
          settings: ServerSettings | None = None, shutdown_timeout: float = 60.0,
          print_fn: Callable[[str], None] = print, frontends: int = 1) -> int:  # fmt: skip
    """Run until SIGINT/SIGTERM; then stop accepting, let requests in flight finish, stop the workers.

    ``frontends`` > 1: that many HTTP processes share the socket (`rewardkit.server.frontends`). Returns the
    exit status (non-zero when a front end died on its own).
    """
    settings = settings or ServerSettings()
    if frontends > 1:
        from .frontends import serve_frontends

        return serve_frontends(config, host, port, workers, frontends, settings, shutdown_timeout, print_fn)
    from .frontends import listening_socket

    sock = listening_socket(host, port)
    tune_interpreter()
    app = create_app(config, workers, settings)
    print_fn(f"======== Running on http://{host}:{sock.getsockname()[1]} ========")
    run(app, sock, shutdown_timeout)
    return 0


#: ``off`` serves every request through aiohttp, without the plain-HTTP path (`rewardkit.server.fastpath`).
FAST_PATH_ENV = "REWARDKIT_FAST_PATH"


def run(app: web.Application, sock: socket.socket, shutdown_timeout: float) -> None:
    """Serve ``app`` on the listening ``sock`` until SIGINT/SIGTERM, as ``aiohttp.web.run_app`` does (the same
    runner, signal handling and graceful shutdown), with OpenRLHF's plain requests taken by `FastSite`."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    main = loop.create_task(_serve_app(app, sock, shutdown_timeout))
    try:
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        if not main.done():
            main.cancel()  # runs the runner's cleanup: stop accepting, finish requests in flight, stop workers
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(main)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _serve_app(app: web.Application, sock: socket.socket, shutdown_timeout: float) -> None:
    runner = web.AppRunner(app, handle_signals=True, access_log=None, shutdown_timeout=shutdown_timeout,
                           keepalive_timeout=KEEPALIVE_S)  # fmt: skip
    await runner.setup()
    try:
        fast = os.environ.get(FAST_PATH_ENV, "").strip().lower() not in ("off", "0", "no", "false")
        # The backlog again: create_server listens anew, with aiohttp's 128 unless told (256 trainers connecting
        # at once overflowed it, and a dropped SYN costs its request a 1 s retransmit).
        site = (FastSite(runner, sock, shutdown_timeout, backlog=BACKLOG) if fast
                else web.SockSite(runner, sock, backlog=BACKLOG))  # fmt: skip
        await site.start()
        settle_heap()
        await asyncio.Event().wait()  # until a signal raises GracefulExit
    finally:
        await runner.cleanup()
