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

import difflib
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import yaml

from analysis.contract import TABLES, Column, TableSpec
from analysis.readers import RawTable, ReadError, EncodingProblem, RepeatedHeader, read_table, workbook_sheets

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


@dataclass(frozen=True)
class NumberFormat:
    """How a file writes numbers: its decimal mark and thousands separator (``""`` = none)."""

    decimal: str = "."
    thousands: str = ""

    def describe(self) -> str:
        """Words for messages: ``decimal ',' and thousands '.'``."""
        return f"decimal {self.decimal!r} and " + (f"thousands {self.thousands!r}" if self.thousands else "no thousands separator")


#: Keys a ``files:`` entry may have when it is a mapping rather than a file name.
FILE_ENTRY_KEYS = ("path", "sheet", "number_format", "date_format")


@dataclass
class Mapping:
    """A user's names for files, columns and category codes, and the formats of their files (``mapping.yaml``).

    ``files`` entries are a file name, or ``{path, sheet, number_format, date_format}``:
    ``sheet`` picks a workbook's worksheet, ``number_format: {decimal: ",", thousands: "."}``
    says how the file writes numbers, ``date_format`` (one format for every date column,
    or ``{column: format}``) how it writes dates, e.g. ``YYYY/M/D`` or ``D.M.YYYY``.
    """

    files: dict[str, str] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    values: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    panel_start: pd.Timestamp | None = None
    panel_end: pd.Timestamp | None = None
    sheets: dict[str, str] = field(default_factory=dict)
    number_formats: dict[str, NumberFormat] = field(default_factory=dict)
    date_formats: dict[str, str | dict[str, str]] = field(default_factory=dict)
    #: line of each key in mapping.yaml, by its path (section, table, key ...)
    lines: dict[tuple[str, ...], int] = field(default_factory=dict)
    name: str = "mapping.yaml"

    @classmethod
    def read(cls, path: Path) -> "Mapping":
        """Read a ``mapping.yaml``."""
        try:
            text = path.read_text(encoding="utf-8")
            raw = yaml.safe_load(text) or {}
            lines = _key_lines(yaml.compose(text))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise DataValidationError(f"mapping file {path.name}: not valid UTF-8 YAML ({exc})", table="mapping") from exc
        if not isinstance(raw, dict):
            raise DataValidationError(f"mapping file {path.name}: expected sections files, columns, values, panel; found {type(raw).__name__}", table="mapping")
        unknown = set(map(str, raw)) - {"files", "columns", "values", "panel"}
        if unknown:
            raise DataValidationError(
                f"mapping file {path.name}: unknown sections {sorted(unknown)}; expected files, columns, values, panel",
                table="mapping",
            )
        for section in ("files", "columns", "values"):
            if not isinstance(raw.get(section) or {}, dict):
                continue
            for table in raw.get(section) or {}:
                if table not in TABLES:
                    raise DataValidationError(
                        f"mapping file {path.name}, section {section}: unknown table {table!r}; "
                        f"contract tables are {', '.join(TABLES)}",
                        table="mapping",
                    )
        shapes = {"files": "{table: file name} or {table: {path: file, sheet: ..., number_format: {decimal: ',', thousands: '.'}, date_format: ...}}", "columns": "{table: {your column: contract column}}", "values": "{table: {column: {your code: contract code}}}", "panel": "{start: YYYY-MM, end: YYYY-MM}"}
        depth = {"files": 1, "columns": 2, "values": 3, "panel": 1}
        files_raw = raw.get("files") or {}
        for section, shape in shapes.items():
            value = raw.get(section) or {}
            ok = isinstance(value, dict) and all(isinstance(v, (str, dict)) for v in value.values()) if section == "files" else _nested_dict(value, depth[section])
            if not ok:
                raise DataValidationError(f"mapping file {path.name}, section {section}: expected {shape}", table="mapping")
        mapping = cls(lines=lines, name=path.name)
        for table, entry in files_raw.items():
            mapping._read_file_entry(table, entry, path.name, shapes["files"])
        panel = raw.get("panel") or {}
        start, end = _parse_panel_bound(panel.get("start"), path), _parse_panel_bound(panel.get("end"), path)
        if start is not None and end is not None and start > end:
            raise DataValidationError(f"mapping file {path.name}, panel: start {start:%Y-%m} is after end {end:%Y-%m}", table="mapping")
        mapping.columns = {t: {str(k): str(v) for k, v in cols.items()} for t, cols in (raw.get("columns") or {}).items()}
        mapping.values = {
            t: {str(c): {str(k): str(v) for k, v in codes.items()} for c, codes in cols.items()}
            for t, cols in (raw.get("values") or {}).items()
        }
        mapping.panel_start, mapping.panel_end = start, end
        return mapping

    def _read_file_entry(self, table: str, entry: Any, name: str, shape: str) -> None:
        where = f"mapping file {name} (line {self.lines.get(('files', table), '?')}), files: {table}"
        if isinstance(entry, str):
            self.files[table] = entry
            return
        unknown = sorted(set(map(str, entry)) - set(FILE_ENTRY_KEYS))
        if unknown:
            raise DataValidationError(f"{where}: unknown keys {unknown}; expected {', '.join(FILE_ENTRY_KEYS)}", table="mapping")
        if entry.get("path") is not None:
            self.files[table] = str(entry["path"])
        if entry.get("sheet") is not None:
            self.sheets[table] = str(entry["sheet"])
        number = entry.get("number_format")
        if number is not None:
            if not isinstance(number, dict) or set(map(str, number)) - {"decimal", "thousands"} or str(number.get("decimal", ".")) not in (".", ","):
                raise DataValidationError(f"{where}, number_format: expected {{decimal: ',' or '.', thousands: '.', ',', ' ' or ''}}; found {number!r}", table="mapping")
            fmt = NumberFormat(str(number.get("decimal", ".")), "" if number.get("thousands") is None else str(number["thousands"]))
            if fmt.thousands == fmt.decimal or fmt.thousands not in ("", ".", ",", " ", "'", "\u00a0"):
                raise DataValidationError(f"{where}, number_format: the thousands separator {fmt.thousands!r} cannot be used with decimal {fmt.decimal!r}", table="mapping")
            self.number_formats[table] = fmt
        dates = entry.get("date_format")
        if dates is not None:
            formats = [dates] if isinstance(dates, str) else list(dates.values()) if isinstance(dates, dict) else None
            if formats is None or not all(isinstance(f, str) for f in formats):
                raise DataValidationError(f"{where}, date_format: expected a format such as YYYY/M/D, or {{column: format}}; found {dates!r}", table="mapping")
            for f in formats:
                try:
                    strptime_format(f)
                except ValueError as exc:
                    raise DataValidationError(f"{where}, date_format: {exc}", table="mapping") from None
            self.date_formats[table] = dates if isinstance(dates, str) else {str(k): str(v) for k, v in dates.items()}

    def user_column(self, table: str, column: str) -> str | None:
        """The user's name of a contract column, if the mapping renames it."""
        for user, contract in self.columns.get(table, {}).items():
            if contract == column:
                return user
        return None

    def date_format(self, table: str, column: str) -> str | None:
        """The declared date format of a column (by its contract or user name), if any."""
        declared = self.date_formats.get(table)
        if declared is None or isinstance(declared, str):
            return declared
        user = self.user_column(table, column)
        return declared.get(column) or (declared.get(user) if user else None)


