"""Read contract tables from files and validate them: the gate every dataset passes.

:func:`validate_folder` reads one file per contract table (CSV or Parquet, once, with
its sha256), applies an optional ``mapping.yaml`` (the user's file, column and category
names onto the contract's), parses every column strictly into the contract's kind (no
silent coercion to NaN/NaT), validates each table with a pandera schema built from
:mod:`analysis.contract` (:func:`schema_for`), checks the relations between tables, and
collects the softer findings as :class:`DataWarning`. Any violation raises
:class:`DataValidationError` naming the table, the column (the user's and the
contract's name), what was expected and up to five offending rows with their file lines.

:mod:`analysis.data` builds the :class:`~analysis.data.Dataset` and its views on top.
Input files are only ever read.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import yaml

from analysis.contract import TABLES, Column, TableSpec

MAX_ROWS_SHOWN = 5
DATE_MIN = pd.Timestamp("1950-01-01")
DATE_MAX = pd.Timestamp("2100-12-31")
TINY_COHORT = 5

#: Which analyses need each optional table (said in the warning when it is absent).
OPTIONAL_TABLE_USES = {
    "assessments": "competency gap analysis",
    "role_requirements": "competency gap analysis",
    "costs": "ROI",
    "headcount_plan": "budget projection",
    "budget_priorities": "strategic budget weighting",
    "context_monthly": "market-condition controls in attribution",
    "scorecard_inputs": "the balanced scorecard's company-level figures",
    "followups": "the scorecard's follow-ups (transfer, scrap learning)",
}

_DATE_PATTERNS = {
    "YYYY-MM-DD": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "YYYY-MM": re.compile(r"^\d{4}-\d{2}$"),
}
#: A date-like value in some format (used to tell "mixed formats" from "not a date").
_DATE_LIKE = re.compile(r"^\d{1,4}[-/.]\d{1,2}([-/.]\d{1,4})?$")
#: A number written with thousands separators (1,234,567.5): the only place a comma may stand.
#: "1,5" or "1234,56" (a decimal comma) is refused rather than read as 15 or 123456.
_THOUSANDS = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"
#: A number as an extra column must spell it to be read as one (no leading zeros: 007 is a code).
_PLAIN_NUMBER = r"[+-]?(?:(?:0|[1-9]\d*)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_TRUE = {"true", "1", "1.0", "yes", "y", "t"}
_FALSE = {"false", "0", "0.0", "no", "n", "f"}
#: Spellings of "missing" accepted in number, date and true/false columns (never in text
#: columns, where "NA" may be a real code such as a region).
NULL_TOKENS = ("NA", "N/A", "n/a", "#N/A", "NaN", "nan", "null", "NULL", "None", "-")


class DataValidationError(ValueError):
    """An input table breaks the data contract.

    Attributes
    ----------
    table : str
        Contract table name.
    column : str or None
        Contract column name (None for table-level problems).
    rows : pandas.DataFrame or None
        Up to five offending rows, with their file line numbers.
    """

    def __init__(self, message: str, *, table: str, column: str | None = None, rows: pd.DataFrame | None = None):
        super().__init__(message)
        self.table = table
        self.column = column
        self.rows = rows


@dataclass
class DataWarning:
    """A finding that does not stop the run but belongs in the data-quality report."""

    table: str
    message: str
    column: str | None = None
    rows: list[Any] | None = None


@dataclass
class Mapping:
    """A user's names for files, columns and category codes (from ``mapping.yaml``)."""

    files: dict[str, str] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    values: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    panel_start: pd.Timestamp | None = None
    panel_end: pd.Timestamp | None = None

    @classmethod
    def read(cls, path: Path) -> "Mapping":
        """Read a ``mapping.yaml``."""
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise DataValidationError(f"mapping file {path.name}: not valid UTF-8 YAML ({exc})", table="mapping") from exc
        if not isinstance(raw, dict):
            raise DataValidationError(f"mapping file {path.name}: expected sections files, columns, values, panel; found {type(raw).__name__}", table="mapping")
        unknown = set(raw) - {"files", "columns", "values", "panel"}
        if unknown:
            raise DataValidationError(
                f"mapping file {path.name}: unknown sections {sorted(unknown)}; expected files, columns, values, panel",
                table="mapping",
            )
        for section in ("files", "columns", "values"):
            for table in raw.get(section) or {}:
                if table not in TABLES:
                    raise DataValidationError(
                        f"mapping file {path.name}, section {section}: unknown table {table!r}; "
                        f"contract tables are {', '.join(TABLES)}",
                        table="mapping",
                    )
        shapes = {"files": "{table: file name}", "columns": "{table: {your column: contract column}}", "values": "{table: {column: {your code: contract code}}}", "panel": "{start: YYYY-MM, end: YYYY-MM}"}
        depth = {"files": 1, "columns": 2, "values": 3, "panel": 1}
        for section, text in shapes.items():
            if not _nested_dict(raw.get(section) or {}, depth[section]):
                raise DataValidationError(f"mapping file {path.name}, section {section}: expected {text}", table="mapping")
        panel = raw.get("panel") or {}
        start, end = _parse_panel_bound(panel.get("start"), path), _parse_panel_bound(panel.get("end"), path)
        if start is not None and end is not None and start > end:
            raise DataValidationError(f"mapping file {path.name}, panel: start {start:%Y-%m} is after end {end:%Y-%m}", table="mapping")
        return cls(
            files={k: str(v) for k, v in (raw.get("files") or {}).items()},
            columns={t: {str(k): str(v) for k, v in cols.items()} for t, cols in (raw.get("columns") or {}).items()},
            values={
                t: {c: {str(k): str(v) for k, v in codes.items()} for c, codes in cols.items()}
                for t, cols in (raw.get("values") or {}).items()
            },
            panel_start=start,
            panel_end=end,
        )

    def user_column(self, table: str, column: str) -> str | None:
        """The user's name of a contract column, if the mapping renames it."""
        for user, contract in self.columns.get(table, {}).items():
            if contract == column:
                return user
        return None


