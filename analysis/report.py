"""What a notebook hands to the report: safe tables, formatted tables, headlines, number formats.

A notebook creates one :class:`ReportContext`; every table it exports goes through
:meth:`ReportContext.table` (privacy checks, then the raw CSV in the run folder) and every
headline finding through :meth:`ReportContext.headline` (collected for the run summary,
with the question it answers). Outside a scheduled run ``output_dir`` is None and nothing
is written, so analysts can run the same notebook interactively.

Showing a table
---------------
Every table a report shows goes through one formatting layer, :func:`format_table`
(pandas Styler underneath): column labels in words (with units), no index, thousands
separators, money with its currency, shares as percentages (``57%``, as the headlines
write them), months as ``2024-04`` everywhere, p-values as ``0.94`` or ``<0.001``, an
estimate and its 95% interval rounded where its standard error says the digits stop
(two significant digits of the SE), yes/no for booleans, blanks for missing values and
long sentences wrapped so the table fits the page. The CSV export keeps every raw column::

    ctx = ReportContext("02_training_attribution", output_dir, min_group_size,
                        known_ids=dataset.employees["employee_id"],
                        kpi_definitions=dataset.kpi_definitions)
    ctx.show_table(overview, "overview")                      # export raw CSV, show formatted
    ctx.show_table(ladder, "P01_ladder", columns=["rung", "estimate", "se", "ci_low", "ci_high"],
                   units={"estimate": "CNY"})                 # show a subset, label with the unit
    ctx.show_table(roi, "roi", formats={"cost_total": "money"}, labels={"status": "Verdict"})
    ctx.headline(text, key="P01", value=att, question="effect", money=benefit)
    show(method_details(paragraph(ev.methods_note), ctx.format(ev.diagnostics_table)))

Column kinds (``formats=``) are ``text, int, number, estimate, se, p, money, share,
percent, month, date, bool``; most are inferred from the column's name and type (see
:func:`column_kind`). KPI identifiers in a ``kpi`` column are shown by their display
name (the optional ``label`` of ``kpi_definitions``, else a readable form of the id:
``tickets_resolved`` -> ``Tickets resolved``). :func:`page_title` gives a notebook's
title (its first Markdown heading) for headings and links.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.privacy import DEFAULT_MIN_GROUP_SIZE, SUPPRESSED, assert_no_identifiers, escape, suppress_small_groups
from analysis.upstream import results_marker

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
    return f"{100 * value:,.{digits}f}%"


def fmt_signed_pct(value: float) -> str:
    """A percentage already in percent, signed and whole: ``fmt_signed_pct(168.2) == "+168%"``, ``"-1,100%"``.

    For ROI and other changes written as percentages, where the sign is the finding; ``-0%`` is
    written ``0%``.
    """
    if value is None or not np.isfinite(value):
        return "n/a"
    text = f"{value:+,.0f}%"
    return "0%" if text in ("+0%", "-0%") else text


#: The one way a calendar month is written in every table, sentence and chart of a report.
MONTH_FORMAT = "%Y-%m"

#: The questions a report set answers, by key; the run summary leads with one finding per question.
QUESTIONS: dict[str, str] = {
    "data": "Can the data be trusted?",
    "gaps": "Where are the skill gaps?",
    "effect": "Did the training change the KPI it targets?",
    "roi": "Did the training pay back?",
    "budget": "Where should the next training budget go?",
    "scorecard": "How does each program score overall?",
}

#: Question a notebook answers by default, by its number prefix.
NOTEBOOK_QUESTIONS: dict[str, str] = {"00": "data", "01": "gaps", "02": "effect", "03": "roi", "04": "scorecard"}

#: Words kept in capitals when an identifier is made readable.
_ACRONYMS = {"kpi": "KPI", "roi": "ROI", "ci": "CI", "id": "ID", "se": "SE", "bcr": "BCR", "att": "ATT", "did": "DiD", "hr": "HR"}

#: Column labels in words for the column names the kit's tables use (others fall back to :func:`readable`).
COLUMN_LABELS: dict[str, str] = {
    "program_id": "Program", "program": "Program", "program_name": "Program", "name": "Name", "kpi": "KPI", "unit": "Unit",
    "department": "Department", "role": "Role", "region": "Region", "grade": "Grade", "dimension": "Split by", "group": "Group",
    "table": "Table", "column": "Column", "columns": "Columns", "rows": "Rows", "key": "Key", "message": "Message",
    "note": "Note", "notes": "Notes", "status": "Status", "verdict": "Verdict", "check": "Check", "result": "Result",
    "month": "Month", "cohort_month": "First training month", "training_month": "Training month", "event_time": "Months since training",
    "n": "People", "n_employees": "Employees", "employees": "Employees", "headcount": "Headcount",
    "n_trainees": "Trainees", "trainees": "Trainees", "trainees_used": "Trainees used", "n_controls": "Comparison employees",
    "controls": "Comparison employees", "participants": "Participants", "eligible": "People with a gap", "unknown": "Never assessed",
    "joined": "Joined", "left": "Left", "missing": "Missing values", "share": "Share",
    "att": "Effect per trainee and month", "estimate": "Estimate", "se": "Standard error", "std_error": "Standard error",
    "ci_low": "95% CI low", "ci_high": "95% CI high", "p_value": "p-value", "true_att": "True effect (sample data)",
    "raw_change": "Raw before/after change", "rung": "Method", "recommended": "Recommended",
    "mean": "Mean", "median": "Median", "p25": "25th percentile", "p75": "75th percentile",
    "cost_total": "Total cost", "benefit_median": "Benefit (median)", "roi_pct_median": "ROI (median)",
    "roi_pct_low": "ROI 95% low", "roi_pct_high": "ROI 95% high", "bcr_median": "Benefit-cost ratio (median)",
    "payback_months_median": "Payback (months, median)", "p_roi_positive": "Chance ROI is positive", "true_roi_pct": "True ROI (sample data)",
    "priority_score": "Priority score", "honest_breakdown_m": "HonestDiD breakdown M", "estimated_as": "Estimated as",
}  # fmt: skip

#: Columns holding an estimate on the KPI's scale (rounded by the row's standard error when the table has one).
ESTIMATE_COLUMNS: tuple[str, ...] = ("att", "estimate", "ci_low", "ci_high", "true_att", "raw_change", "effect")
#: Columns holding the standard error of the row's estimate.
SE_COLUMNS: tuple[str, ...] = ("se", "std_error", "std_errors")
#: Column-name patterns read as money, shares (0-1) and percentages (already times 100).
_MONEY = re.compile(r"(^|_)(cost|costs|benefit|benefits|budget|spend|amount|money|cny|net_benefit|value_money|price)(_|$)")
_SHARE = re.compile(r"(^share$|^share_|_share$|^p_roi_positive$|^coverage$|^probability$|^prob_)")
_PERCENT = re.compile(r"(_pct$|_pct_|^pct_|_percent$)")
_MONTH_NAME = re.compile(r"(^month$|_month$)")
_MONTH_TEXT = re.compile(r"^\d{4}-\d{2}(-01)?$")
_COUNT_NAME = re.compile(r"(^n$|^n_|_n$|count|^rows$|^columns$|employees|trainees|participants|headcount|^eligible$|^unknown$|^joined$|^left$|^missing$|controls)")
#: Kinds a column can be formatted as (``formats=`` of :func:`format_table`).
KINDS: tuple[str, ...] = ("text", "int", "number", "estimate", "se", "p", "money", "share", "percent", "month", "date", "bool")
_NUMERIC_KINDS = {"int", "number", "estimate", "se", "p", "money", "share", "percent"}
#: Text cells that read as numbers ("26", "<5", "1,234", "57%") are right-aligned like numbers.
_NUMBER_TEXT = re.compile(r"[<>≤≥~]?-?[¥$€£]?[\d,]+(\.\d+)?%?")
#: Text columns with a value longer than this wrap inside a bounded width.
WRAP_AFTER = 40


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def readable(identifier: Any) -> str:
    """A readable form of an identifier: ``"tickets_resolved"`` -> ``"Tickets resolved"``.

    Underscores become spaces, the first letter is capitalised and known acronyms stay in
    capitals (``"roi_pct_median"`` -> ``"ROI pct median"``); an id with capitals or digits
    only (``"P01"``) is returned as it is.
    """
    text = str(identifier)
    if "_" not in text and (text != text.lower() or not text.replace(" ", "").isalpha()):
        return text
    words = [_ACRONYMS.get(w.lower(), w) for w in text.replace("_", " ").split()]
    if not words:
        return text
    first = words[0] if words[0] in _ACRONYMS.values() else words[0][:1].upper() + words[0][1:]
    return " ".join([first, *words[1:]])


def kpi_words(kpi: str, labels: Mapping[str, str] | None = None) -> str:
    """A KPI's name inside a sentence or axis label: its display label, else the id made readable, lower case.

    ``kpi_words("tickets_resolved") == "tickets resolved"``; ``kpi_words("ROI") == "ROI"``.
    """
    name = (labels or {}).get(kpi) or readable(kpi)
    return name if name[:2].isupper() else name[:1].lower() + name[1:]


def kpi_labels(definitions: pd.DataFrame | None) -> dict[str, str]:
    """Display name of every KPI: the optional ``label`` column of ``kpi_definitions``, else :func:`readable`."""
    if definitions is None or "kpi" not in definitions:
        return {}
    labels = definitions["label"] if "label" in definitions else pd.Series(pd.NA, index=definitions.index)
    return {str(k): (str(lab) if not _missing(lab) and str(lab).strip() else readable(k)) for k, lab in zip(definitions["kpi"], labels, strict=True)}


def kpi_label(kpi: str, definitions: pd.DataFrame | None = None) -> str:
    """A KPI's display name (``label`` in ``kpi_definitions`` when given, else a readable form of the id)."""
    return kpi_labels(definitions).get(str(kpi), readable(kpi))


