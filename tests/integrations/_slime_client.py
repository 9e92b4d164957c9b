"""A faithful replay of slime's remote reward client, for tests: slime is not on PyPI (the ``slime`` name there
is an unrelated 0.0.0 package) and needs Megatron and SGLang besides.

Provenance: THUDM/slime (Apache-2.0), ``slime/rollout/rm_hub/__init__.py`` (``remote_rm``) at commit
0b420f1ef4161f02d2a00d47c1318eec955a4e2e and ``slime/utils/types.py`` (``Sample.get_reward_value``). Written
here from their behaviour, not copied: one aiohttp POST per sample of ``{"prompt", "response", "label"}`` to
``args.rm_url``; ``raise_for_status()`` then ``resp.json()`` is the reward; any exception is retried up to
``max_retries`` (10) times with ``min(2**attempt, 30) + random()`` seconds between tries, then re-raised; the
reward value is the reply itself, or ``reply[args.reward_key]`` when ``--reward-key`` is set.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass
class Args:
    rm_url: str
    reward_key: str | None = None


@dataclass
class Sample:
    prompt: Any
    response: str
    label: Any = None
    reward: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def get_reward_value(self, args: Args) -> Any:
        return self.reward if not args.reward_key else self.reward[args.reward_key]


async def remote_rm(args: Args, sample: Sample, max_retries: int = 10, backoff_scale: float = 1.0) -> Any:
    """``backoff_scale`` shrinks slime's waits so a test of its retries runs in milliseconds."""
    payload = {"prompt": sample.prompt, "response": sample.response, "label": sample.label}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        for attempt in range(max_retries):
            try:
                async with session.post(args.rm_url, json=payload) as resp:
                    resp.raise_for_status()
                    return await resp.json()
            except Exception:
                if attempt + 1 >= max_retries:
                    raise
                await asyncio.sleep((min(2**attempt, 30) + random.random()) * backoff_scale)
    raise AssertionError("unreachable")
