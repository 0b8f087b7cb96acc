"""Checks shared by the public panels run as HR exports (castle, jtrain, mpdta)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from tests.pages import unformatted_numbers, visible_text

#: The ladder's unconditional rung: the textbook Callaway-Sant'Anna estimator on every training month as it is.
TEXTBOOK = "Callaway-Sant'Anna, no controls, every training month as it is"


def textbook_rung_against_diff_diff(tables: Path, program_id: str, raw: pd.DataFrame, **columns: str) -> pd.Series:
    """The page's textbook rung, checked against ``diff_diff.CallawaySantAnna`` fitted on the raw panel.

    ``columns`` names the raw panel's outcome, unit, time and first_treat columns; the rung's estimate
    must be diff_diff's overall ATT to 1e-10 and its SE to 1e-6. Returns the rung's row.
    """
    from diff_diff import CallawaySantAnna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = CallawaySantAnna(control_group="never_treated").fit(raw, **columns)
    row = pd.read_csv(tables / f"02_training_attribution__{program_id}_ladder.csv").set_index("rung").loc[TEXTBOOK]
    assert row["estimate"] == pytest.approx(ref.overall_att, rel=1e-10), (row["estimate"], ref.overall_att)
    assert row["se"] == pytest.approx(ref.overall_se, rel=1e-6), (row["se"], ref.overall_se)
    return row


def assert_pages_formatted(run_folder: Path) -> None:
    """Every page of a run shows its numbers through the kit's formats (tests/pages.py)."""
    pages = sorted(run_folder.glob("*.html"))
    assert pages
    found = {p.name: unformatted_numbers(visible_text(p.read_text(encoding="utf-8"))) for p in pages}
    bad = {k: v for k, v in found.items() if v}
    assert not bad, bad  # a helper module: pytest does not rewrite its asserts, so the message says what was found