def _nested_dict(value: Any, depth: int) -> bool:
    """Whether ``value`` is a dict nested ``depth`` levels deep (leaves are scalars)."""
    if not isinstance(value, dict):
        return False
    if depth == 1:
        return all(not isinstance(v, (dict, list)) for v in value.values())
    return all(_nested_dict(v, depth - 1) for v in value.values())


def _parse_panel_bound(value: Any, path: Path) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        return pd.Timestamp(str(value)).to_period("M").to_timestamp()
    except ValueError as exc:
        raise DataValidationError(f"mapping file {path.name}, panel: {value!r} is not a month (YYYY-MM)", table="mapping") from exc


@dataclass
class _Source:
    """Where a table came from, for error messages."""

    table: str
    file: str
    mapping: Mapping

    def column_label(self, column: str | None) -> str:
        if column is None:
            return ""
        user = self.mapping.user_column(self.table, column)
        return f", column {user!r} (→ {column})" if user else f", column {column!r}"

    def row_label(self, line: Any) -> str:
        """Where a row is in its file: "file line N" in a CSV (header = line 1), "row N" in Parquet."""
        if line is None or pd.isna(line):
            return "row"
        return f"row {int(line) - 1}" if self.file.lower().endswith(".parquet") else f"file line {int(line)}"

    def error(self, column: str | None, expected: str, bad: pd.DataFrame | None = None, *, key: tuple[str, ...] = ()) -> DataValidationError:
        """Build the error for ``bad`` rows (which carry a ``_line`` column)."""
        msg = f"table {self.table} (file {self.file}){self.column_label(column)}: expected {expected}"
        shown = None
        if bad is not None and len(bad):
            msg += f"; {len(bad)} offending row{'s' if len(bad) > 1 else ''}"
            msg += ", first five:" if len(bad) > MAX_ROWS_SHOWN else ":"
            cols = [c for c in dict.fromkeys([*key, *([column] if column else [])]) if c in bad.columns]
            shown = bad.head(MAX_ROWS_SHOWN)
            for _, row in shown.iterrows():
                cells = ", ".join(f"{c}={_show(row[c])}" for c in cols)
                line = self.row_label(row.get("_line"))
                msg += f"\n  {line}: {cells}"
            shown = shown[[c for c in ["_line", *cols] if c in shown.columns]]
        return DataValidationError(msg, table=self.table, column=column, rows=shown)


