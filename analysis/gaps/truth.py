"""Ground truth of the gap analysis on generated data (``ground_truth.json`` beside the tables)."""

from __future__ import annotations

import json
from typing import Any

from analysis.data import Dataset

__all__ = ["gap_truth", "label"]


def gap_truth(dataset: Dataset) -> dict[str, Any] | None:
    """The ``gaps`` section of ``<dataset folder>/ground_truth.json`` (None for real data)."""
    path = dataset.path / "ground_truth.json"
    if not path.is_file():
        return None
    try:
        truth = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    gaps = truth.get("gaps") if isinstance(truth, dict) else None
    return gaps if isinstance(gaps, dict) else None


def label(name: str) -> str:
    """A code as words for a sentence: ``needs_discovery`` -> ``needs discovery``."""
    return str(name).replace("_", " ")