def page_title(notebook: str | Path) -> str:
    """A notebook's page title, for headings and links.

    ``metadata.kit.title`` when set, else its first Markdown heading without the step number
    (``"# 00 · Data quality"`` -> ``"Data quality"``), else a readable form of the file name.
    A name without an existing file (``"02_training_attribution"``) is looked up in ``notebooks/``.
    """
    path = Path(notebook)
    if path.suffix != ".ipynb":
        path = path.with_suffix(".ipynb")
    candidates = [path, Path("notebooks") / path.name, Path(__file__).resolve().parents[1] / "notebooks" / path.name]
    for candidate in candidates:
        if candidate.is_file():
            try:
                nb = json.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                break
            title = (nb.get("metadata", {}).get("kit", {}) or {}).get("title")
            if title:
                return str(title)
            for cell in nb.get("cells", []):
                if cell.get("cell_type") == "markdown":
                    source = "".join(cell.get("source", []))
                    match = re.search(r"^#\s+(.+)$", source, flags=re.M)
                    if match:
                        return re.sub(r"^\d+\s*[·.:\-–—]\s*", "", match.group(1).strip())
            break
    return readable(re.sub(r"^\d+_", "", path.stem))


def fmt_month(value: Any) -> str:
    """A calendar month written the one way reports write it: ``fmt_month("2024-04-01") == "2024-04"``."""
    if _missing(value):
        return ""
    return f"{pd.Timestamp(value):{MONTH_FORMAT}}"


