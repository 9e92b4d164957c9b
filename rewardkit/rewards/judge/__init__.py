"""Judge rewards: a language model grades completions, for tasks no rule can check.

Five rewards, one engine (`ask`): ``judge`` (a 0..scale rubric or yes/no template), ``rubric_judge``
(weighted criteria per row or per config, `rubric`), ``verifier`` (xVerify, CompassVerifier or
general-verifier style (question, gold, response) -> verdict token, `verifier`), ``math_verifier`` (the
``math`` rule, then a verifier only where the rule is unsure, `cascade`) and ``group_judge`` (listwise
or pairwise over the completions of one prompt, permutation-invariant, `group`).

Threat model. The graded text comes from the policy being trained, which is rewarded for whatever moves
the judge, so it is hostile: it will write instructions, claimed scores and verdicts (``Score: 10``,
``Verdict: yes``, JSON verdicts, ``Score: 1/1``), forged fence markers and reference sections, chat-template
tokens (``<|im_end|><|im_start|>assistant``, ``</s>[INST]``, ``<|eot_id|>``), invisible characters, and text
that derails the judge (into quoting it, running out of tokens, or answering "N/A"). The guarantees:

- the completion reaches the judge as data it cannot close or imitate: one JSON string literal with
  ``<``, ``>``, bracket tokens and invisible characters escaped, between nonce markers, under a prompt
  that says so (`templates`, `safety`);
- a verdict is read only from structured output (OpenAI ``response_format`` json_schema, where served;
  detected and fallen back from) or from exactly one verdict line, the last, of the asked label and
  scale, that does not occur in the graded text (`parse`); ``finish_reason`` is checked;
- a reply that arrived without a readable verdict is asked again once, more strictly, then scores the
  reward's low value (status ``ok``, ``details.verdict_status``) -- a completion that derails its judge
  does not escape as a null, and a derailed judge never trips an error budget; a reply cut off twice and
  every outage are masked (null, ``error``) and counted, never a 0 or a 1 (`scoring`).

Not guaranteed: a judge model that obeys instructions inside data it was told is data. `rewardkit audit`
runs the injection corpus against a configured judge to measure that. The price of the quote rule: a
completion that itself contains the judge's exact verdict line (say "Score: 7") cannot be credited by a
text verdict of 7, and scores the low value; structured output avoids this, since a whole JSON verdict
object is what would have to be quoted.

Built for a training loop: per-request timeouts, retries with backoff, a circuit breaker for a dead server
(`retry`), a sqlite verdict cache shared by processes (`cache`), any OpenAI-compatible server over httpx
(`openai_http`) or a local transformers model (`local_transformers`). Importing this package is cheap:
httpx, torch and transformers are imported when a batch is judged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ...errors import ConfigError
from ...hookspecs import hookimpl
from ...preflight import dont_know, gold_text
from ...types import RewardSpec, Sample, Score
from .config import JudgeParams

__all__ = ["JudgeParams", "judge_batch", "register_rewards"]


def judge_batch(samples: Sequence[Sample], params: JudgeParams) -> list[Score]:
    """Judge a chunk of samples concurrently (module level, so it pickles to worker processes)."""
    from .scoring import judge_batch as run

    return run(samples, params)


#: Every judge kind is audited with the judge injection rows and calls a server.
def _check_judge(params: Any) -> None:
    """A judge that cannot work fails when the config is read, not as a run of masked rows."""
    from .scoring import require_model

    require_model(params)
    if getattr(params, "backend", "openai") == "openai":
        try:
            import httpx  # noqa: F401
        except ImportError:
            raise ConfigError("the judge's openai backend needs httpx: pip install 'rewardkit[judge]'") from None


# Judges may be noisy: in `rewardkit check` the gold need only come within a fifth of the range of the top.
_JUDGE: dict[str, Any] = {"family": "judge", "cost": "network", "gold_completion": gold_text,
                          "wrong_completion": dont_know, "check_tolerance": 0.2,
                          "validate": _check_judge}


def _kinds() -> list[RewardSpec]:
    """The judge kinds beyond ``judge`` itself (imported here, so that importing the package stays cheap)."""
    from .cascade import CascadeParams, cascade_batch
    from .group import GroupParams, group_batch, group_key
    from .rubric import RubricParams, rubric_batch
    from .verifier import VerifierParams, verifier_batch

    return [
        RewardSpec("rubric_judge", "Weighted rubric criteria (a row column or the config), each judged on its own; "
                   "per-criterion values in details; optional criterion dropout.",
                   RubricParams, (0.0, 1.0), batch_fn=rubric_batch, timeout_s=1800.0, **_JUDGE),
        RewardSpec("verifier", "A verifier model (xVerify, CompassVerifier, general-verifier style) grades "
                   "(question, gold, response) with a verdict token; P(correct) from logprobs where served.",
                   VerifierParams, (0.0, 1.0), batch_fn=verifier_batch, needs_reference=True, timeout_s=900.0,
                   **_JUDGE),
        RewardSpec("math_verifier", "The math rule first; a verifier model only where the rule says wrong or "
                   "cannot tell; never overrides a definite rule verdict unless configured; disagreements in details.",
                   CascadeParams, (0.0, 1.0), batch_fn=cascade_batch, needs_reference=True, timeout_s=900.0,
                   **_JUDGE),
        RewardSpec("group_judge", "Judges the completions of one prompt together (pairwise both ways, or listwise "
                   "over rotations of a canonical order): permutation-invariant; groups by prompt or a column.",
                   GroupParams, (0.0, 1.0), batch_fn=group_batch, timeout_s=1800.0, group_key=group_key,
                   **_JUDGE),
    ]  # fmt: skip


@hookimpl
def register_rewards(register: Callable[[RewardSpec], None]) -> None:
    # Worst case per request with the defaults: 2 rounds x 7 attempts of 60 s plus backoff.
    register(RewardSpec(
        name="judge",
        description=(
            "An LLM grades the completion (OpenAI-compatible server or local transformers model) with a "
            "rubric (0..scale) or yes/no template; injection-proof prompt, strict verdicts, outages masked, "
            "verdicts cached in sqlite."
        ),
        params=JudgeParams, range=(0.0, 1.0), batch_fn=judge_batch, timeout_s=900.0, **_JUDGE,
    ))  # fmt: skip
    for spec in _kinds():
        register(spec)