def _show(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "<missing>"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return repr(value) if isinstance(value, str) else str(value)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _find_file(folder: Path, table: str, mapping: Mapping) -> Path | None:
    if table in mapping.files:
        path = folder / mapping.files[table]
        if not path.exists():
            raise DataValidationError(
                f"table {table}: mapping.yaml names file {mapping.files[table]!r}, which is not in {folder}",
                table=table,
            )
        return path
    for suffix in (".csv", ".parquet"):
        path = folder / f"{table}{suffix}"
        if path.exists():
            return path
    return None


def _read_raw(data: bytes, src: _Source, key: tuple[str, ...]) -> pd.DataFrame:
    """Parse a file's bytes: text columns (CSV) or native columns (Parquet).

    The bytes were read once (and fingerprinted); the file itself is never opened for writing.
    """
    where = f"table {src.table} (file {src.file})"
    if src.file.lower().endswith(".parquet"):
        try:
            return pd.read_parquet(io.BytesIO(data))
        except Exception as exc:  # pyarrow raises many types for a broken file
            raise DataValidationError(f"{where}: expected a readable Parquet file ({type(exc).__name__}: {exc})", table=src.table) from None
    if not data.strip():
        raise DataValidationError(f"{where}: the file is empty (no header, no rows); expected a header and at least one row — the table is empty", table=src.table)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _encoding_error(data, exc, src, key) from None
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.ParserError as exc:
        raise DataValidationError(f"{where}: expected a comma-separated file with as many fields on every line as in the header ({str(exc).strip()})", table=src.table) from None
    except pd.errors.EmptyDataError:
        raise DataValidationError(f"{where}: the file is empty (no header, no rows); expected a header and at least one row — the table is empty", table=src.table) from None
    header = next(csv.reader(io.StringIO(text.split("\n", 1)[0])), [])
    twice = sorted({h.strip() for h in header if [x.strip() for x in header].count(h.strip()) > 1})
    if twice:
        raise DataValidationError(f"{where}, column {twice[0]!r}: expected each column once; the header repeats {', '.join(map(repr, twice))}", table=src.table, column=src.mapping.columns.get(src.table, {}).get(twice[0], twice[0]))
    df.attrs["lines"] = _csv_lines(text, len(df))
    return df


def _csv_lines(text: str, n_rows: int) -> np.ndarray:
    """The file line on which each data row starts (header = line 1).

    One line per row unless the file has blank lines (which the reader skips) or quoted
    fields spanning lines; then the lines are counted record by record.
    """
    simple = np.arange(2, n_rows + 2)
    if text.count("\n") + (not text.endswith("\n")) == n_rows + 1 and "\n\n" not in text:
        return simple
    starts: list[int] = []
    reader = csv.reader(io.StringIO(text))
    consumed = 0
    for record in reader:
        start, consumed = consumed + 1, reader.line_num
        if record and any(field.strip() for field in record) or len(record) > 1:
            starts.append(start)
    return np.asarray(starts[1:], dtype=np.int64) if len(starts) == n_rows + 1 else simple


def _encoding_error(data: bytes, exc: UnicodeDecodeError, src: _Source, key: tuple[str, ...]) -> DataValidationError:
    """Say which file, line and column hold bytes that are not UTF-8 (never guess the encoding)."""
    line = data.count(b"\n", 0, exc.start) + 1
    advice = (
        f"the file must be UTF-8 encoded, but byte {exc.start} (0x{data[exc.start]:02X}, file line {line}) is not UTF-8. "
        f"Re-save it as 'CSV UTF-8' (Excel) or convert it, e.g. `iconv -f GBK -t UTF-8 {src.file}`; "
        "the kit does not guess encodings"
    )
    where = f"table {src.table} (file {src.file})"
    if line == 1:
        return DataValidationError(f"{where}: {advice} (the header line)", table=src.table)
    try:
        df = pd.read_csv(io.StringIO(data.decode("utf-8", errors="replace")), dtype=str, keep_default_na=False)
    except Exception:
        return DataValidationError(f"{where}: {advice}", table=src.table)
    df = df.rename(columns=lambda c: str(c).strip()).rename(columns=src.mapping.columns.get(src.table, {}))
    df["_line"] = np.arange(2, len(df) + 2)
    hit = {c: df[c].str.contains("\ufffd", regex=False) for c in df.columns if c != "_line"}
    column = next((c for c, m in hit.items() if m.any()), None)
    if column is None:
        return DataValidationError(f"{where}: {advice}", table=src.table)
    error = src.error(column, "UTF-8 text — " + advice, df[hit[column]], key=key)
    return error


# --------------------------------------------------------------------------- typing


def _coerce(raw: pd.DataFrame, spec: TableSpec, src: _Source) -> pd.DataFrame:
    """Turn text columns into the contract's kinds; unparseable values are errors, never NaN."""
    df = raw.copy()
    for col in spec.columns:
        if col.name not in df.columns:
            continue
        values = df[col.name]
        if col.kind == "str":
            text = values.astype("string").str.strip()
            df[col.name] = text.mask(text == "")
            continue
        if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values) or pd.api.types.is_bool_dtype(values)):
            text = values.astype("string").str.strip()
            df[col.name] = text.mask(text.isin(NULL_TOKENS) | (text == ""))
        if col.kind in ("date", "month"):
            df[col.name] = _coerce_dates(df, col, src, spec)
            continue
        if col.kind == "bool":
            df[col.name] = _coerce_bool(df, col, src, spec)
            continue
        values = df[col.name]
        if pd.api.types.is_bool_dtype(values):
            raise src.error(col.name, col.expectation, df[values.notna()], key=spec.key)
        if pd.api.types.is_numeric_dtype(values):
            num = values.astype("float64")
            failed = pd.Series(False, index=df.index)
        else:
            grouped = values.str.fullmatch(_THOUSANDS).fillna(False).astype(bool)
            text = values.where(~grouped, values.str.replace(",", "", regex=False))
            num = pd.to_numeric(text, errors="coerce").astype("float64")
            failed = num.isna() & text.notna()
        infinite = np.isinf(num)
        if (failed | infinite).any():
            expected = col.expectation.replace("a number", "a finite number", 1) if infinite.any() else col.expectation
            if failed.any() and text[failed].str.contains(",", regex=False).any():
                expected += " (decimal point '.'; a comma only between groups of three digits, as in 1,234.5)"
            raise src.error(col.name, expected, df[failed | infinite], key=spec.key)
        if col.kind == "int":
            fractional = num.notna() & (num != np.floor(num))
            if fractional.any():
                raise src.error(col.name, col.expectation, df[fractional], key=spec.key)
            df[col.name] = num.astype("Int64")
        else:
            df[col.name] = num
    known = {c.name for c in spec.columns}
    for name in df.columns:
        if name not in known and name != "_line":
            df[name] = _extra_column(df[name])
    return df


