"""Every number a page shows went through the kit's formats (analysis.report): no long zeros, -0.00, nan or 1e-05.

The scan (tests/pages.py) runs over the committed notebooks (the sample's pages as committed) and every page of
the shared small pipeline run; the public panels' tests (mpdta, castle, jtrain) run it on their runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pages import notebook_output_text, unformatted_numbers, visible_text
from tests.public_panels import assert_pages_formatted

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "text",
    ["p-value 0.0000000000000152", "effect -0.00 errors per 100 orders", "SE nan", "p = 1e-05", "cost 1234567 CNY",
     "bound -inf", "-0 tickets", "ROI -1100% to -533%"],
)
def test_the_scan_finds_what_no_format_writes(text: str) -> None:
    assert unformatted_numbers(text), text


def test_the_scan_passes_what_the_formats_write() -> None:
    text = visible_text(
        "<p>p-value <0.001, 0.001, 0.053; effect -0.004 (95% CI -0.051 to 0.046); ¥1,234,567; 12,345 people; "
        "months 2024-04 to 2025-06; 0.0562 and -0.000999; ROI -130% to -67%, -1,100% to -533%; run 2026-12-03_152014_sample</p>"
        "<img src='data:image/png;base64,AAAA0000012345'>"
    )
    assert unformatted_numbers(text) == []


@pytest.mark.parametrize("notebook", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_committed_pages_show_formatted_numbers(notebook: Path) -> None:
    assert unformatted_numbers(notebook_output_text(notebook)) == []


def test_every_page_of_a_run_shows_formatted_numbers(sample_run) -> None:
    folder = Path(sample_run.result.folder)
    assert len(list(folder.glob("*.html"))) >= 6  # the five notebooks and the run summary
    assert_pages_formatted(folder)
