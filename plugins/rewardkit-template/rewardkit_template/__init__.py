"""rewardkit-template: one small reward, ``exact_match``, registered through rewardkit's plugin hook."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rewardkit import RewardSpec, Sample, Score, hookimpl, param

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class ExactMatchParams:
    case_sensitive: bool = param(False, "compare letters' case too")
    use_answer_tag: bool = param(True, "read the last <answer>...</answer> section when there is one")


def _normalise(text: str, params: ExactMatchParams) -> str:
    text = _SPACE.sub(" ", text).strip()
    return text if params.case_sensitive else text.casefold()


def exact_match(sample: Sample, params: ExactMatchParams) -> Score:
    text = sample.text
    if params.use_answer_tag:
        sections = _ANSWER.findall(text)
        if sections:
            text = sections[-1]
    got, want = _normalise(text, params), _normalise(str(sample.reference), params)
    if got == want:
        return Score.ok(1.0, "the answer equals the reference", answer=got)
    return Score.ok(0.0, "the answer differs from the reference", answer=got)


@hookimpl
def register_rewards(register):  # type: ignore[no-untyped-def]
    register(
        RewardSpec(
            name="exact_match",
            description="1 when the answer equals the reference after normalising case and white space.",
            params=ExactMatchParams,
            range=(0.0, 1.0),
            fn=exact_match,
            needs_reference=True,
            timeout_s=1.0,
        )
    )
