"""What a reader sees of a published page, and the numbers in it the kit's formats never write.

Used by the page tests of the sample, the public panels and the committed notebooks: a
p-value as ``0.0000000000000152`` beside ``<0.001`` elsewhere, an effect as ``-0.00``, a
``nan`` or ``1e-05``, or ``12345`` without its thousands separator is a formatting path
that skipped :mod:`analysis.report`.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

_HIDDEN = re.compile(r"<(script|style)[^>]*>.*?</\1>|<img[^>]*>", re.S)
_TAG = re.compile(r"<[^>]+>")
_RUN_ID = re.compile(r"\b\d{4}-\d{2}-\d{2}_\d{6}(_\w+)?\b")  # run folders are named by their start time

#: What the kit's number formats never write, by what it is.
UNFORMATTED = {
    "five or more zeros after the point": re.compile(r"(?<![\d.])-?0\.0{5,}\d"),
    "scientific notation": re.compile(r"(?<![\w.])-?\d+(\.\d+)?[eE][-+]?\d+\b"),
    "a negative zero": re.compile(r"(?<![\w.,])-0(\.0+)?(?![\d.,])"),
    "nan or inf": re.compile(r"(?<![\w-])(nan|NaN|inf|-inf|Infinity)(?![\w-])"),
    "five or more digits without separators": re.compile(r"(?<![\w.,:/#-])\d{5,}(?![\w,:/-])"),
    "a percentage of four or more digits without separators": re.compile(r"(?<![\w.,])\d{4,}(\.\d+)?%"),
}


def visible_text(markup: str) -> str:
    """The text of an HTML page or fragment as a reader sees it: no scripts, styles or images, one space per gap."""
    text = _TAG.sub(" ", _HIDDEN.sub(" ", markup))
    return _RUN_ID.sub(" ", re.sub(r"\s+", " ", html.unescape(text)))


def unformatted_numbers(text: str) -> list[str]:
    """Every number in ``text`` that no kit format writes, with what it is and 50 characters around it."""
    found = []
    for what, pattern in UNFORMATTED.items():
        for m in pattern.finditer(text):
            found.append(f"{what}: ...{text[max(0, m.start() - 50): m.end() + 20]}...")
    return found


def notebook_output_text(path: Path) -> str:
    """The visible text of a committed notebook's HTML and plain-text outputs (the sample's page, as committed)."""
    parts = []
    for cell in json.loads(path.read_text(encoding="utf-8")).get("cells", []):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            shown = data.get("text/html") or data.get("text/markdown") or data.get("text/plain") or out.get("text") or ""
            parts.append("".join(shown) if isinstance(shown, list) else str(shown))
    return visible_text("\n".join(parts))
