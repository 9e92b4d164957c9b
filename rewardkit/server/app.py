"""The aiohttp application: routes, JSON errors, body-size bound, graceful shutdown.

aiohttp is imported here only, and this module only when the server is used (the ``serve`` extra).
Handlers never score on the event loop: `RewardService` does it in worker processes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..config import CompositionConfig
from ..errors import ErrorBudgetExceeded, RewardkitError
from .protocol import (
    ProtocolError,
    decode_json,
    describe_config,
    get_reward_response,
    parse_get_reward,
    parse_score,
    score_response,
)
from .service import RewardService

log = logging.getLogger("rewardkit.server")

class ServerSettings:
    """Limits and policies of one server; the defaults suit a trainer on the same network."""

    def __init__(self, max_body_mb: float = 64.0, max_samples: int = 16384, null_reward: float = 0.0) -> None:
        self.max_body_bytes = int(max_body_mb * 2**20)
        self.max_samples = max_samples
        self.null_reward = null_reward


SERVICE = web.AppKey("service", RewardService)
SETTINGS = web.AppKey("settings", ServerSettings)
STARTED = web.AppKey("started", float)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data, ensure_ascii=False), status=status,
                        content_type="application/json")  # fmt: skip


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message, "status": status}, status)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure is a JSON ``{"error": ...}``; a request's fault never takes the server down."""
    try:
        return await handler(request)
    except ProtocolError as exc:
        return _error(exc.status, str(exc))
    except web.HTTPRequestEntityTooLarge as exc:
        limit = request.app[SETTINGS].max_body_bytes
        return _error(exc.status, f"the request body is larger than this server's limit of {limit} bytes; "
                      "send smaller batches or start the server with a higher --max-body-mb")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error(exc.status, f"{exc.reason}: {request.method} {request.path}")
    except ErrorBudgetExceeded as exc:
        return _error(503, str(exc))
    except RewardkitError as exc:
        log.error("%s %s failed: %s", request.method, request.path, exc)
        return _error(503, f"{type(exc).__name__}: {exc}")
    except Exception as exc:
        log.exception("%s %s failed", request.method, request.path)
        return _error(500, f"internal error: {type(exc).__name__}: {exc}")


async def _body(request: web.Request) -> Any:
    return decode_json(await request.read())


async def get_reward(request: web.Request) -> web.Response:
    settings, service = request.app[SETTINGS], request.app[SERVICE]
    samples = parse_get_reward(await _body(request), service.config.reference_column, settings.max_samples)
    results = await service.score(samples)
    return _json(get_reward_response(results, settings.null_reward))


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
        "uptime_s": round(time.monotonic() - request.app[STARTED], 3),
    })  # fmt: skip


async def rewards(request: web.Request) -> web.Response:
    return _json(describe_config(request.app[SERVICE].config))


def create_app(config: CompositionConfig, workers: int, settings: ServerSettings | None = None) -> web.Application:
    """The reward server as an aiohttp application (start it with `serve` or ``aiohttp.web.run_app``)."""
    settings = settings or ServerSettings()
    app = web.Application(middlewares=[json_errors], client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[STARTED] = time.monotonic()

    async def start_service(app: web.Application) -> None:
        app[SERVICE] = RewardService(config, workers)

    async def stop_service(app: web.Application) -> None:
        # In a thread: closing waits for the round in flight, and the loop must stay responsive meanwhile.
        await asyncio.get_running_loop().run_in_executor(None, app[SERVICE].close)

    app.on_startup.append(start_service)
    app.on_cleanup.append(stop_service)
    app.router.add_post("/get_reward", get_reward)
    app.router.add_post("/score", score)
    app.router.add_get("/health", health)
    app.router.add_get("/rewards", rewards)
    return app


def serve(config: CompositionConfig, host: str, port: int, workers: int,
          settings: ServerSettings | None = None, shutdown_timeout: float = 60.0,
          print_fn: Callable[[str], None] = print) -> None:  # fmt: skip
    """Run until SIGINT/SIGTERM; then stop accepting, let requests in flight finish, stop the workers."""
    app = create_app(config, workers, settings)
    web.run_app(app, host=host, port=port, shutdown_timeout=shutdown_timeout, print=print_fn,
                access_log=None, handle_signals=True)  # fmt: skip
