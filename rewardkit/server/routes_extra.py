"""Routes for NeMo-Gym's ``/verify`` and slime's remote reward model, added to the reward server's app.

    POST /verify          NeMo-Gym 0.7 resources-server verify (`rewardkit.integrations.nemo_gym`)
    POST /slime           slime ``--rm-url`` with ``--reward-key score`` (`rewardkit.integrations.slime`)
    POST /slime/scalar    slime ``--rm-url`` without ``--reward-key``: a bare number

The handlers only translate: the body is read under the app's limits, the request becomes a sample in the
integration module, the server's `RewardService` scores it (worker processes, time budgets, the one error
budget: past it a 503 that both trainers retry, then give up on loudly), and the integration module writes
the reply. A malformed request is a 422 naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..errors import InputError
from ..evaluate import Scored
from ..integrations import nemo_gym, slime
from ..types import Sample
from .protocol import ProtocolError

BodyReader = Callable[[web.Request], Awaitable[Any]]


def add_extra_routes(app: web.Application, read_body: BodyReader, service_key: web.AppKey[Any],
                     settings_key: web.AppKey[Any]) -> None:  # fmt: skip
    """Register the routes; ``read_body`` is the app's bounded body reader, the keys its service and settings."""

    async def score_one(request: web.Request, build: Callable[[Any, str], Sample]) -> tuple[Any, Scored]:
        doc = await read_body(request)
        service = request.app[service_key]
        try:
            sample = build(doc, service.config.reference_column)
        except InputError as exc:
            raise ProtocolError(422, str(exc)) from None
        [scored] = await service.score([sample])
        return doc, scored

    async def verify(request: web.Request) -> web.Response:
        doc, scored = await score_one(request, nemo_gym.verify_sample)
        return _json(nemo_gym.verify_response(doc, scored, request.app[service_key].config))

    async def slime_object(request: web.Request) -> web.Response:
        _, scored = await score_one(request, slime.request_sample)
        return _json(slime.reply(scored, request.app[settings_key].null_reward))

    async def slime_scalar(request: web.Request) -> web.Response:
        _, scored = await score_one(request, slime.request_sample)
        return _json(slime.scalar(scored, request.app[settings_key].null_reward))

    app.router.add_post("/verify", verify)
    app.router.add_post("/slime", slime_object)
    app.router.add_post("/slime/scalar", slime_scalar)


def _json(data: Any) -> web.Response:
    return web.Response(text=json.dumps(data, ensure_ascii=False), content_type="application/json")
