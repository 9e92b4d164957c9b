"""`python -m rewardkit` runs the command line."""

from .cli import main

main()