def _extra_column(values: pd.Series) -> pd.Series:
    """An extra (non-contract) column: numbers when every value is a plain number, else text.

    Plain means no thousands separators and no leading zeros, so codes such as ``007`` or
    ``00123`` stay text; missing spellings (``NA``, blank ...) count as missing only when
    the rest is numeric.
    """
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values) or pd.api.types.is_bool_dtype(values):
        return values
    text = values.astype("string").str.strip()
    text = text.mask(text.isin(NULL_TOKENS) | (text == ""))
    present = text.notna()
    if present.any() and bool(text[present].str.fullmatch(_PLAIN_NUMBER).all()):
        return pd.to_numeric(text, errors="coerce").astype("float64")
    return values.astype("string")


def _coerce_dates(df: pd.DataFrame, col: Column, src: _Source, spec: TableSpec) -> pd.Series:
    """Parse a date column strictly: one format throughout, YYYY-MM-DD (or YYYY-MM for months)."""
    values = df[col.name]
    if pd.api.types.is_datetime64_any_dtype(values):
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_localize(None)
        timed = values.notna() & (values != values.dt.normalize())
        if timed.any():
            raise src.error(col.name, col.expectation + " without a time of day", df[timed], key=spec.key)
        return values.astype("datetime64[ns]")
    text = values.astype("string").str.strip()
    # Work on the distinct spellings (a month column has a few dozen), then map back to rows.
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    distinct = pd.Series(uniques, dtype="string")
    present = pd.Series(codes >= 0, index=df.index)
    taken = np.where(codes >= 0, codes, 0)

    def per_row(per_value: pd.Series, fill: Any) -> pd.Series:
        return pd.Series(np.where(codes >= 0, per_value.to_numpy()[taken] if len(per_value) else fill, fill), index=df.index)

    written = "a month written as YYYY-MM-01 or YYYY-MM" if col.kind == "month" else "a date written as YYYY-MM-DD"
    dateish = per_row(distinct.str.match(_DATE_LIKE).fillna(False).astype(bool), False).astype(bool)
    if (present & ~dateish).any():
        raise src.error(col.name, written, df[present & ~dateish], key=spec.key)
    distinct_shapes = distinct.str.replace(r"\d", "9", regex=True)
    shapes = per_row(distinct_shapes.astype(object), None)
    used = shapes[present].value_counts()
    if len(used) > 1:
        majority = used.index[0]
        found = ", ".join(f"{shape.replace('9', '#')} ({n} row{'s' if n > 1 else ''})" for shape, n in used.items())
        raise src.error(
            col.name,
            f"one date format throughout (YYYY-MM-DD); found mixed formats {found} — the rows in the minority format",
            df[present & (shapes != majority)],
            key=spec.key,
        )
    allowed = ("YYYY-MM-DD", "YYYY-MM") if col.kind == "month" else ("YYYY-MM-DD",)
    kind = next((name for name in allowed if len(used) and _DATE_PATTERNS[name].match(str(distinct.iloc[0]))), None)
    if len(used) and kind is None:
        raise src.error(col.name, written, df[present], key=spec.key)
    fmt = "%Y-%m" if kind == "YYYY-MM" else "%Y-%m-%d"
    distinct_dates = pd.to_datetime(distinct, format=fmt, errors="coerce").astype("datetime64[ns]")
    parsed = pd.Series(distinct_dates.to_numpy()[taken] if len(distinct) else np.full(len(df), np.datetime64("NaT", "ns")), index=df.index)
    parsed = parsed.where(present).astype("datetime64[ns]")
    invalid = present & parsed.isna()
    if invalid.any():
        raise src.error(col.name, written + " that is a real calendar date", df[invalid], key=spec.key)
    return parsed


