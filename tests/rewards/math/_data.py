"""The vendored math data (tests/data/math, provenance in its README): loaders that refuse to be empty."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "data" / "math"


def _rows(name: str, expected: int) -> list[dict[str, Any]]:
    path = DATA / name
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    # A missing or truncated file must fail loudly, never collapse to a skip or an empty table.
    assert len(rows) == expected, f"{path}: {len(rows)} rows, expected {expected}"
    return rows


def regression_rows() -> list[dict[str, Any]]:
    return _rows("regression.jsonl", 366)


def gsm8k_rows() -> list[dict[str, Any]]:
    return _rows("gsm8k_model_solutions.jsonl.gz", 5276)


def adjudicated(row: dict[str, Any]) -> bool:
    """The source label, or our verdict on a row recorded in the data as mislabelled (with its reason)."""
    mislabel = row.get("mislabel")
    return bool(mislabel["verdict"]) if mislabel else bool(row["equivalent"])