def _key_lines(node: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], int]:
    """1-based line of every mapping key in a composed YAML document, by key path."""
    found: dict[tuple[str, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = (*path, str(key.value))
            found[here] = key.start_mark.line + 1
            found.update(_key_lines(value, here))
    return found


_DATE_TOKENS = (("YYYY", "%Y"), ("YY", "%y"), ("MM", "%m"), ("DD", "%d"), ("M", "%m"), ("D", "%d"))


def strptime_format(spec: str) -> str:
    """A date format in words (``YYYY/M/D``, ``DD.MM.YYYY``, ``YYYY年M月D日``) as a strptime format.

    A format that already holds ``%`` directives is returned unchanged.

    Raises
    ------
    ValueError
        A format without a year, month and (for dates) day.
    """
    if "%" in spec:
        return spec
    out, i = "", 0
    while i < len(spec):
        for token, directive in _DATE_TOKENS:
            if spec.startswith(token, i):
                out += directive
                i += len(token)
                break
        else:
            out += spec[i]
            i += 1
    if "%m" not in out or ("%Y" not in out and "%y" not in out):
        raise ValueError(f"{spec!r} is not a date format; write it with YYYY, M (or MM) and D (or DD), e.g. YYYY/M/D or D.M.YYYY")
    return out


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
    kind: str = "csv"
    sheet: str | None = None
    #: the file's own headers, as written (before mapping.yaml renames them)
    header: list[str] = field(default_factory=list)
    #: Excel column letter of each of the user's headers
    letters: dict[str, str] = field(default_factory=dict)
    #: findings of the read worth a warning
    notes: list[DataWarning] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``table T (file F)`` or ``table T (file F, sheet S)``."""
        return f"table {self.table} (file {self.file}" + (f", sheet {self.sheet!r})" if self.sheet else ")")

    def column_label(self, column: str | None) -> str:
        if column is None:
            return ""
        user = self.mapping.user_column(self.table, column)
        return f", column {user!r} (→ {column})" if user else f", column {column!r}"

    def users_name(self, column: str) -> str:
        """The file's own name of a (contract) column."""
        return self.mapping.user_column(self.table, column) or column

    def has(self) -> str:
        """The file's own headers, for "the file has ..." lists."""
        return ", ".join(map(repr, self.header))

    def row_label(self, line: Any, column: str | None = None) -> str:
        """Where a row is: "file line N" in a CSV (header = line 1), "row N" in Parquet, "cell B17" in a sheet."""
        if line is None or pd.isna(line):
            return "row"
        if self.kind == "xlsx":
            letter = self.letters.get(self.users_name(column)) if column else None
            return f"cell {letter}{int(line)}" if letter else f"sheet row {int(line)}"
        return f"row {int(line) - 1}" if self.kind == "parquet" else f"file line {int(line)}"

    def error(
        self, column: str | None, expected: str, bad: pd.DataFrame | None = None, *, key: tuple[str, ...] = (), also: tuple[str, ...] = ()
    ) -> DataValidationError:
        """Build the error for ``bad`` rows (which carry a ``_line`` column); ``also`` names more columns to show."""
        msg = f"{self.label}{self.column_label(column)}: expected {expected}"
        shown = None
        if bad is not None and len(bad):
            msg += f"; {len(bad)} offending row{'s' if len(bad) > 1 else ''}"
            msg += ", first five:" if len(bad) > MAX_ROWS_SHOWN else ":"
            cols = [c for c in dict.fromkeys([*key, *([column] if column else []), *also]) if c in bad.columns]
            shown = bad.head(MAX_ROWS_SHOWN)
            for _, row in shown.iterrows():
                cells = ", ".join(f"{c}={_show(row[c])}" for c in cols)
                line = self.row_label(row.get("_line"), column if column in bad.columns else None)
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


def _find_file(folder: Path, table: str, mapping: Mapping, workbooks: dict[Path, list[str] | None]) -> Path | None:
    """The file of a table: named in the mapping, ``<table>.csv|.parquet|.xlsx``, or a workbook with a sheet ``<table>``."""
    if table in mapping.files:
        path = folder / mapping.files[table]
        if not path.is_file():
            raise DataValidationError(
                f"table {table}: mapping.yaml names file {mapping.files[table]!r}, which is not in {folder}",
                table=table,
            )
        return path
    found = [p for suffix in (".csv", ".parquet", ".xlsx") if (p := folder / f"{table}{suffix}").is_file()]
    if len(found) > 1:
        raise DataValidationError(
            f"table {table}: the folder has {' and '.join(p.name for p in found)}; expected one file per table — "
            "remove the other or name the one to read in mapping.yaml (files:)",
            table=table,
        )
    if found:
        return found[0]
    holding = [p for p, sheets in workbooks.items() if sheets and table in sheets]
    if len(holding) > 1:
        raise DataValidationError(
            f"table {table}: workbooks {', '.join(p.name for p in holding)} all have a sheet {table!r}; name the one to read in mapping.yaml (files:)",
            table=table,
        )
    return holding[0] if holding else None


def _folder_workbooks(folder: Path, cache: dict[Path, bytes]) -> dict[Path, list[str] | None]:
    """Sheet names of every workbook in the folder, for one-sheet-per-table workbooks (bytes kept in ``cache``)."""
    found = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in (".xlsx", ".xlsm") and not path.name.startswith(("~$", ".")):
            cache[path] = path.read_bytes()
            found[path] = workbook_sheets(cache[path])
    return found


def _read_raw(data: bytes, src: _Source, key: tuple[str, ...]) -> RawTable:
    """Parse a file's bytes (told apart by their bytes): text columns (CSV, Excel) or native columns (Parquet).

    The bytes were read once (and fingerprinted); the file itself is never opened for writing.
    """
    try:
        raw = read_table(data, src.file, table=src.table, sheet=src.mapping.sheets.get(src.table))
    except EncodingProblem as exc:
        raise _encoding_error(data, exc.exc, src, key) from None
    except RepeatedHeader as exc:
        first = exc.names[0]
        raise DataValidationError(
            f"{src.label}, column {first!r}: expected each column once; the header repeats {', '.join(map(repr, exc.names))}",
            table=src.table,
            column=src.mapping.columns.get(src.table, {}).get(first, first),
        ) from None
    except ReadError as exc:
        text = str(exc)
        joiner = ": " if text.startswith(("sheet ", "expected", "the file")) else " "
        raise DataValidationError(f"table {src.table} (file {src.file}){joiner}{text}", table=src.table) from None
    except Exception as exc:  # noqa: BLE001 - a reader library failing on odd bytes is still a message, not a traceback
        raise DataValidationError(f"table {src.table} (file {src.file}): the file cannot be read as a table ({type(exc).__name__}: {exc})", table=src.table) from None
    src.kind, src.sheet, src.letters = raw.kind, raw.sheet, raw.letters
    src.notes += [DataWarning(src.table, note) for note in raw.notes]
    return raw


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
            num, failed = _parse_numbers(values.astype("string"), df, col, src, spec)
        infinite = np.isinf(num)
        if (failed | infinite).any():
            expected = col.expectation.replace("a number", "a finite number", 1) if infinite.any() else col.expectation
            declared = src.mapping.number_formats.get(spec.name)
            if declared is not None:
                expected += f" written with {declared.describe()} (mapping.yaml number_format)"
            elif failed.any() and values[failed].astype("string").str.contains(",", regex=False).any():
                expected += (
                    " (decimal point '.'; a comma only between groups of three digits, as in 1,234.5 — "
                    "or declare a decimal comma in mapping.yaml: files: {" + spec.name + ": {number_format: {decimal: ',', thousands: '.'}}})"
                )
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
            df[name] = _extra_column(df[name], src.mapping.number_formats.get(spec.name))
    return df


#: A number with a decimal comma, optionally with '.' between groups of three digits (1.234,5).
_DECIMAL_COMMA = re.compile(r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?")


def _declared_pattern(fmt: NumberFormat) -> re.Pattern[str]:
    """Numbers as a declared number format writes them."""
    dec = re.escape(fmt.decimal)
    whole = r"\d+" if not fmt.thousands else rf"(?:\d{{1,3}}(?:{re.escape(fmt.thousands)}\d{{3}})+|\d+)"
    return re.compile(rf"[+-]?(?:{whole}(?:{dec}\d*)?|{dec}\d+)(?:[eE][+-]?\d+)?")


def _parse_numbers(text: pd.Series, df: pd.DataFrame, col: Column, src: _Source, spec: TableSpec) -> tuple[pd.Series, pd.Series]:
    """Numbers from text, with the file's separators: declared, or the one reading the values allow.

    Without a declaration a comma is read as a thousands separator (``1,234.5``) or as the decimal
    mark (``1234,56``, ``1.234,5``) only when every value of the column fits that reading alone
    (the load notes it as a warning). A column every value of which fits both (``2,815``: 2815 or
    2.815) is an error asking for ``number_format:`` in the mapping. Returns the numbers and the
    values that fail.
    """
    present = text.notna()
    declared = src.mapping.number_formats.get(spec.name)
    if declared is not None:
        fits = text.str.fullmatch(_declared_pattern(declared)).fillna(False).astype(bool)
        plain = text.str.replace(declared.thousands, "", regex=False) if declared.thousands else text
        plain = plain.str.replace(declared.decimal, ".", regex=False) if declared.decimal != "." else plain
        special = ~fits & present & text.str.lower().isin(["inf", "-inf", "+inf", "infinity", "-infinity"])
        num = pd.to_numeric(plain.where(fits | special), errors="coerce").astype("float64")
        return num, present & num.isna()
    grouped = text.str.fullmatch(_THOUSANDS).fillna(False).astype(bool)
    as_point = text.where(~grouped, text.str.replace(",", "", regex=False))
    num = pd.to_numeric(as_point, errors="coerce").astype("float64")
    failed = num.isna() & present
    commas = present & text.str.contains(",", regex=False).fillna(False).astype(bool)
    if not commas.any():
        return num, failed
    comma_fits = text.str.fullmatch(_DECIMAL_COMMA).fillna(False).astype(bool)
    point_ok, comma_ok = not failed.any(), bool(comma_fits[present].all())
    if comma_ok and col.kind == "int":  # a whole-number column: 1,200 cannot mean 1.2
        as_comma = pd.to_numeric(text[commas].str.replace(".", "", regex=False).str.replace(",", ".", regex=False), errors="coerce")
        comma_ok = bool((as_comma == np.floor(as_comma)).all())
    user = src.users_name(col.name)
    if point_ok and comma_ok:
        raise src.error(
            col.name,
            "a number whose separators have one reading; values such as "
            + ", ".join(repr(v) for v in text[commas].drop_duplicates().head(3))
            + " read as thousands (2,815 = 2815) or as a decimal comma (2,815 = 2.815) — every value of the column fits both. "
            f"Declare how {src.file} writes numbers in mapping.yaml: files: {{{spec.name}: {{number_format: {{decimal: ',', thousands: '.'}}}}}} "
            "(or {decimal: '.', thousands: ','})",
            df[commas],
            key=spec.key,
        )
    if point_ok:
        src.notes.append(DataWarning(spec.name, f"column {user!r}: ',' read as a thousands separator (values such as {text[commas].iloc[0]!r} fit no other reading)", col.name))
        return num, failed
    if comma_ok:
        src.notes.append(DataWarning(spec.name, f"column {user!r}: ',' read as the decimal mark (values such as {text[commas].iloc[0]!r} fit no other reading)", col.name))
        comma = pd.to_numeric(text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False), errors="coerce").astype("float64")
        return comma, present & comma.isna()
    return num, failed


def _extra_column(values: pd.Series, declared: NumberFormat | None = None) -> pd.Series:
    """An extra (non-contract) column: numbers when every value is a plain number, else text.

    Plain means no thousands separators and no leading zeros, so codes such as ``007`` or
    ``00123`` stay text; missing spellings (``NA``, blank ...) count as missing only when
    the rest is numeric. With a declared ``number_format`` the file's separators count as
    plain (``1.234,5`` is a number in a file that declares a decimal comma).
    """
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values) or pd.api.types.is_bool_dtype(values):
        return values
    text = values.astype("string").str.strip()
    text = text.mask(text.isin(NULL_TOKENS) | (text == ""))
    present = text.notna()
    if present.any() and bool(text[present].str.fullmatch(_PLAIN_NUMBER).all()):
        return pd.to_numeric(text, errors="coerce").astype("float64")
    if declared is not None and present.any() and bool(text[present].str.fullmatch(_declared_pattern(declared)).all()) and not text[present].str.match(r"[+-]?0\d").any():
        plain = text.str.replace(declared.thousands, "", regex=False) if declared.thousands else text
        return pd.to_numeric(plain.str.replace(declared.decimal, ".", regex=False), errors="coerce").astype("float64")
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
    declared = src.mapping.date_format(spec.name, col.name)
    if declared is not None:
        fmt = strptime_format(declared)
        distinct_dates = pd.to_datetime(distinct, format=fmt, errors="coerce").astype("datetime64[ns]")
        parsed = per_row(pd.Series(distinct_dates.to_numpy()), np.datetime64("NaT", "ns")).astype("datetime64[ns]").where(present)
        invalid = present & parsed.isna()
        if invalid.any():
            raise src.error(col.name, f"a date written as {declared} (mapping.yaml date_format) that is a real calendar date", df[invalid], key=spec.key)
        return parsed.astype("datetime64[ns]")
    dateish = per_row(distinct.str.match(_DATE_LIKE).fillna(False).astype(bool), False).astype(bool)
    if (present & ~dateish).any():
        bad = df[present & ~dateish]
        hint = ""
        if text[present & ~dateish].str.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?").all():
            hint = " without a time of day (the cells hold a date and a time; keep the date only)"
        serial = pd.to_numeric(text[present & ~dateish], errors="coerce")
        if serial.notna().all() and serial.between(10000, 80000).all():
            hint = " (these look like Excel date serial numbers: format the cells as dates in Excel, or save the column as YYYY-MM-DD)"
        raise src.error(col.name, written + hint, bad, key=spec.key)
    families = distinct.map(_date_family).astype(object)
    row_family = per_row(families, None)
    used = row_family[present].value_counts()
    if len(used) > 1:
        majority = used.index[0]
        found = ", ".join(f"{fam} ({n} row{'s' if n > 1 else ''})" for fam, n in used.items())
        raise src.error(
            col.name,
            f"one date format throughout (YYYY-MM-DD); found mixed formats {found} — the rows in the minority format",
            df[present & (row_family != majority)],
            key=spec.key,
        )
    family = str(used.index[0]) if len(used) else "YYYY-MM-DD"
    allowed = ("YYYY-MM-DD", "YYYY-MM") if col.kind == "month" else ("YYYY-MM-DD",)
    if family not in allowed:
        shape = _name_format(family, distinct)
        user = src.users_name(col.name)
        how = f"files: {{{spec.name}: {{date_format: {{{user}: {shape}}}}}}}" if " or " not in shape else f"files: {{{spec.name}: {{date_format: {{{user}: {shape.split(' or ')[0]}}}}}}} (or the other)"
        raise src.error(
            col.name,
            f"{written}; every date in the column is written as {shape} instead. Declare it in mapping.yaml, {how}, "
            "or save the column as YYYY-MM-DD",
            df[present],
            key=spec.key,
        )
    fmt = "%Y-%m" if family == "YYYY-MM" else "%Y-%m-%d"
    distinct_dates = pd.to_datetime(distinct, format=fmt, errors="coerce").astype("datetime64[ns]")
    parsed = pd.Series(distinct_dates.to_numpy()[taken] if len(distinct) else np.full(len(df), np.datetime64("NaT", "ns")), index=df.index)
    parsed = parsed.where(present).astype("datetime64[ns]")
    invalid = present & parsed.isna()
    if invalid.any():
        raise src.error(col.name, written + " that is a real calendar date", df[invalid], key=spec.key)
    return parsed


def _date_family(value: str) -> str:
    """The format family of a date-like text: its order of year, month and day and its separator.

    Padding is not part of the family (``2024/3/5`` and ``2024/03/15`` are one format); the ISO
    forms are ``YYYY-MM-DD`` and ``YYYY-MM`` only when zero-padded.
    """
    sep = next((c for c in value if c in "-/."), "-")
    parts = value.split(sep)
    lens = [len(x) for x in parts]
    if len(parts) == 3 and lens[0] == 4:
        return "YYYY-MM-DD" if sep == "-" and lens[1:] == [2, 2] else f"Y{sep}M{sep}D"
    if len(parts) == 2 and lens[0] == 4:
        return "YYYY-MM" if sep == "-" and lens[1] == 2 else f"Y{sep}M"
    if len(parts) == 3 and lens[2] == 4:
        return f"?{sep}?{sep}Y"
    return f"{'?'.join(['#'] * len(parts))} (short year)" if len(parts) == 3 else f"#{sep}#"


def _name_format(family: str, distinct: pd.Series) -> str:
    """The declarable format of a non-ISO family, e.g. ``YYYY/M/D``, ``D.M.YYYY``, ``M/D/YYYY or D/M/YYYY``."""
    if family.startswith("Y"):
        sep = family[1]
        return sep.join(["YYYY", "M", "D"][: family.count(sep) + 1])
    if family.startswith("?"):
        sep = family[1]
        parts = distinct.dropna().astype(str).str.split(sep, regex=False)
        first = pd.to_numeric(parts.str[0], errors="coerce").max()
        second = pd.to_numeric(parts.str[1], errors="coerce").max()
        if first > 12 >= second:
            return f"D{sep}M{sep}YYYY"
        if second > 12 >= first:
            return f"M{sep}D{sep}YYYY"
        return f"M{sep}D{sep}YYYY or D{sep}M{sep}YYYY (no day above 12 tells which)"
    return family + ", a two-digit year the kit does not guess"


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


def _load_table(
    folder: Path, spec: TableSpec, mapping: Mapping, fingerprints: dict[str, str], workbooks: dict[Path, list[str] | None], cache: dict[Path, bytes]
) -> tuple[pd.DataFrame, _Source] | None:
    """Read, rename, type and schema-check one table; None for an absent optional table."""
    path = _find_file(folder, spec.name, mapping, workbooks)
    if path is None:
        if spec.required:
            broken = [p.name for p, sheets in workbooks.items() if sheets is None]
            spare = {p: [x for x in sheets if x not in TABLES] for p, sheets in workbooks.items() if sheets is not None}
            spare = {p: sheets for p, sheets in spare.items() if sheets}
            books = "; ".join(f"{p.name} (sheets {', '.join(map(repr, sheets))})" for p, sheets in spare.items())
            first = next(iter(spare.items()), None)
            raise DataValidationError(
                f"table {spec.name}: file {spec.name}.csv (or .xlsx, .parquet, or a workbook sheet named {spec.name!r}) is missing from {folder}; "
                f"it is required (columns: {', '.join(spec.required_columns)})"
                + (
                    f". The folder's workbooks {books} have no sheet {spec.name!r}: name the one to read in mapping.yaml, "
                    f"e.g. files: {{{spec.name}: {{path: {first[0].name}, sheet: {first[1][-1]}}}}}"
                    if first
                    else ""
                )
                + (f". Workbook(s) {', '.join(broken)} in the folder cannot be opened (damaged or cut short?); export them again" if broken else ""),
                table=spec.name,
            )
        return None
    if path not in cache:
        cache[path] = path.read_bytes()
    data = cache[path]
    fingerprints[path.name] = hashlib.sha256(data).hexdigest()
    src = _Source(spec.name, path.name, mapping)
    table = _read_raw(data, src, spec.key)
    raw, lines = table.frame, table.lines
    raw = raw.rename(columns=lambda c: str(c).strip())
    src.header = list(raw.columns)
    _check_mapping_targets(spec, src, raw)
    raw = raw.rename(columns=mapping.columns.get(spec.name, {}))
    twice = raw.columns[raw.columns.duplicated()].unique().tolist()
    if twice:
        users = [u for u, c in mapping.columns.get(spec.name, {}).items() if c == twice[0]]
        raise DataValidationError(
            f"{src.label}, column {twice[0]!r}: expected each column once; "
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
            f"{src.label}, column {names}: expected column(s) {names}, missing; "
            f"the file has {src.has()}"
            + (
                f" — it looks separated by {sep!r}; save it as comma-separated CSV"
                if len(raw.columns) == 1 and (sep := next((x for x in (";", "\t", "|") if x in str(raw.columns[0])), None))
                else ""
            ),
            table=spec.name,
            column=missing[0],
        )
    if raw.empty:
        raise DataValidationError(f"{src.label}: expected at least one row; the table is empty", table=spec.name)
    for column, codes in mapping.values.get(spec.name, {}).items():
        column = mapping.columns.get(spec.name, {}).get(column, column)  # the user's or the contract's name
        if column in raw.columns:
            raw[column] = raw[column].astype("string").str.strip().replace(codes)
        elif column not in {c.name for c in spec.columns}:
            raise DataValidationError(
                f"mapping file, section values: {src.label} has no column {column!r} to recode; "
                f"the file has {src.has()}",
                table=spec.name,
                column=column,
            )
    raw["_line"] = lines if len(lines) == len(raw) else np.arange(2, len(raw) + 2)
    df = _coerce(raw, spec, src)
    _check_near_duplicates(df, spec, src)
    _validate_schema(df, spec, src)
    if spec.name == "programs" and "benefit_months" not in df.columns:
        df["benefit_months"] = pd.array([12] * len(df), dtype="Int64")
    contract_order = [c.name for c in spec.columns if c.name in df.columns]
    return df[contract_order + [c for c in df.columns if c not in contract_order]], src


def _check_mapping_targets(spec: TableSpec, src: _Source, raw: pd.DataFrame) -> None:
    """A ``columns:`` target that is not a contract name, where it looks like a slip, is an error.

    A target may be a name of the user's choosing (the column is then kept as a covariate),
    but not when a required contract column is missing or the target is a near miss of a
    contract column the file does not have (``hired_on`` for ``hire_date``).
    """
    contract = [c.name for c in spec.columns]
    renames = src.mapping.columns.get(spec.name, {})
    present = {renames.get(c, c) for c in raw.columns}
    missing_required = [c for c in spec.required_columns if c not in present]
    for user, target in renames.items():
        if target in contract or user not in raw.columns:
            continue
        absent = [c for c in contract if c not in present]
        close = difflib.get_close_matches(target, absent, n=3, cutoff=0.5)
        near = difflib.get_close_matches(target, absent, n=1, cutoff=0.75)
        if not (missing_required or near):
            continue
        line = src.mapping.lines.get(("columns", spec.name, user))
        where = f"{src.mapping.name} line {line}" if line else src.mapping.name
        suggestion = f"closest contract names: {', '.join(close)}" if close else f"contract columns still missing: {', '.join(absent)}"
        raise DataValidationError(
            f"{src.label}, column {user!r} (→ {target}): {where} maps {user!r} onto {target!r}, which is not a column of the "
            f"contract table {spec.name}; {suggestion} (contract columns: {', '.join(contract)})",
            table=spec.name,
            column=target,
        )


def _category_key(value: str) -> str:
    """What near-duplicate spellings share: Unicode NFKC (full-width -> half-width), case folded, blanks collapsed."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def _categorical_columns(df: pd.DataFrame, spec: TableSpec) -> list[str]:
    """Text columns holding categories: contract text columns other than identifiers and names, and text extras."""
    own_key = set(spec.key) if len(spec.key) == 1 else set()
    found = [c.name for c in spec.columns if c.kind == "str" and c.name in df.columns and c.name != "name" and not c.name.endswith("_id") and c.name not in own_key]
    known = {c.name for c in spec.columns}
    found += [c for c in df.columns if c not in known and c != "_line" and not pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_datetime64_any_dtype(df[c])]
    return found


def _check_near_duplicates(df: pd.DataFrame, spec: TableSpec, src: _Source) -> None:
    """Category values that differ only in case, blanks or character width are an error, never merged silently.

    ``SALES`` beside ``Sales``, or a full-width ``Ｓａｌｅｓ`` beside ``Sales``, would be two
    departments in every control and subgroup. The message lists each spelling with its row
    count and the ``values:`` lines of ``mapping.yaml`` that merge them (the mapping is the
    only way to merge).
    """
    for column in _categorical_columns(df, spec):
        counts = df[column].dropna().astype(str).value_counts(sort=False)
        if len(counts) < 2:
            continue
        keys = pd.Series([_category_key(v) for v in counts.index], index=counts.index)
        groups = keys.groupby(keys).size()
        clash = groups[groups > 1].index
        if not len(clash):
            continue
        variants = []
        merge = []
        minority = set()
        for key in clash:
            spellings = counts[keys[keys == key].index].sort_values(ascending=False, kind="stable")
            variants.append(" / ".join(f"{v!r} ({n} row{'s' if n > 1 else ''})" for v, n in spellings.items()))
            keep = spellings.index[0]
            merge += [f"{v!r}: {keep!r}" for v in spellings.index[1:]]
            minority |= set(spellings.index[1:])
        user = src.users_name(column)
        raise src.error(
            column,
            "one spelling per category; found values that differ only in case, blanks or character width (full-/half-width): "
            + "; ".join(variants[:MAX_ROWS_SHOWN])
            + (f" (and {len(variants) - MAX_ROWS_SHOWN} more groups)" if len(variants) > MAX_ROWS_SHOWN else "")
            + f". If they are the same category, merge them in mapping.yaml: values: {{{spec.name}: {{{user}: {{{', '.join(merge[:MAX_ROWS_SHOWN])}}}}}}}; "
            "if they are different categories, rename one in the export — the rows with the less frequent spellings",
            df[df[column].isin(minority).fillna(False).astype(bool)],
            key=spec.key,
        )


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
    before = kpi["month"] < hire_month
    if before.any():
        bad = kpi[before].assign(hire_date=kpi.loc[before, "employee_id"].map(spans["hire_date"]))
        raise sources["kpi_monthly"].error(
            "month", "a month on or after the employee's hire month — these KPI months are before the employee's hire month (hire_date shown; "
            "check the employee_id, the month or table employees' hire_date)", bad, key=TABLES["kpi_monthly"].key, also=("hire_date",)
        )
    after = exit_month.notna() & (kpi["month"] > exit_month)
    if after.any():
        bad = kpi[after].assign(exit_date=kpi.loc[after, "employee_id"].map(exit_dates))
        raise sources["kpi_monthly"].error(
            "month", "a month on or before the employee's exit month — these KPI months are after the employee's exit month (exit_date shown), "
            "outside the employment", bad, key=TABLES["kpi_monthly"].key, also=("exit_date",)
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
        what = "is a file, not a folder: --data takes the folder that holds the table files" if folder.exists() else "does not exist"
        raise DataValidationError(f"dataset folder {folder} {what}", table="(dataset)")
    mapping_path = mapping_path if mapping_path is not None else folder / "mapping.yaml"
    user_mapping = Mapping.read(mapping_path) if mapping_path.exists() else Mapping()
    fingerprints: dict[str, str] = {}
    if mapping_path.exists():
        fingerprints[mapping_path.name] = sha256_file(mapping_path)
    tables: dict[str, pd.DataFrame] = {}
    sources: dict[str, _Source] = {}
    cache: dict[Path, bytes] = {}
    workbooks = _folder_workbooks(folder, cache)
    for name, spec in TABLES.items():
        loaded = _load_table(folder, spec, user_mapping, fingerprints, workbooks, cache)
        if loaded is not None:
            tables[name], sources[name] = loaded
    _check_relations(tables, sources, user_mapping)
    found = [note for src in sources.values() for note in src.notes]
    found += _collect_warnings({n: tables.get(n) for n in TABLES})
    return {name: df.drop(columns="_line") for name, df in tables.items()}, found, fingerprints
