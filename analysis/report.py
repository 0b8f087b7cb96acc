"""What a notebook hands to the report: safe tables, headlines, parameters, number formats.

A notebook creates one :class:`ReportContext`; every table it exports goes through
:meth:`ReportContext.table` (privacy checks, then CSV in the run folder) and every
headline finding through :meth:`ReportContext.headline` (collected for the run's
executive summary). Outside a scheduled run ``output_dir`` is None and nothing is
written, so analysts can run the same notebook interactively.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.privacy import DEFAULT_MIN_GROUP_SIZE, SUPPRESSED, assert_no_identifiers, escape, suppress_small_groups

#: Column names read as "number of people behind this row" when no count column is named.
COUNT_COLUMNS: tuple[str, ...] = ("n", "n_employees", "n_trainees", "headcount", "employees", "trainees")


def fmt_money(value: float, currency: str = "¥", digits: int = 0) -> str:
    """Money for people: ``fmt_money(1234567.8) == "¥1,234,568"``; negatives as ``-¥1,200``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    sign = "-" if value < 0 else ""
    return f"{sign}{currency}{abs(value):,.{digits}f}"


def fmt_number(value: float, digits: int = 0) -> str:
    """A number with thousands separators: ``fmt_number(12345.678, 1) == "12,345.7"``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}"


def fmt_pct(value: float, digits: int = 0) -> str:
    """A share as a percentage: ``fmt_pct(0.4567) == "46%"``, ``fmt_pct(0.4567, 1) == "45.7%"``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{100 * value:.{digits}f}%"


@dataclass
class Headline:
    """One headline finding; renders as escaped HTML in a notebook."""

    text: str
    key: str | None = None
    value: float | None = None

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return f'<p class="headline"><strong>{escape(self.text)}</strong></p>'

    def _repr_markdown_(self) -> str:
        return f"**{escape(self.text)}**"


@dataclass
class ReportContext:
    """A notebook's link to its report folder.

    Parameters
    ----------
    notebook : str
        Notebook name without extension, e.g. ``"02_training_attribution"``.
    output_dir : str or Path, optional
        The run folder; None (interactive use) writes nothing.
    min_group_size : int
        Rows about fewer people than this are suppressed in published tables.
    known_ids : iterable of str
        The dataset's employee ids, so a table carrying them under any name is refused.
    """

    notebook: str
    output_dir: str | Path | None = None
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE
    known_ids: Iterable[str] = ()
    headlines: list[Headline] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.known_ids = frozenset(map(str, self.known_ids))
        # verdicts and notes in tables are sentences: a report shows them whole, not cut at 50 characters
        pd.set_option("display.max_colwidth", None)

    @property
    def _root(self) -> Path | None:
        return Path(self.output_dir) if self.output_dir is not None else None

    def print_parameters(self, **params: Any) -> None:
        """Print the parameters the notebook runs with (shown in the report instead of code)."""
        print(f"Parameters of {self.notebook}:")
        for name, value in params.items():
            print(f"  {name} = {value!r}")

    def table(self, df: pd.DataFrame, name: str, *, count_col: str | None = None, index: bool = False) -> pd.DataFrame:
        """Check a table for privacy, suppress small groups, export it, return the safe copy.

        Parameters
        ----------
        df : DataFrame
            Table to publish.
        name : str
            File stem; written to ``<output_dir>/tables/<notebook>__<name>.csv``.
        count_col : str, optional
            Column with the number of people behind each row; default the first of
            :data:`COUNT_COLUMNS` present. Rows below ``min_group_size`` are suppressed.
        index : bool
            Write the index as well.

        Returns
        -------
        DataFrame
            The table as published.

        Raises
        ------
        analysis.privacy.PrivacyError
            The table carries raw employee identifiers.
        """
        safe = df.reset_index() if index else df
        assert_no_identifiers(safe, self.known_ids)
        count_col = count_col or next((c for c in COUNT_COLUMNS if c in safe.columns), None)
        if count_col is not None:
            safe = suppress_small_groups(safe, count_col, self.min_group_size)
        if self._root is not None:
            folder = self._root / "tables"
            folder.mkdir(parents=True, exist_ok=True)
            safe.to_csv(folder / f"{self.notebook}__{name}.csv", index=False)
        return safe

    def suppression_note(self, table: pd.DataFrame, labels: list[str]) -> Text:
        """A visible sentence naming the rows a published table suppressed.

        Parameters
        ----------
        table : DataFrame
            A table returned by :meth:`table` (suppressed rows carry a ``note``).
        labels : list of str
            Columns that name a row (e.g. program and month), shown for each suppressed row.

        Returns
        -------
        Text
            E.g. ``"Suppressed (fewer than 5 people): P03 2025-07, P03 2025-08."``
        """
        note = table["note"].astype("string").fillna("") if "note" in table.columns else pd.Series("", index=table.index)
        hidden = table[note.str.startswith(SUPPRESSED)]
        if hidden.empty:
            return Text(f"No group is below the minimum size of {self.min_group_size} people; nothing is suppressed.")
        names = [" ".join(_label(v) for v in row) for row in hidden[labels].itertuples(index=False)]
        return Text(f"Suppressed (fewer than {self.min_group_size} people): {', '.join(names)}.")

    def headline(self, text: str, *, key: str | None = None, value: float | None = None) -> Headline:
        """Record a headline finding for the run's executive summary and return it for display.

        Parameters
        ----------
        text : str
            The finding in plain words, with its uncertainty.
        key : str, optional
            What it is about (e.g. a program id), for the index of runs.
        value : float, optional
            The headline number.
        """
        item = Headline(text, key, None if value is None else float(value))
        self.headlines.append(item)
        if self._root is not None:
            folder = self._root / "headlines"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{self.notebook}.json").write_text(
                json.dumps([h.__dict__ for h in self.headlines], ensure_ascii=False, indent=1), encoding="utf-8"
            )
        return item


@dataclass
class Text:
    """A heading or paragraph built from data, shown escaped (data strings never become markup)."""

    text: str
    level: int = 0

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        tag = f"h{self.level}" if self.level else "p"
        return f"<{tag}>{escape(self.text)}</{tag}>"

    def _repr_markdown_(self) -> str:
        return ("#" * self.level + " " if self.level else "") + escape(self.text)


def _label(value: Any) -> str:
    """A table value as a short label: months as ``YYYY-MM``, dates as ``YYYY-MM-DD``."""
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m}" if value.day == 1 and value == value.normalize() else f"{value:%Y-%m-%d}"
    return str(value)


@dataclass
class Bullets:
    """A bulleted list of data strings, shown escaped."""

    items: list[str]

    def __repr__(self) -> str:
        return "\n".join(f"- {item}" for item in self.items)

    def _repr_html_(self) -> str:
        return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in self.items) + "</ul>"

    def _repr_markdown_(self) -> str:
        return "\n".join(f"- {escape(item)}" for item in self.items)


def bullets(items: Iterable[str], *, empty: str = "None.") -> Bullets | Text:
    """A bulleted list built from data (e.g. validation warnings), HTML-escaped; ``empty`` if none."""
    items = [str(item) for item in items]
    return Bullets(items) if items else Text(empty)


def heading(text: str, level: int = 2) -> Text:
    """A section heading built from data (e.g. a program name), HTML-escaped."""
    return Text(text, level)


def paragraph(text: str) -> Text:
    """A paragraph of findings in words, HTML-escaped."""
    return Text(text)


def show(*objects: Any) -> None:
    """Display objects in a notebook (a thin wrapper, so notebooks import only ``analysis``)."""
    from IPython.display import display

    display(*objects)