def _coerce_bool(df: pd.DataFrame, col: Column, src: _Source, spec: TableSpec) -> pd.Series:
    values = df[col.name]
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")
    text = values.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=df.index, dtype="boolean")
    out[text.isin(_TRUE).fillna(False)] = True
    out[text.isin(_FALSE).fillna(False)] = False
    failed = text.notna() & out.isna()
    if failed.any():
        raise src.error(col.name, "true/false (or 1/0, yes/no)" + ("" if col.nullable else ", not missing"), df[failed], key=spec.key)
    return out


# --------------------------------------------------------------------------- schema


def _dtype(col: Column) -> Any:
    return {"str": "string", "date": "datetime64[ns]", "month": "datetime64[ns]", "float": "float64", "int": "Int64", "bool": "boolean"}[col.kind]


def schema_for(spec: TableSpec) -> pa.DataFrameSchema:
    """Pandera schema of a contract table (typed frame, before cross-table checks).

    Parameters
    ----------
    spec : TableSpec
        Contract table.

    Returns
    -------
    pandera.DataFrameSchema
        Column types, nullability, ranges, category codes, month starts and a unique key.
    """
    columns = {}
    for col in spec.columns:
        checks = []
        if col.ge is not None:
            checks.append(pa.Check.ge(col.ge))
        if col.le is not None:
            checks.append(pa.Check.le(col.le))
        if col.isin is not None:
            checks.append(pa.Check.isin(list(col.isin)))
        if col.kind in ("date", "month"):
            checks.append(pa.Check.in_range(DATE_MIN, DATE_MAX, error="in_date_range"))
        if col.kind == "month":
            checks.append(pa.Check(lambda s: s.dt.day == 1, element_wise=False, error="first_day_of_month"))
        columns[col.name] = pa.Column(_dtype(col), checks=checks, nullable=col.nullable, required=col.required, coerce=False)
    return pa.DataFrameSchema(columns, unique=list(spec.key), strict=False)


def _validate_schema(df: pd.DataFrame, spec: TableSpec, src: _Source) -> None:
    """Run the pandera schema (lazily, all checks) and turn its failures into one clear error."""
    try:
        schema_for(spec).validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        raise _schema_error(exc.failure_cases, df, spec, src) from None


def _schema_error(cases: pd.DataFrame, df: pd.DataFrame, spec: TableSpec, src: _Source) -> DataValidationError:
    """One DataValidationError from pandera's failure cases: the first failing column in contract order."""
    known = [c.name for c in spec.columns]
    failing = [c for c in known if (cases["column"] == c).any()]
    dup = df.duplicated(list(spec.key), keep=False)
    if dup.any() and (not failing or any("unique" in str(c) or "duplicate" in str(c).lower() for c in cases["check"])):
        error = src.error(
            " + ".join(spec.key),
            f"a unique key ({' + '.join(spec.key)}), one row per key; duplicate rows",
            df[dup].sort_values(list(spec.key), kind="stable"),
            key=spec.key,
        )
        error.column = spec.key[0] if len(spec.key) == 1 else " + ".join(spec.key)
        return error
    if not failing:
        checks = "; ".join(sorted(set(map(str, cases["check"]))))
        return DataValidationError(f"table {spec.name} (file {src.file}): failed check(s) {checks}", table=spec.name)
    column = failing[0]
    col = spec.column(column)
    mine = cases[cases["column"] == column]
    check = str(mine["check"].iloc[0])
    idx = mine["index"].dropna().astype(int).unique()
    bad = df.loc[df.index.isin(idx)]
    if bad.empty and check == "not_nullable":
        bad = df[df[column].isna()]
    expected = col.expectation
    if "first_day_of_month" in check:
        expected = "the first day of a month (YYYY-MM-01)"
    elif "in_date_range" in check:
        expected = f"a date between {DATE_MIN:%Y-%m-%d} and {DATE_MAX:%Y-%m-%d}"
    error = src.error(column, expected, bad, key=spec.key)
    others = [c for c in failing[1:]]
    if others:
        labels = ", ".join(src.column_label(c).removeprefix(", column ") for c in others)
        error.args = (error.args[0] + f"\n(columns {labels} fail their checks too; fix this one first)",)
    return error


