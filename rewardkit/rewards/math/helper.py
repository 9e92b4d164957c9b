"""Entry point of the helper process: one JSON request per line in, one JSON verdict per line out."""

from __future__ import annotations

import json
import sys


def main() -> None:
    import math_verify  # noqa: F401  (imported before "ready" so a request never pays for it)
    import sympy  # noqa: F401

    from .symbolic import compare

    out = sys.stdout
    sys.stdout = sys.stderr  # stray prints from parsers must not corrupt the protocol
    out.write("ready\n")
    out.flush()
    for line in sys.stdin:
        req = json.loads(line)
        try:
            ok, gold, pred, reason = compare(req["gold"], req["pred"], req["gold_bare"], req["pred_bare"])
            reply = {"ok": ok, "gold": gold, "pred": pred, "reason": reason}
        except Exception as exc:  # a parser crash is the answer's fault, reported, not fatal
            why = f"comparison failed: {type(exc).__name__}"
            reply = {"ok": False, "gold": "?", "pred": "?", "reason": why}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
