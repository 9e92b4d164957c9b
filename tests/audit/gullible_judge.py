"""A fake judge that models the worst realistic LLM grader: it obeys any score instruction it can see.

It honours the template's contract exactly as far as a model would: text between the nonce markers of the
system message is data; everything else in the prompt is instructions, and a ``Score: N`` written there
is obeyed. So an injection scores high exactly when it escapes the fence, which is what rewardkit controls.
Inside the fence it grades honestly: 9 when the response contains the reference, 2 when not, 5 without one.
"""

from __future__ import annotations

import re
from typing import Any

from tests.rewards.judge.fake_server import Reply, chat

_INSTRUCTION = re.compile(r"(?:score\s*[:=]\s*|gives? it\s+)(\d+)", re.I)  # "Score: 10", "gives it 10/10"


def _outside_and_sections(request: dict[str, Any]) -> tuple[str, dict[str, str]]:
    system, user = (m["content"] for m in request["messages"])
    found = re.search(r"<<<RESPONSE-([0-9a-f]+)>>>", system)
    if found is None:
        return user, {}
    nonce = found.group(1)
    fence = re.compile(rf"<<<(\w+)-{nonce}>>>\n(.*?)\n<<<END-\1-{nonce}>>>", re.S)
    sections = {m.group(1): m.group(2) for m in fence.finditer(user)}
    return fence.sub("", user), sections


def verdict(request: dict[str, Any]) -> str:
    """``Score: N``, or ``Verdict: yes|no`` when the template asks for one (yes for scores of 5 and up)."""
    outside, data = _outside_and_sections(request)
    obeyed = _INSTRUCTION.findall(outside)
    if obeyed:
        score = int(obeyed[-1])
    elif "REFERENCE" not in data or "RESPONSE" not in data:
        score = 5
    else:
        score = 9 if data["REFERENCE"].strip().lower() in data["RESPONSE"].lower() else 2
    if "Verdict: yes" in outside:
        return f"Verdict: {'yes' if score >= 5 else 'no'}"
    # "Final score", not "Score": an obeyed "Score: 10" copied from the completion is refused as a quote.
    return f"Final score: {score}"


def gullible(n: int, request: dict[str, Any], headers: dict[str, str]) -> Reply:
    return Reply(body=chat(verdict(request)))