# --------------------------------------------------------------------------- loading


def _load_table(folder: Path, spec: TableSpec, mapping: Mapping, fingerprints: dict[str, str]) -> tuple[pd.DataFrame, _Source] | None:
    """Read, rename, type and schema-check one table; None for an absent optional table."""
    path = _find_file(folder, spec.name, mapping)
    if path is None:
        if spec.required:
            raise DataValidationError(
                f"table {spec.name}: file {spec.name}.csv (or .parquet) is missing from {folder}; "
                f"it is required (columns: {', '.join(spec.required_columns)})",
                table=spec.name,
            )
        return None
    data = path.read_bytes()
    fingerprints[path.name] = hashlib.sha256(data).hexdigest()
    src = _Source(spec.name, path.name, mapping)
    raw = _read_raw(data, src, spec.key)
    lines = raw.attrs.pop("lines", None)
    raw = raw.rename(columns=lambda c: str(c).strip())
    raw = raw.rename(columns=mapping.columns.get(spec.name, {}))
    twice = raw.columns[raw.columns.duplicated()].unique().tolist()
    if twice:
        users = [u for u, c in mapping.columns.get(spec.name, {}).items() if c == twice[0]]
        raise DataValidationError(
            f"table {spec.name} (file {path.name}), column {twice[0]!r}: expected each column once; "
            f"mapping.yaml maps {', '.join(map(repr, users))} onto it and/or the file already has it",
            table=spec.name,
            column=twice[0],
        )
    missing = [c for c in spec.required_columns if c not in raw.columns]
    if missing:
        names = ", ".join(
            f"{user!r} (→ {c})" if (user := mapping.user_column(spec.name, c)) else repr(c) for c in missing
        )
        raise DataValidationError(
            f"table {spec.name} (file {path.name}), column {names}: expected column(s) {names}, missing; "
            f"the file has {', '.join(map(repr, raw.columns))}"
            + (
                f" — it looks separated by {sep!r}; save it as comma-separated CSV"
                if len(raw.columns) == 1 and (sep := next((x for x in (";", "\t", "|") if x in str(raw.columns[0])), None))
                else ""
            ),
            table=spec.name,
            column=missing[0],
        )
    if raw.empty:
        raise DataValidationError(f"table {spec.name} (file {path.name}): expected at least one row; the table is empty", table=spec.name)
    for column, codes in mapping.values.get(spec.name, {}).items():
        column = mapping.columns.get(spec.name, {}).get(column, column)  # the user's or the contract's name
        if column in raw.columns:
            raw[column] = raw[column].astype("string").str.strip().replace(codes)
        elif column not in {c.name for c in spec.columns}:
            raise DataValidationError(
                f"mapping file, section values: table {spec.name} (file {path.name}) has no column {column!r} to recode; "
                f"the file has {', '.join(map(repr, raw.columns))}",
                table=spec.name,
                column=column,
            )
    raw["_line"] = lines if lines is not None else np.arange(2, len(raw) + 2)
    df = _coerce(raw, spec, src)
    _validate_schema(df, spec, src)
    if spec.name == "programs" and "benefit_months" not in df.columns:
        df["benefit_months"] = pd.array([12] * len(df), dtype="Int64")
    contract_order = [c.name for c in spec.columns if c.name in df.columns]
    return df[contract_order + [c for c in df.columns if c not in contract_order]], src


