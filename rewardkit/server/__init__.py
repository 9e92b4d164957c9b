"""``rewardkit serve``: rewardkit's rewards over HTTP, for trainers other than TRL (OpenRLHF, custom loops).

    rewardkit serve --config rewards.yaml --port 8000 --workers 4

Endpoints (JSON in, JSON out; every error is ``{"error": "...", "status": N}``: 400 for any malformed body,
413 for too large, 503 when busy or past the error budget):

- ``POST /get_reward``: OpenRLHF's remote reward protocol, ``{"query", "prompts", "labels"}`` in,
  ``{"rewards", "scores", "extra_logs"}`` out (``--reward.remote_url http://host:8000/get_reward``); a row
  that cannot be scored gets the null reward, never an error status (`rewardkit.integrations.openrlhf`);
- ``POST /score``: rewardkit rows in (``{"samples": [{"completion", "prompt", "answer", ...}]}``), every
  term's value out, with ``"details": true`` each score's status and reason;
- ``GET /health`` and ``GET /rewards`` (the configured terms).

The web layer needs the ``serve`` extra (aiohttp); this package's `protocol` and `service` modules do not.
See README.md next to this file for replicas behind a load balancer.
"""

from __future__ import annotations

from .protocol import ProtocolError

__all__ = ["ProtocolError"]
