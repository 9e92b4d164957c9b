"""``python -m rewardkit.server --config FILE ...``: the ``serve`` command without the ``rewardkit`` entry point."""

import sys

from ..errors import RewardkitError
from .commands import serve

if __name__ == "__main__":
    try:
        serve.main(prog_name="python -m rewardkit.server", standalone_mode=True)
    except RewardkitError as exc:  # what the rewardkit group does for its commands: one line, status 2
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(2)