def _check_relations(tables: dict[str, pd.DataFrame], sources: dict[str, _Source], mapping: Mapping) -> None:
    for name, df in tables.items():
        for fk in TABLES[name].foreign_keys:
            ref = tables.get(fk.table)
            if ref is None:
                continue
            known = pd.MultiIndex.from_frame(ref[list(fk.ref_columns)].astype("string"))
            mine = pd.MultiIndex.from_frame(df[list(fk.columns)].astype("string"))
            bad = ~mine.isin(known)
            if bad.any():
                col = fk.columns[0]
                raise sources[name].error(col, f"a value that exists in table {fk.table} ({', '.join(fk.ref_columns)}); unknown values", df[bad], key=TABLES[name].key)
    enr = tables["enrollments"]
    backwards = enr["end_date"].notna() & (enr["end_date"] < enr["start_date"])
    if backwards.any():
        raise sources["enrollments"].error("end_date", "an end_date on or after start_date", enr[backwards], key=TABLES["enrollments"].key)
    emp = tables["employees"]
    if "exit_date" in emp.columns:
        bad = emp["exit_date"].notna() & (emp["exit_date"] < emp["hire_date"])
        if bad.any():
            raise sources["employees"].error("exit_date", "an exit_date on or after hire_date", emp[bad], key=("employee_id",))
    kpi = tables["kpi_monthly"]
    spans = emp.set_index("employee_id")
    hire_month = kpi["employee_id"].map(spans["hire_date"]).dt.to_period("M").dt.to_timestamp()
    exit_dates = spans["exit_date"] if "exit_date" in spans.columns else pd.Series(pd.NaT, index=spans.index)
    exit_month = kpi["employee_id"].map(exit_dates).dt.to_period("M").dt.to_timestamp()
    outside = (kpi["month"] < hire_month) | (exit_month.notna() & (kpi["month"] > exit_month))
    if outside.any():
        raise sources["kpi_monthly"].error(
            "month", "a month inside the employee's employment (hire month to exit month) — a KPI month outside the panel", kpi[outside], key=TABLES["kpi_monthly"].key
        )
    for bound, op in ((mapping.panel_start, "lt"), (mapping.panel_end, "gt")):
        if bound is None:
            continue
        out = getattr(kpi["month"], op)(bound)
        if out.any():
            window = f"{mapping.panel_start:%Y-%m} to {mapping.panel_end:%Y-%m}" if mapping.panel_start is not None and mapping.panel_end is not None else f"{op} {bound:%Y-%m}"
            raise sources["kpi_monthly"].error("month", f"a month inside the panel window {window} (mapping.yaml)", kpi[out], key=TABLES["kpi_monthly"].key)


def _month_number(months: pd.Series) -> pd.Series:
    """Months as consecutive integers (year * 12 + month), NaN where missing."""
    return months.dt.year * 12 + months.dt.month


def _collect_warnings(tables: dict[str, pd.DataFrame | None]) -> list[DataWarning]:
    """Findings that do not stop a run: absent optional tables, extra columns, panel balance, tiny cohorts."""
    found: list[DataWarning] = []
    for name, use in OPTIONAL_TABLE_USES.items():
        if tables.get(name) is None:
            found.append(DataWarning(name, f"table {name} is absent; {use} will be skipped"))
    for name, df in tables.items():
        if df is None:
            continue
        extra = [c for c in df.columns if c != "_line" and c not in {col.name for col in TABLES[name].columns}]
        if extra:
            found.append(DataWarning(name, f"extra columns kept as covariates: {', '.join(extra)}"))
    found += _panel_warnings(tables["kpi_monthly"], tables["employees"])
    enr = tables["enrollments"]
    first = enr.groupby(["program_id", "employee_id"])["start_date"].min().dt.to_period("M")
    sizes = first.groupby(level="program_id").value_counts().sort_index()
    tiny = sizes[sizes < TINY_COHORT]
    if len(tiny):
        found.append(
            DataWarning(
                "enrollments",
                f"{len(tiny)} program training months have fewer than {TINY_COHORT} trainees (pooled or set aside by the analyses)",
                "start_date",
                [f"{p} {m}: {n} trainee{'s' if n > 1 else ''}" for (p, m), n in tiny.head(MAX_ROWS_SHOWN).items()],
            )
        )
    staff = tables["employees"].set_index("employee_id")
    hired = enr["employee_id"].map(staff["hire_date"])
    left = enr["employee_id"].map(staff["exit_date"]) if "exit_date" in staff.columns else pd.Series(pd.NaT, index=enr.index)
    outside = (enr["start_date"] < hired) | (left.notna() & (enr["start_date"] > left))
    if outside.any():
        odd = enr[outside].sort_values(["employee_id", "start_date"], kind="stable")
        found.append(
            DataWarning(
                "enrollments",
                f"{int(outside.sum())} enrollments start before the employee's hire_date or after the exit_date "
                "(check the employee_id or the dates; the cohort month is taken as written)",
                "start_date",
                [f"{e} {p} {s:%Y-%m-%d}" for e, p, s in odd[["employee_id", "program_id", "start_date"]].head(MAX_ROWS_SHOWN).itertuples(index=False)],
            )
        )
    return found


