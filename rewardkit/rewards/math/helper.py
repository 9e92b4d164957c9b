"""Entry point of the helper process: one JSON request per line in, one JSON verdict per line out.

math-verify's ANTLR parser builds its prediction tables (DFA) lazily: the first parse of a construct
(``\\sum``, ``|z|``, ``pmatrix``, ``\\tan^2``) costs 0.1-1 s, later ones a few milliseconds. The helper
parses `WARMUP`, one construct at a time, whenever no request is waiting, so early answers do not pay
for it (nor overrun their budget because of it); ``{"warmup": true}`` finishes it at once (benchmarks).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import sys
from typing import Any

#: Generic answer shapes, one per parser construct (not taken from any test set).
WARMUP = (
    "F_n = \\sum_{k=0}^{n-1} a_k b_{n-k}", "\\prod_{i=1}^{n} x_i", "1 \\leq |z| \\leq 2", "|AB| = 3",
    "x \\in [-1, 2) \\cup (3, \\infty)", "\\{1, 2\\} \\cup \\{3\\}", "(1, 2), (3, 4)", "(0; 1; 2)",
    "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
    "\\left[\\begin{array}{cc} 1 & 0 \\\\ 0 & 1 \\end{array}\\right]",
    "\\begin{bmatrix} a \\\\ b \\end{bmatrix} + \\begin{bmatrix} c \\\\ d \\end{bmatrix}",
    "\\tan^2(y) + 1 = \\sec^2(y)", "\\sin x \\cos y - \\arcsin(1/2)", "\\ln(2) + \\log_{2} 8 + e^{i \\pi}",
    "f(x) = 2x + 1", "f'(x) = 3x^2", "g^{-1}(y)", "a : b = 2 : 3", "x_{1} = 10^{\\frac{-5 + \\sqrt{13}}{6}}",
    "\\frac{\\sqrt{\\sqrt{2} + \\sqrt{3}}}{1 + 2\\sqrt{6}}", "\\sqrt[3]{x}^2 + x^{2/3}", "\\binom{5}{2} + 4!",
    "-2 \\le x < 7", "x \\geq 5 \\text{ or } x \\neq 1", "2x + 4y - 3 = 0", "y = -\\frac{1}{2} x + \\frac{3}{4}",
    "\\int_0^1 x^2 \\, dx", "\\lim_{x \\to 0} \\frac{\\sin x}{x}", "100\\%", "\\text{(C)}", "5 \\text{ cm}^2",
    "\\pm 2", "1 \\pm \\sqrt{5}", "30^\\circ", "\\overline{AB}", "\\vec{v} \\cdot \\vec{w}", "\\mathbb{R}",
)


def _warm(text: str) -> None:
    from math_verify import parse

    with contextlib.suppress(Exception):  # warm-up only: a parser error here changes nothing
        parse(f"\\boxed{{{text}}}", parsing_timeout=None)


def _idle(stream: Any) -> bool:
    return not select.select([stream], [], [], 0)[0]


def main() -> None:
    import math_verify  # noqa: F401  (imported before "ready" so a request never pays for it)
    import sympy  # noqa: F401

    from .symbolic import compare

    out = sys.stdout
    sys.stdout = sys.stderr  # stray prints from parsers must not corrupt the protocol
    out.write("ready\n")
    out.flush()
    pending = list(WARMUP)
    while True:
        # One request is in flight at a time (the caller holds a lock), so stdin's buffer never
        # hides a second line from select.
        if pending and _idle(sys.stdin):
            _warm(pending.pop(0))
            continue
        line = sys.stdin.readline()
        if not line:
            return
        req = json.loads(line)
        if req.get("warmup"):
            while pending:
                _warm(pending.pop(0))
            reply: dict[str, Any] = {"ok": True, "gold": "", "pred": "", "reason": "warm", "pid": os.getpid()}
        else:
            reply = _answer(compare, req)
        out.write(json.dumps(reply) + "\n")
        out.flush()


def _answer(compare: Any, req: dict[str, Any]) -> dict[str, Any]:
    try:
        ok, gold, pred, reason = compare(req["gold"], req["pred"], req["gold_bare"], req["pred_bare"])
        return {"ok": ok, "gold": gold, "pred": pred, "reason": reason}
    except Exception as exc:  # a parser crash is the answer's fault, reported, not fatal
        return {"ok": False, "gold": "?", "pred": "?", "reason": f"comparison failed: {type(exc).__name__}"}


if __name__ == "__main__":
    main()
