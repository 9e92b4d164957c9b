"""rewardkit: verifiable rewards for reinforcement learning on language models.

    from rewardkit import compose
    reward = compose({"rewards": [{"name": "think_format", "weight": 1.0}]})
    reward(prompts=prompts, completions=completions)   # TRL's reward-function signature

`import rewardkit` never imports torch, transformers or trl.
"""

from __future__ import annotations

from .compose import Composition, compose
from .errors import (
    ConfigError,
    ErrorBudgetExceeded,
    InputError,
    ParamError,
    PluginError,
    RewardkitError,
    ShapeError,
    UnknownRewardError,
    WorkerError,
)
from .hookspecs import hookimpl
from .params import param
from .types import Completion, RewardSpec, Sample, Score, Status

__version__ = "0.1.0"

__all__ = [
    "Completion",
    "Composition",
    "ConfigError",
    "ErrorBudgetExceeded",
    "InputError",
    "ParamError",
    "PluginError",
    "RewardSpec",
    "RewardkitError",
    "Sample",
    "Score",
    "ShapeError",
    "Status",
    "UnknownRewardError",
    "WorkerError",
    "__version__",
    "compose",
    "hookimpl",
    "param",
]
