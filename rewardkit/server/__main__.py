"""``python -m rewardkit.server --config FILE ...``: the ``serve`` command without the ``rewardkit`` entry point."""

from .commands import serve

if __name__ == "__main__":
    serve(prog_name="python -m rewardkit.server")
