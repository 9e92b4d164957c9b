"""The error budget: one rule, for every front door, over a sliding window of recent scores.

A term whose recent scores failed (masked: an outage, a reward bug, a batch reward that timed out) more often
than ``max_error_rate`` raises `ErrorBudgetExceeded`, loud and early, rather than training on holes. The
window spans calls, so trainers that send one sample per call (verl, OpenRLHF) are covered like TRL's
batches: the budget fires once ``MIN_SAMPLES`` applicable scores are in the window. Scores that do not
apply to their row (``not_applicable``) are not counted either way.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterable

from .errors import ErrorBudgetExceeded
from .evaluate import Scored
from .types import Status

WINDOW = 64
MIN_SAMPLES = 4


class ErrorBudget:
    """Recent failures per term; `record` raises when a term's failure rate passes ``max_error_rate``."""

    def __init__(self, max_error_rate: float, window: int = WINDOW, min_samples: int = MIN_SAMPLES,
                 reset_on_raise: bool = True) -> None:  # fmt: skip
        self.max_error_rate = max_error_rate
        self.window = window
        self.min_samples = min_samples
        #: False for callers that retry (a reward server: OpenRLHF retries a 503 five times): every call
        #: raises while the window is over budget, so a lasting outage stops the run instead of one retry.
        self.reset_on_raise = reset_on_raise
        self._recent: dict[str, collections.deque[bool]] = {}
        self._failed: dict[str, int] = {}  # failures in each window, kept as it slides (a server records per request)
        self._lock = threading.Lock()

    def record(self, results: Iterable[Scored]) -> None:
        """Add a call's results; raise `ErrorBudgetExceeded` naming the worst term when over budget."""
        with self._lock:
            touched: set[str] = set()
            for scored in results:
                for path, score in scored.scores.items():
                    if score.status is Status.NOT_APPLICABLE:
                        continue
                    recent = self._recent.get(path)
                    if recent is None:
                        recent = self._recent[path] = collections.deque(maxlen=self.window)
                        self._failed[path] = 0
                    masked = score.is_masked
                    if len(recent) == self.window:
                        self._failed[path] += masked - recent[0]  # the oldest slides out
                    else:
                        self._failed[path] += masked
                    recent.append(masked)
                    touched.add(path)
            for path in sorted(touched):
                recent = self._recent[path]
                failed, seen = self._failed[path], len(recent)
                if seen >= self.min_samples and failed / seen > self.max_error_rate:
                    if self.reset_on_raise:
                        recent.clear()  # a caller that survives the error starts counting afresh
                        self._failed[path] = 0
                    raise ErrorBudgetExceeded(
                        f"{failed} of the last {seen} scores of {path!r} failed "
                        f"(infrastructure errors, reward bugs or timeouts; more than max_error_rate "
                        f"{self.max_error_rate:.0%}). Check the reward's service (sandbox, judge server) and the "
                        "logged tracebacks, or raise max_error_rate in the config."
                    )