def fmt_sig(value: float, sig: int = 3) -> str:
    """A number to ``sig`` significant digits, whole part kept, thousands separated.

    ``fmt_sig(0.053214) == "0.0532"``, ``fmt_sig(12345.6) == "12,346"``, ``fmt_sig(2.5) == "2.50"``.
    """
    if _missing(value):
        return ""
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    digits = max(0, sig - 1 - math.floor(math.log10(abs(value))))
    return f"{value:,.{digits}f}"


def se_decimals(se: float) -> int:
    """Decimals at which a standard error's second significant digit sits (negative: tens, hundreds ...).

    ``se_decimals(0.0303) == 3``, ``se_decimals(4.2) == 1``, ``se_decimals(1234) == -2``.
    """
    return 1 - math.floor(math.log10(abs(float(se))))


def fmt_estimate(value: float, se: float | None) -> str:
    """An estimate to the precision its standard error supports (the SE's two significant digits).

    ``fmt_estimate(0.0532, 0.0303) == "0.053"``, ``fmt_estimate(5432.1, 1234) == "5,400"``; with no
    usable SE, three significant digits.
    """
    if _missing(value):
        return ""
    if se is None or _missing(se) or not math.isfinite(float(se)) or float(se) <= 0:
        return fmt_sig(value)
    digits = se_decimals(se)
    rounded = round(float(value), digits)
    if rounded == 0:
        rounded = 0.0  # no "-0.000"
    return f"{rounded:,.{max(0, digits)}f}"


