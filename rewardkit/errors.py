"""Every exception rewardkit raises on purpose. Catch ``RewardkitError`` to catch them all.

    RewardkitError
    ├── ConfigError              a config, a reward name or a parameter is wrong
    │   ├── UnknownRewardError   no installed reward has that name (carries "did you mean")
    │   └── ParamError           a parameter is unknown, of the wrong type or out of range
    ├── PluginError              a plugin failed to load, or two plugins claim one reward name
    ├── InputError               input rows or call arguments are malformed
    │   └── ShapeError           columns of different lengths in a batch call
    ├── ErrorBudgetExceeded      too many infrastructure errors in one batch
    └── WorkerError              the worker pool cannot go on (workers keep dying at start)

Messages say what is wrong, where, and how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class RewardkitError(Exception):
    """Base of every error raised on purpose by rewardkit."""


class ConfigError(RewardkitError):
    """A configuration, a reward name or a parameter is wrong."""


class UnknownRewardError(ConfigError):
    """No installed reward has the requested name."""


class ParamError(ConfigError):
    """A reward parameter is unknown, of the wrong type or out of range."""


class PluginError(RewardkitError):
    """A plugin failed to load, or two plugins register the same reward name."""


class InputError(RewardkitError):
    """Input rows or call arguments are malformed."""


class ShapeError(InputError):
    """The lists handed to a batch call do not have matching lengths."""


class ErrorBudgetExceeded(RewardkitError):
    """More of a batch failed for infrastructure reasons than the configured budget allows."""


class WorkerError(RewardkitError):
    """The worker pool cannot make progress."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A hint such as `` Did you mean 'length'?`` (with its leading space), or an empty string."""
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.6)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"
