"""Shared test setup: hypothesis profiles. Test data lives in tests/data (vendored with provenance)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# `dev` is quick for local runs, with fresh random examples each time, so local runs keep finding new cases.
# `gate` (what .ci/run sets) runs as many, derandomized: the gate that decides whether work lands replays
# exactly what a local `HYPOTHESIS_PROFILE=gate` run saw, instead of failing on a case first met there.
# `ci` digs deeper and is chosen by CI=true when HYPOTHESIS_PROFILE is unset.
settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile("gate", max_examples=60, deadline=None, derandomize=True)
settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
