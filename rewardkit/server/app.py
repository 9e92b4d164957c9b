"""The aiohttp application: routes, JSON errors, bounded request memory, graceful shutdown.

aiohttp is imported here only, and this module only when the server is used (the ``serve`` extra).
Handlers never score on the event loop: `RewardService` hands the samples to the core's `Scorer`.

Memory: a body is read only after its size is known to fit both ``--max-body-mb`` (else 413) and what is
left of ``--max-inflight-mb`` over every request being read, parsed or scored (else 503 with
``Retry-After``); a body of unknown length reserves the whole per-request limit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ..config import CompositionConfig
from ..errors import ErrorBudgetExceeded, InputError, RewardkitError
from ..integrations import openrlhf
from .protocol import ProtocolError, check_size, decode_json, describe_config, parse_score, score_response
from .routes_extra import add_extra_routes
from .service import RewardService

log = logging.getLogger("rewardkit.server")


@dataclass(frozen=True)
class ServerSettings:
    """Limits and policies of one server; the defaults suit a trainer on the same network."""

    max_body_mb: float = 64.0
    max_samples: int = 16384
    null_reward: float = 0.0
    max_inflight_mb: float = 256.0

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 2**20)

    @property
    def max_inflight_bytes(self) -> int:
        return max(self.max_body_bytes, int(self.max_inflight_mb * 2**20))


class _Inflight:
    """Bytes of request bodies being read, parsed or scored (one event loop: no lock needed)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def reserve(self, size: int) -> bool:
        if self.used + size > self.limit:
            return False
        self.used += size
        return True


SERVICE = web.AppKey("service", RewardService)
SETTINGS = web.AppKey("settings", ServerSettings)
INFLIGHT = web.AppKey("inflight", _Inflight)
STARTED = web.AppKey("started", float)
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
    except ProtocolError as exc:
        return _error(exc.status, str(exc), exc.retry_after)
    except InputError as exc:
        return _error(400, str(exc))
    except web.HTTPRequestEntityTooLarge as exc:
        limit = request.app[SETTINGS].max_body_bytes
        return _error(exc.status, f"the request body is larger than this server's limit of {limit} bytes; "
                      "send smaller batches or start the server with a higher --max-body-mb")  # fmt: skip
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error(exc.status, f"{exc.reason}: {request.method} {request.path}")
    except ErrorBudgetExceeded as exc:
        log.error("%s", exc)
        return _error(503, str(exc))
    except RewardkitError as exc:
        log.error("%s %s failed: %s", request.method, request.path, exc)
        return _error(503, f"{type(exc).__name__}: {exc}", retry_after=1)
    except Exception as exc:
        log.exception("%s %s failed", request.method, request.path)
        return _error(500, f"internal error: {type(exc).__name__}: {exc}")
    finally:
        request.app[INFLIGHT].used -= request.get(_RESERVED, 0)


async def _body(request: web.Request) -> Any:
    """The request's JSON document, read only once its size fits the server's memory bounds."""
    settings, inflight = request.app[SETTINGS], request.app[INFLIGHT]
    size = request.content_length
    if size is not None and size > settings.max_body_bytes:
        raise ProtocolError(413, f"the request body ({size} bytes) is larger than this server's limit of "
                            f"{settings.max_body_bytes} bytes; send smaller batches or raise --max-body-mb")
    reserve = settings.max_body_bytes if size is None else size
    if not inflight.reserve(reserve):
        raise ProtocolError(503, f"the server holds {inflight.used} bytes of requests in flight (limit "
                            f"{inflight.limit}, --max-inflight-mb); retry shortly", retry_after=1)
    request[_RESERVED] = reserve
    return decode_json(await request.read())


async def get_reward(request: web.Request) -> web.Response:
    settings, service = request.app[SETTINGS], request.app[SERVICE]
    doc = await _body(request)
    if isinstance(doc, dict) and isinstance(doc.get("query"), list):
        check_size(len(doc["query"]), settings.max_samples, "/get_reward")
    entries = openrlhf.parse_request(doc, service.config.reference_column)
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
    })  # fmt: skip


async def rewards(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    return _json(describe_config(service.config, service.workers))


def create_app(config: CompositionConfig, workers: int, settings: ServerSettings | None = None) -> web.Application:
    """The reward server as an aiohttp application (start it with `serve` or ``aiohttp.web.run_app``)."""
    settings = settings or ServerSettings()
    app = web.Application(middlewares=[json_errors], client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[INFLIGHT] = _Inflight(settings.max_inflight_bytes)
    app[STARTED] = time.monotonic()
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
    web.run_app(app, sock=sock, shutdown_timeout=shutdown_timeout, print=None, access_log=None,
                handle_signals=True)  # fmt: skip
    return 0
