"""``rewardkit verify GOLD ANSWER``: the verdict on one pair with both parses, for debugging a dataset."""

from __future__ import annotations

import sys
from typing import Any

import click


def add_verify_command(cli: Any) -> None:
    @cli.command("verify")  # type: ignore[untyped-decorator]
    @click.argument("gold")
    @click.argument("answer")
    @click.option("--no-number-fallback", is_flag=True, help="Do not fall back to the last number.")
    @click.option("--budget", "budget_s", type=float, default=1.0, show_default=True,
                  help="Seconds allowed for the symbolic comparison.")
    def verify(gold: str, answer: str, no_number_fallback: bool, budget_s: float) -> None:
        """Check ANSWER (a completion or a bare answer) against GOLD with the `math` reward.

        Exit status: 0 equivalent, 1 not equivalent, 2 no verdict (an error or a timeout), for scripts.
        """
        from ...types import Sample
        from . import MathParams, score_math

        params = MathParams(number_fallback=not no_number_fallback, budget_s=budget_s)
        score = score_math(Sample(completion=answer, reference=gold), params)
        d = score.details
        verdict = "NO VERDICT" if score.value is None else ("EQUIVALENT" if score.value else "NOT EQUIVALENT")
        click.echo(f"verdict:      {verdict} (value {score.value}, status {score.status.value})")
        click.echo(f"gold parse:   {d.get('gold_parse', '')}")
        click.echo(f"answer:       {d.get('answer', '')}")
        click.echo(f"answer parse: {d.get('answer_parse', '')}")
        click.echo(f"reason:       {score.reason} [{d.get('path', '')} path]")
        sys.exit(2 if score.value is None else 0 if score.value else 1)