def fmt_p(value: float) -> str:
    """A p-value: ``"<0.001"`` below 0.001, else two significant digits (``0.94``, ``0.053``), at most 3 decimals."""
    if _missing(value):
        return ""
    value = float(value)
    if value < 0.001:
        return "<0.001"
    digits = min(3, max(2, 1 - math.floor(math.log10(value))))
    return f"{value:.{digits}f}"


def fmt_share(value: float) -> str:
    """A share (0-1) as a percentage matching the headlines: ``0.569 -> "57%"``, ``0.012 -> "1.2%"``."""
    if _missing(value):
        return ""
    pct = 100 * float(value)
    return f"{pct:,.{0 if abs(pct) >= 10 or pct == 0 else 1}f}%"


def fmt_parameter(value: Any) -> str:
    """A parameter value in words: ``None`` -> ``"not set (default)"``, booleans yes/no, lists comma-joined, text unquoted."""
    if value is None:
        return "not set (default)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(fmt_parameter(v) for v in value) if value else "none"
    if isinstance(value, float):
        return fmt_sig(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    return str(value)


def fmt_bool(value: Any) -> str:
    """``"yes"`` / ``"no"``, blank when missing."""
    if _missing(value):
        return ""
    if isinstance(value, str):
        return {"true": "yes", "false": "no"}.get(value.strip().lower(), value)
    return "yes" if bool(value) else "no"


def _is_bool_column(col: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(col):
        return True
    if col.dtype == object or isinstance(col.dtype, pd.StringDtype):
        values = col.dropna()
        return len(values) > 0 and all(isinstance(v, (bool, np.bool_)) for v in values)
    return False


#: Column names holding p-values (adjusted ones included): shown as ``0.94`` or ``<0.001``.
P_VALUE_COLUMNS = frozenset({"p_value", "pvalue", "p", "p_holm"})


def column_kind(name: str, col: pd.Series, *, has_se: bool = False) -> str:
    """The format kind of a column, from its type and name.

    Booleans -> ``bool``; datetimes on the first of a month, or ``*month`` text like ``2024-04`` ->
    ``month``, other datetimes -> ``date``; ``p_value`` and the other :data:`P_VALUE_COLUMNS` -> ``p``; with an SE column in the table,
    :data:`ESTIMATE_COLUMNS` -> ``estimate`` and :data:`SE_COLUMNS` -> ``se``; money-like names
    (cost, benefit, budget ...) -> ``money``; ``share`` names -> ``share``; ``*_pct`` -> ``percent``;
    whole numbers -> ``int``; other numbers -> ``number``; anything else -> ``text``.
    """
    name = str(name)
    if _is_bool_column(col):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(col):
        values = col.dropna()
        return "month" if len(values) and bool((values == values.dt.to_period("M").dt.to_timestamp()).all()) else "date"
    numeric = pd.api.types.is_numeric_dtype(col)
    if not numeric:
        values = col.dropna().astype(str)
        if _MONTH_NAME.search(name) and len(values) and values.str.match(_MONTH_TEXT).all():
            return "month"
        return "text"
    if name in P_VALUE_COLUMNS or name.startswith("p_value"):
        return "p"
    if has_se and name in SE_COLUMNS:
        return "se"
    if has_se and name in ESTIMATE_COLUMNS:
        return "estimate"
    if _SHARE.search(name):
        return "share"
    if _PERCENT.search(name):
        return "percent"
    if _MONEY.search(name):
        return "money"
    values = col.dropna().astype(float)
    if pd.api.types.is_integer_dtype(col) or (len(values) and _COUNT_NAME.search(name) and bool((values == values.round()).all())):
        return "int"
    return "number"


def _format_cell(kind: str, value: Any, *, se: Any = None, currency: str = "¥") -> str:
    if _missing(value):
        return ""
    if kind == "bool":
        return fmt_bool(value)
    if kind == "month":
        return fmt_month(value)
    if kind == "date":
        return f"{pd.Timestamp(value):%Y-%m-%d}"
    if kind == "text":
        return str(value)
    if kind == "int":
        return f"{round(float(value)):,}"
    if kind == "p":
        return fmt_p(value)
    if kind in ("estimate", "se"):
        return fmt_estimate(value, se)
    if kind == "money":
        value = float(value)
        return fmt_money(value, currency, 0 if abs(value) >= 100 or value == round(value) else 2)
    if kind == "share":
        return fmt_share(value)
    if kind == "percent":
        return fmt_share(float(value) / 100)
    return fmt_sig(value)


@dataclass
class Table:
    """A table formatted for people: shows as HTML in a notebook, plain text elsewhere.

    Attributes
    ----------
    data : DataFrame
        The table as exported (raw values, every column).
    display : DataFrame
        The cells as shown (text), with the labels as column names.
    kinds : dict of str to str
        The format kind of each shown column, by its shown label.
    """

    data: pd.DataFrame
    display: pd.DataFrame
    kinds: dict[str, str]
    caption: str | None = None
    uuid: str = "kit"

    def __repr__(self) -> str:
        if self.display.empty:
            return "(no rows)"
        text = self.display.to_string(index=False)
        return f"{self.caption}\n{text}" if self.caption else text

    def styler(self) -> Any:
        """The pandas Styler that renders the table (labels, alignment, wrapping, no index)."""
        shown = self.display

        def cls(col: str) -> str:
            values = shown[col][shown[col] != ""]
            if self.kinds[col] in _NUMERIC_KINDS or (len(values) and values.str.fullmatch(_NUMBER_TEXT).all()):
                return "num"
            return "wrap" if shown[col].str.len().max() > WRAP_AFTER else "txt"

        classes = pd.DataFrame({col: [cls(col)] * len(shown) for col in shown.columns}, index=shown.index)
        # data strings never become markup: cells, column labels and the caption are escaped
        styler = shown.style.hide(axis="index").set_uuid(self.uuid).set_td_classes(classes)
        styler = styler.format(escape="html").format_index(escape="html", axis=1)
        # wide tables get a smaller type and tighter cells so they fit a 1280 px page
        ncols = shown.shape[1]
        size, pad, head = ("0.85rem", "0.25rem 0.6rem", "11em") if ncols <= 7 else (("0.8rem", "0.2rem 0.4rem", "9em") if ncols <= 10 else ("0.72rem", "0.2rem 0.25rem", "7em"))
        styler = styler.set_table_attributes('class="kit-table"').set_table_styles([
            {"selector": "", "props": f"border-collapse: collapse; font-size: {size}; table-layout: auto; margin: 0.4rem 0 1rem 0; max-width: 100%;"},
            {"selector": "caption", "props": "caption-side: top; text-align: left; font-weight: 600; padding: 0.2rem 0;"},
            {"selector": "th", "props": f"text-align: left; vertical-align: bottom; padding: {pad}; border-bottom: 1px solid #999; white-space: normal; max-width: {head}; overflow-wrap: break-word; font-weight: 600;"},
            {"selector": "td", "props": f"padding: {pad}; border-bottom: 1px solid #eee; vertical-align: top;"},
            {"selector": "td.num", "props": "text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums;"},
            {"selector": "td.txt", "props": "text-align: left; white-space: normal;"},
            {"selector": "td.wrap", "props": "text-align: left; white-space: normal; min-width: 9em; max-width: 22em; overflow-wrap: anywhere;"},
        ])  # fmt: skip
        if self.caption:
            styler = styler.set_caption(escape(self.caption))
        return styler

    def _repr_html_(self) -> str:
        if self.display.empty:
            return '<p class="kit-empty">(no rows)</p>'
        return self.styler().to_html()

    def to_html(self) -> str:
        """The table as an HTML fragment (what a notebook shows)."""
        return self._repr_html_()


def format_table(
    df: pd.DataFrame,
    *,
    columns: list[str] | None = None,
    labels: Mapping[str, str] | None = None,
    formats: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    value_labels: Mapping[str, Mapping[Any, str]] | None = None,
    se_col: str | None = None,
    merge_ci: bool = True,
    drop_empty: bool = True,
    currency: str = "¥",
    caption: str | None = None,
    uuid: str | None = None,
) -> Table:
    """Format a table for people (the one formatting layer every shown table goes through).

    Parameters
    ----------
    df : DataFrame
        Raw table (a named index is shown as leading columns; a plain row number is dropped).
    columns : list of str, optional
        Columns to show, in order (default all); the CSV export keeps the rest.
    labels : mapping, optional
        Column label in words for a column name (default :data:`COLUMN_LABELS`, then :func:`readable`).
    formats : mapping, optional
        Format kind (:data:`KINDS`) for a column name; default :func:`column_kind`.
    units : mapping, optional
        Unit for a column name, added to its label: ``{"att": "CNY"}`` -> ``"Effect ... (CNY)"``.
    value_labels : mapping, optional
        Display names for the values of a column (e.g. ``{"kpi": {"sales": "Monthly sales"}}``).
    se_col : str, optional
        Column with each row's standard error (default the first of :data:`SE_COLUMNS` present);
        estimate columns of a row are rounded at its SE's second significant digit.
    merge_ci : bool
        Show ``ci_low`` and ``ci_high`` as one ``95% CI`` column (``-0.007 to 0.114``).
    drop_empty : bool
        Leave out columns with no value in any row (they stay in the CSV).
    currency : str
        Currency symbol of money columns.
    caption : str, optional
        A line above the table.
    uuid : str, optional
        Id of the HTML table (default: derived from the columns, so a page is the same run after run).

    Returns
    -------
    Table
    """
    raw = df
    if not isinstance(df.index, pd.RangeIndex) or any(n is not None for n in df.index.names):
        if any(n is not None for n in df.index.names):
            df = df.reset_index()
        else:
            df = df.reset_index(drop=True)
    labels, formats, units, value_labels = dict(labels or {}), dict(formats or {}), dict(units or {}), dict(value_labels or {})
    unknown = [k for k, v in formats.items() if v not in KINDS]
    if unknown:
        raise ValueError(f"format_table: unknown format kind for {unknown}; kinds are {KINDS}")
    shown_cols = [str(c) for c in (columns if columns is not None else df.columns)]
    missing_cols = [c for c in shown_cols if c not in df.columns]
    if missing_cols:
        raise KeyError(f"format_table: no column(s) {missing_cols}; columns are {list(df.columns)}")
    se_col = se_col or next((c for c in SE_COLUMNS if c in df.columns), None)
    has_se = se_col is not None
    se = df[se_col] if has_se else pd.Series(np.nan, index=df.index)
    cells: dict[str, list[str]] = {}
    kinds: dict[str, str] = {}
    for col in shown_cols:
        series = df[col]
        if col in value_labels:
            mapping = value_labels[col]
            series = series.map(lambda v, m=mapping: m.get(v, v) if not _missing(v) else v)
        kind = formats.get(col) or column_kind(col, df[col], has_se=has_se)
        if kind in ("estimate", "se"):
            texts = [_format_cell(kind, v, se=s, currency=currency) for v, s in zip(series, se, strict=True)]
        else:
            texts = [_format_cell(kind, v, currency=currency) for v in series]
        if drop_empty and all(t == "" for t in texts) and len(texts):
            continue
        label = labels.get(col) or COLUMN_LABELS.get(col) or readable(col)
        if col in units and units[col]:
            label = f"{label} ({units[col]})"
        cells[label] = texts
        kinds[label] = kind
    ci_low = labels.get("ci_low") or COLUMN_LABELS["ci_low"]
    ci_high = labels.get("ci_high") or COLUMN_LABELS["ci_high"]
    if merge_ci and ci_low in cells and ci_high in cells:
        merged = [f"{lo} to {hi}" if lo and hi else "" for lo, hi in zip(cells[ci_low], cells[ci_high], strict=True)]
        unit = f" ({units['ci_low']})" if units.get("ci_low") else ""
        rebuilt: dict[str, list[str]] = {}
        for label, texts in cells.items():
            if label == ci_low:
                rebuilt[f"95% CI{unit}"] = merged
                kinds[f"95% CI{unit}"] = kinds[ci_low]
            elif label != ci_high:
                rebuilt[label] = texts
        cells = rebuilt
    display = pd.DataFrame(cells, index=pd.RangeIndex(len(df)), dtype=object)
    if uuid is None:
        uuid = "kit" + hashlib.sha1("|".join(display.columns).encode("utf-8")).hexdigest()[:8]
    return Table(data=raw, display=display, kinds={k: kinds[k] for k in display.columns}, caption=caption, uuid=uuid)


@dataclass
class Details:
    """A collapsed section (``<details>``) for analyst internals: method details, engine messages."""

    objects: tuple[Any, ...]
    title: str = "Method details"

    def __repr__(self) -> str:
        return self.title + "\n" + "\n".join(repr(o) if not isinstance(o, str) else o for o in self.objects)

    def _repr_html_(self) -> str:
        parts = []
        for obj in self.objects:
            if isinstance(obj, str):
                parts.append(f"<p>{escape(obj)}</p>")
            elif hasattr(obj, "_repr_html_"):
                parts.append(obj._repr_html_())
            else:
                parts.append(f"<pre>{escape(str(obj))}</pre>")
        return f'<details class="kit-method"><summary>{escape(self.title)}</summary>{"".join(parts)}</details>'


def method_details(*objects: Any, title: str = "Method details") -> Details:
    """Collapse analyst internals (tables, sentences) under a "Method details" section at the end of a page.

    Parameters
    ----------
    *objects
        Strings (shown escaped as paragraphs) or displayable objects (:class:`Table`, :class:`Text` ...).
    title : str
        The section's summary line.
    """
    return Details(objects, title)


@dataclass
class Headline:
    """One headline finding; renders as escaped HTML in a notebook."""

    text: str
    key: str | None = None
    value: float | None = None
    question: str | None = None
    money: float | None = None
    money_label: str | None = None  # what the money figure is ("net benefit"), written before it on the run summary

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
    kpi_definitions : DataFrame, optional
        The dataset's KPI definitions, for KPI display names (optional ``label`` column).
    """

    notebook: str
    output_dir: str | Path | None = None
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE
    known_ids: Iterable[str] = ()
    headlines: list[Headline] = field(default_factory=list)
    kpi_definitions: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        self.known_ids = frozenset(map(str, self.known_ids))
        # verdicts and notes in tables are sentences: a report shows them whole, not cut at 50 characters
        pd.set_option("display.max_colwidth", None)

    @property
    def _root(self) -> Path | None:
        return Path(self.output_dir) if self.output_dir is not None else None

    def print_parameters(self, **params: Any) -> None:
        """Print the parameters as Python literals (``programs = None``): kept for notebooks not yet moved to
        :meth:`show_parameters`, which writes them in words and is what a report page should show."""
        print(f"Parameters of {self.notebook}:")
        for name, value in params.items():
            print(f"  {name} = {value!r}")

    def show_parameters(self, **params: Any) -> None:
        """Print the parameters the notebook runs with, in words (no Python reprs: ``None`` reads "not set").

        Shown in the report instead of code; :func:`fmt_parameter` writes each value.
        """
        print("Parameters of this page:")
        for name, value in params.items():
            print(f"  {name}: {fmt_parameter(value)}")

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
            path = folder / f"{self.notebook}__{name}.csv"
            partial = folder / f".{path.name}.partial"  # a notebook reading this run's tables meanwhile never sees half a file
            safe.to_csv(partial, index=False)
            os.replace(partial, path)
        return safe

    def results_ready(self) -> None:
        """Say that every table other notebooks read from this run is written (nothing outside a run).

        The notebooks that depend on this one (``metadata.kit.depends_on``) start then, while this
        one goes on with its figures: notebook 02 calls it after its exports, so 03's ROI and 04's
        scorecard run beside 02's figures instead of after them. Tables are written whole
        (:meth:`table`), so a reader never sees half a file.
        """
        if self._root is not None:
            marker = results_marker(self._root, self.notebook)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()

    def kpi_label(self, kpi: str) -> str:
        """A KPI's display name (its ``label`` in ``kpi_definitions``, else a readable form of the id)."""
        return kpi_label(kpi, self.kpi_definitions)

    @property
    def kpi_names(self) -> dict[str, str]:
        """Display name of every KPI of the dataset (for charts and sentences)."""
        return kpi_labels(self.kpi_definitions)

    @property
    def title(self) -> str:
        """The notebook's page title (:func:`page_title`)."""
        return page_title(self.notebook)

    def format(self, df: pd.DataFrame, **options: Any) -> Table:
        """Format a table for display without exporting it (:func:`format_table`; KPI ids shown by name)."""
        if "kpi" in df.columns and self.kpi_definitions is not None:
            value_labels = {"kpi": kpi_labels(self.kpi_definitions), **(options.pop("value_labels", None) or {})}
            options["value_labels"] = value_labels
        return format_table(df, **options)

    def show_table(
        self, df: pd.DataFrame, name: str, *, count_col: str | None = None, index: bool = False, **options: Any
    ) -> Table:
        """Export a table's raw CSV (privacy checks, suppression: :meth:`table`) and return it formatted for display.

        Parameters
        ----------
        df : DataFrame
            Table to publish.
        name : str
            File stem of the CSV export.
        count_col, index
            As in :meth:`table`.
        **options
            Display options of :func:`format_table` (``columns``, ``labels``, ``formats``, ``units``,
            ``caption`` ...); the CSV keeps every column.

        Returns
        -------
        Table
            Displayable; ``.data`` is the table as exported.
        """
        safe = self.table(df, name, count_col=count_col, index=index)
        options.setdefault("uuid", re.sub(r"[^A-Za-z0-9_]", "_", f"{self.notebook}__{name}"))
        return self.format(safe, **options)

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

    def headline(
        self, text: str, *, key: str | None = None, value: float | None = None, question: str | None = None,
        money: float | None = None, money_label: str | None = None,
    ) -> Headline:
        """Record a headline finding for the run summary and return it for display.

        Parameters
        ----------
        text : str
            The finding in plain words, with its uncertainty.
        key : str, optional
            What it is about (e.g. a program id), for the index of runs.
        value : float, optional
            The headline number.
        question : str, optional
            Which question of :data:`QUESTIONS` it answers (``"gaps"``, ``"effect"``, ``"roi"``,
            ``"budget"``, ``"scorecard"``, ``"data"``); default by the notebook's number
            (:data:`NOTEBOOK_QUESTIONS`).
        money : float, optional
            The finding's money figure (in the report currency), shown beside it on the run summary.
        money_label : str, optional
            What that figure is (``"net benefit"``, ``"budget"``), written before it: a bare sum beside
            a sentence about ROI leaves the reader to guess.
        """
        question = question or NOTEBOOK_QUESTIONS.get(self.notebook[:2])
        if question is not None and question not in QUESTIONS:
            raise ValueError(f"headline: unknown question {question!r}; questions are {list(QUESTIONS)}")
        item = Headline(text, key, None if value is None else float(value), question, None if money is None else float(money),
                        money_label)
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
        return f"{value:{MONTH_FORMAT}}" if value.day == 1 and value == value.normalize() else f"{value:%Y-%m-%d}"
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
