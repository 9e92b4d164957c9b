"""Run by test_accelerate.py under ``accelerate launch --multi_gpu --num_processes 2`` (MULTI_CPU here):
training/grpo.py's own path, with the composition's scoring counted per process (completions per call)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rewardkit.compose import Composition
from training import grpo

COUNTS = Path(sys.argv[1])
real_score = Composition.score


def counted(self: Composition, prompts: Any = None, completions: Any = None, **kwargs: Any) -> Any:
    with (COUNTS / f"rank{os.environ.get('RANK', '0')}.jsonl").open("a") as fh:
        fh.write(json.dumps({"completions": len(completions or [])}) + "\n")
    return real_score(self, prompts, completions, **kwargs)


Composition.score = counted  # type: ignore[method-assign]
sys.exit(grpo.main(sys.argv[2:]))
