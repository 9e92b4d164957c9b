"""Reward-hacking audit: a corpus of exploits per reward family, `rewardkit audit` and `rewardkit check`.

- `corpus`: the exploit file format and the corpus shipped in ``exploits/*.jsonl``;
- `runner`: scores exploits with a config's rewards and decides, per family, what "rewarded" means;
- `check`: the dataset preflight (golds parse and score the maximum, wrong answers the minimum, columns);
- `commands`: the two CLI commands, registered through the ``register_commands`` hook.

Importing this package is cheap; the rewards it audits load their heavy parts when they score.
"""

from __future__ import annotations

from .corpus import Exploit, builtin_paths, load_corpus
from .runner import AuditReport, Finding, run_audit

__all__ = ["AuditReport", "Exploit", "Finding", "builtin_paths", "load_corpus", "run_audit"]
