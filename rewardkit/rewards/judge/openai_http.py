"""The OpenAI-compatible chat-completions backend (vLLM, SGLang, TGI, llama.cpp, hosted APIs) over httpx.

httpx is imported here, not at package import: it belongs to the ``judge`` extra. One attempt is one
POST to ``{base_url}/chat/completions``; `retry.call_with_retries` decides whether to try again.
The whole attempt runs under one deadline (httpx's own timeouts bound each phase, so a server that
trickles bytes could otherwise hold a request far past ``timeout_s``).

Structured output: with a JSON schema, a request carries OpenAI's ``response_format`` of type
``json_schema`` (which vLLM and SGLang serve by guided decoding). In mode ``auto`` a server that refuses
it (HTTP 400/422 naming response_format, json_schema, guided decoding or an unsupported field) is asked
again at once without it, and the backend remembers that for the rest of the batch; a server that
ignores it simply answers in text, which the strict text parser reads. In mode ``json_schema`` a
refusal is fatal. ``finish_reason`` and token logprobs (when asked for and served) come back with the text.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from ...errors import ConfigError
from .retry import Fatal, Retryable, parse_retry_after

_RETRY_STATUSES = frozenset({408, 409, 425, 429})
_NO_STRUCTURED = re.compile(
    r"response_format|json_schema|guided|structured|grammar|not supported|unsupported|extra (?:fields|inputs)",
    re.I,
)


@dataclass(frozen=True)
class Reply:
    """What a judge sent back: its text, why it stopped (``stop``, ``length``, ...) and token logprobs."""

    text: str
    finish_reason: str | None = None
    logprobs: list[dict[str, Any]] | None = None


class OpenAIChatBackend:
    """Sends chat messages and returns the judge's reply text. Use as ``async with``."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None,
        timeout_s: float,
        concurrency: int,
        temperature: float,
        max_tokens: int,
        structured: str = "auto",
    ) -> None:
        try:
            import httpx
        except ImportError:  # pragma: no cover - depends on the install
            raise ConfigError(
                "the judge reward's 'openai' backend needs httpx: pip install 'rewardkit[judge]'"
            ) from None
        self._httpx = httpx
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.timeout_s = timeout_s
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.structured_mode = structured
        self.structured = structured != "off"  # turned off for the batch when the server refuses it
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            trust_env=False,  # a proxy from the environment must not see judge traffic or the key
        )

    def __repr__(self) -> str:  # never show headers: they hold the key
        return f"OpenAIChatBackend(url={self.url!r}, model={self.model!r})"

    async def __aenter__(self) -> OpenAIChatBackend:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._client.aclose()

    async def complete(
        self,
        messages: list[dict[str, str]],
        schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
        top_logprobs: int = 0,
    ) -> Reply:
        """One attempt; raises `Retryable` or `Fatal` with a reason that names the server."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature,
            "max_tokens": max_tokens or self.max_tokens,
        }
        if top_logprobs:
            body.update(logprobs=True, top_logprobs=top_logprobs)
        structured = schema is not None and self.structured
        if structured:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "verdict", "strict": True, "schema": schema},
            }
        response = await self._post(body)
        if structured and response.status_code in (400, 422) and _NO_STRUCTURED.search(response.text):
            if self.structured_mode == "json_schema":
                raise Fatal(
                    f"judge server {self.url} refused structured output (structured: json_schema): "
                    f"{_snippet(response.text)}; set structured to 'auto' or 'off'"
                )
            self.structured = False
            del body["response_format"]
            response = await self._post(body)
        return self._read(response)

    async def _post(self, body: dict[str, Any]) -> Any:
        httpx = self._httpx
        try:
            response = await asyncio.wait_for(self._client.post(self.url, json=body), self.timeout_s)
        except (asyncio.TimeoutError, httpx.TimeoutException):
            raise Retryable(
                f"judge request to {self.url} timed out after {self.timeout_s:g} s", transport=True
            ) from None
        except httpx.TransportError as exc:
            raise Retryable(
                f"judge server {self.url} unreachable: {type(exc).__name__}: {exc}", transport=True
            ) from None
        return response

    def _read(self, response: Any) -> Reply:
        status = response.status_code
        if status >= 500 or status in _RETRY_STATUSES:
            raise Retryable(
                f"judge server {self.url} answered HTTP {status}: {_snippet(response.text)}",
                retry_after=parse_retry_after(response.headers.get("retry-after")),
            )
        if status != 200:
            hint = " (check the key named by api_key_env)" if status in (401, 403) else ""
            hint = hint or (" (check model and base_url)" if status in (400, 404, 422) else "")
            raise Fatal(f"judge server {self.url} answered HTTP {status}{hint}: {_snippet(response.text)}")
        try:
            data = json.loads(response.content)
            choice = data["choices"][0]
            content = choice["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            # A 200 whose body is not a chat completion is most often a proxy or a server under strain.
            raise Retryable(
                f"judge server {self.url} sent a malformed reply ({type(exc).__name__}): {_snippet(response.text)}"
            ) from None
        if not isinstance(content, str):
            raise Fatal(f"judge server {self.url} sent no text content (got {type(content).__name__})")
        logprobs = choice.get("logprobs") if isinstance(choice, dict) else None
        tokens = logprobs.get("content") if isinstance(logprobs, dict) else None
        finish = choice.get("finish_reason") if isinstance(choice, dict) else None
        return Reply(content, finish if isinstance(finish, str) else None, tokens if isinstance(tokens, list) else None)


def _snippet(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."
