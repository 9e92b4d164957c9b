"""Parameter builders for the judge kinds, pointed at a loopback fake judge."""

from __future__ import annotations

from typing import Any

from rewardkit import registry
from rewardkit.params import build_params


def kind_params(name: str, url: str, **kw: Any) -> Any:
    """Validated parameters of reward ``name`` for a fake judge at ``url`` (no cache, fast backoff)."""
    spec = registry.get(name)
    values = {"base_url": url, "model": "judge-1", "cache_path": None, "backoff_s": 0.01, **kw}
    return build_params(name, spec.params, values)
