"""Shared test setup: hypothesis profiles. Test data lives in tests/data (vendored with provenance)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# `dev` is quick for local runs; `ci` digs deeper and is chosen by CI=true (as CI sets it).
settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