def _panel_warnings(kpi: pd.DataFrame, emp: pd.DataFrame) -> list[DataWarning]:
    """Unbalanced panel, KPI months missing while employed, employees without any KPI row."""
    found: list[DataWarning] = []
    month_no = _month_number(kpi["month"])
    first, last = int(month_no.min()), int(month_no.max())
    n_months = last - first + 1
    staff = emp.set_index("employee_id")
    exit_dates = staff["exit_date"] if "exit_date" in staff.columns else pd.Series(pd.NaT, index=staff.index, dtype="datetime64[ns]")
    lo = _month_number(staff["hire_date"]).clip(lower=first)
    hi = _month_number(exit_dates).fillna(last).clip(upper=last)
    employed = lo <= hi

    series = pd.DataFrame({"employee_id": kpi["employee_id"], "kpi": kpi["kpi"], "m": month_no})
    stats = series.groupby(["employee_id", "kpi"], sort=True)["m"].agg(["min", "max", "count"])
    emp_ids = stats.index.get_level_values("employee_id")
    expected = (hi.reindex(emp_ids).to_numpy() - lo.reindex(emp_ids).to_numpy() + 1).clip(min=0)
    stats["missing"] = expected - stats["count"].to_numpy()

    per_emp = series.groupby("employee_id")["m"].agg(["min", "max"])
    joins = int((per_emp["min"] > first).sum())
    leaves = int((per_emp["max"] < last).sum())
    gaps = stats[stats["max"] - stats["min"] + 1 > stats["count"]].index.get_level_values("employee_id").nunique()
    partial = int(((per_emp["min"] > first) | (per_emp["max"] < last)).sum())
    if partial or gaps:
        found.append(
            DataWarning(
                "kpi_monthly",
                f"unbalanced panel: {partial} of {len(per_emp)} employees join or leave inside the {n_months}-month window "
                f"({joins} start after the first month, {leaves} stop before the last); {gaps} have gaps inside their span",
                "month",
            )
        )
    short = stats[stats["missing"] > 0]
    if len(short):
        examples = []
        for (employee, name), row in short.head(MAX_ROWS_SHOWN).iterrows():
            seen = set(series.loc[(series["employee_id"] == employee) & (series["kpi"] == name), "m"])
            want = range(int(lo[employee]), int(hi[employee]) + 1)
            gone = [f"{(m - 1) // 12}-{(m - 1) % 12 + 1:02d}" for m in want if m not in seen]
            examples.append(f"{employee} {name}: {', '.join(gone[:6])}{' ...' if len(gone) > 6 else ''}")
        found.append(
            DataWarning(
                "kpi_monthly",
                f"KPI months missing while employed: {len(short)} employee-KPI series lack {int(short['missing'].sum())} "
                "months between hire (or panel start) and exit (or panel end)",
                "month",
                examples,
            )
        )
    silent = employed[employed].index.difference(per_emp.index)
    if len(silent):
        roles = ", ".join(f"{r} {n}" for r, n in staff.loc[silent, "role"].value_counts().items())
        found.append(
            DataWarning(
                "kpi_monthly",
                f"{len(silent)} employees employed during the panel have no KPI row at all (by role: {roles}); "
                "expected only for roles that carry no monthly KPI",
                "employee_id",
                [str(e) for e in silent[:MAX_ROWS_SHOWN]],
            )
        )
    return found


def validate_folder(folder: Path, mapping_path: Path | None = None) -> tuple[dict[str, pd.DataFrame], list[DataWarning], dict[str, str]]:
    """Read and validate every contract table in a folder.

    Parameters
    ----------
    folder : Path
        Dataset folder.
    mapping_path : Path, optional
        A ``mapping.yaml``; default ``<folder>/mapping.yaml`` when present.

    Returns
    -------
    tables : dict of str to DataFrame
        Typed, validated tables by contract name (absent optional tables left out),
        columns in contract order, extra columns after.
    warnings : list of DataWarning
        Findings that do not stop a run.
    fingerprints : dict of str to str
        sha256 of every file read (tables and mapping), by file name.

    Raises
    ------
    DataValidationError
        The first contract violation found.
    """
    if not folder.is_dir():
        raise DataValidationError(f"dataset folder {folder} does not exist", table="(dataset)")
    mapping_path = mapping_path if mapping_path is not None else folder / "mapping.yaml"
    user_mapping = Mapping.read(mapping_path) if mapping_path.exists() else Mapping()
    fingerprints: dict[str, str] = {}
    if mapping_path.exists():
        fingerprints[mapping_path.name] = sha256_file(mapping_path)
    tables: dict[str, pd.DataFrame] = {}
    sources: dict[str, _Source] = {}
    for name, spec in TABLES.items():
        loaded = _load_table(folder, spec, user_mapping, fingerprints)
        if loaded is not None:
            tables[name], sources[name] = loaded
    _check_relations(tables, sources, user_mapping)
    found = _collect_warnings({n: tables.get(n) for n in TABLES})
    return {name: df.drop(columns="_line") for name, df in tables.items()}, found, fingerprints
