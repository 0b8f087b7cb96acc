"""Read one table's bytes into text columns: CSV, Parquet or an Excel workbook, told apart by their bytes.

:func:`read_table` is the byte-level half of loading (:mod:`analysis.validation` does the
contract half). It looks at what a file *is*, not what it is called: a workbook renamed
to ``.csv`` is read as a workbook (and said so), an Excel 97-2003 ``.xls`` or a ZIP archive
is refused with the fix. CSV is decoded as UTF-8 (a BOM is allowed) and any line-ending
convention is read (``\\n``, ``\\r\\n`` and the old Excel-for-Mac ``\\r``). A worksheet
(read with python-calamine) becomes the same text columns a CSV would give: numbers as written,
date cells as ``YYYY-MM-DD``, true/false as ``true``/``false``; merged cells and cells
without a header are refused, empty rows (trailing ones included) skipped, and every
row keeps its sheet row number so a message can name the Excel cell (``B17``).

Every problem raises :class:`ReadError` with a plain message; nothing else escapes.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
import zipfile
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

FileKind = Literal["csv", "parquet", "xlsx"]

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_PARQUET = b"PAR1"


class ReadError(ValueError):
    """A file's bytes cannot be read as a table (the message says why and what to do)."""


@dataclass
class RawTable:
    """A table as read from its file, before any contract rule.

    Attributes
    ----------
    frame : DataFrame
        Text columns (CSV, Excel; missing cells are NaN) or native columns (Parquet), under the
        file's own headers (stripped of surrounding blanks).
    lines : ndarray
        Where each row is: the file line (CSV, header = line 1), the sheet row (Excel) or the
        row number + 1 (Parquet, so that ``lines - 1`` is the 1-based row).
    kind : {"csv", "parquet", "xlsx"}
        What the bytes are.
    sheet : str or None
        The worksheet read (Excel only).
    letters : dict of str to str
        Excel column letter of each header (Excel only).
    notes : list of str
        Things worth a warning that did not stop the read (a workbook named ``.csv``, CR line endings).
    """

    frame: pd.DataFrame
    lines: np.ndarray
    kind: FileKind
    sheet: str | None = None
    letters: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def sniff(data: bytes) -> str:
    """What a file's bytes are: ``"xlsx"``, ``"xls"``, ``"zip"``, ``"damaged zip"``, ``"parquet"`` or ``"text"``."""
    if data.startswith(_ZIP):
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except (zipfile.BadZipFile, ValueError, OSError, EOFError):
            return "damaged zip"
        return "xlsx" if "xl/workbook.xml" in names else "zip"
    if data.startswith(_OLE):
        return "xls"
    if data.startswith(_PARQUET) and data.endswith(_PARQUET):
        return "parquet"
    return "text"


def workbook_sheets(data: bytes) -> list[str] | None:
    """Names of the worksheets of a workbook's bytes (None when it cannot be opened)."""
    try:
        return list(_open_workbook(data).sheet_names)
    except Exception:  # noqa: BLE001 - a broken workbook is reported by the caller
        return None


def read_table(data: bytes, file: str, *, table: str, sheet: str | None = None) -> RawTable:
    """Read a table file's bytes.

    Parameters
    ----------
    data : bytes
        The whole file (read once by the caller, who also fingerprints it).
    file : str
        File name, for messages (its suffix is *not* trusted).
    table : str
        Contract table name: a workbook's sheet of that name is taken when no ``sheet`` is given.
    sheet : str, optional
        Worksheet to read (Excel).

    Returns
    -------
    RawTable

    Raises
    ------
    ReadError
        The bytes are not a table the kit reads; the message names the fix.
    """
    kind = sniff(data)
    suffix = file.lower().rsplit(".", 1)[-1] if "." in file else ""
    if kind == "xls":
        raise ReadError(
            "is an Excel 97-2003 workbook (.xls), which the kit does not read; "
            "open it in Excel and save it as 'Excel Workbook (.xlsx)' or 'CSV UTF-8'"
        )
    if kind == "zip":
        raise ReadError("is a ZIP archive, not a table; unpack it and put the table files in the folder")
    if kind == "damaged zip":
        what = "an Excel workbook" if suffix in ("xlsx", "xlsm") else "a ZIP archive (an Excel workbook is one)"
        raise ReadError(f"is {what} that is damaged or cut short and cannot be opened; export or copy it again")
    if kind == "xlsx":
        raw = _read_xlsx(data, table=table, sheet=sheet)
        if suffix not in ("xlsx", "xlsm"):
            raw.notes.append(f"file {file} is an Excel workbook (by its bytes), not a .{suffix or 'csv'} text file; read sheet {raw.sheet!r} as a workbook")
        return raw
    if sheet is not None:
        raise ReadError(f"is not an Excel workbook, but mapping.yaml names sheet {sheet!r} for it; remove the sheet or point at the .xlsx file")
    if kind == "parquet" or suffix == "parquet":
        try:
            frame = pd.read_parquet(io.BytesIO(data))
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a broken file
            raise ReadError(f"expected a readable Parquet file ({type(exc).__name__}: {exc})") from None
        return RawTable(frame, np.arange(2, len(frame) + 2), "parquet")
    return _read_csv(data, file)


# --------------------------------------------------------------------------- CSV

EMPTY = "the file is empty (no header, no rows); expected a header and at least one row — the table is empty"


def _read_csv(data: bytes, file: str) -> RawTable:
    if not data.strip():
        raise ReadError(EMPTY)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ReadError(
            "is UTF-16 text (what Excel writes as 'Unicode Text'), not UTF-8 CSV; "
            "save it from Excel as 'CSV UTF-8 (comma delimited)', or convert it, e.g. `iconv -f UTF-16 -t UTF-8`"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EncodingProblem(exc) from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ReadError(f"expected a text file, but file line {line} holds a NUL byte (0x00); the file is damaged or not CSV — export it again as 'CSV UTF-8'")
    notes = []
    if "\r" in text:
        if "\n" not in text:
            notes.append(f"file {file} ends its lines with CR only (old Excel for Mac); read as line breaks")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    frame = _read_csv_pyarrow(data, text) if len(data) >= PYARROW_MIN_BYTES else None
    try:
        if frame is None:
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise ReadError(EMPTY) from None
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        raise ReadError(f"expected a comma-separated file with as many fields on every line as in the header ({str(exc).strip()})") from None
    header = next(csv.reader(io.StringIO(text.split("\n", 1)[0])), [])
    if not isinstance(frame.index, pd.RangeIndex):
        # pandas reads rows with more fields than the header by turning the first column into an index
        line, width = next(((n, len(r)) for n, r in enumerate(csv.reader(io.StringIO(text)), 1) if len(r) > len(header)), (2, len(header) + 1))
        raise ReadError(f"expected a comma-separated file with as many fields on every line as in the header: file line {line} has {width} fields, the header {len(header)}")
    stripped = [h.strip() for h in header]
    twice = sorted({h for h in stripped if stripped.count(h) > 1})
    if twice:
        raise RepeatedHeader(twice)
    frame.columns = [str(c).strip() for c in frame.columns]
    return RawTable(frame, _csv_lines(text, len(frame)), "csv", notes=notes)


#: Files from this size on are parsed with pyarrow's multithreaded CSV reader (about 4x faster
#: than pandas' C reader on a 100 MB kpi_monthly); smaller ones, where speed does not matter,
#: with the C reader only.
PYARROW_MIN_BYTES = 1 << 20


def _read_csv_pyarrow(data: bytes, text: str) -> pd.DataFrame | None:
    """The text columns of a CSV read by pyarrow, or None to leave the file to pandas' C reader.

    The options are those of the C reader (every column text, only an empty field missing),
    and on well-formed files the frames are identical (``tests/test_readers_pyarrow.py``
    holds both readers to each other). Whatever pyarrow refuses (a row with more or fewer
    fields than the header, a blank line of spaces, a header without rows) goes to the C
    reader, whose result and messages stay the reference.
    """
    if "\r" in text:
        return None  # the C reader reads the normalised text; so few files that speed does not matter
    payload = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        frame = pd.read_csv(io.BytesIO(payload), engine="pyarrow", dtype=str, keep_default_na=False, na_values=[""])
    except Exception:  # noqa: BLE001 - any refusal is left to the C reader, which names the problem
        return None
    return frame if isinstance(frame.index, pd.RangeIndex) else None


class EncodingProblem(ReadError):
    """Bytes that are not UTF-8 (the validation layer names the line and column)."""

    def __init__(self, exc: UnicodeDecodeError):
        super().__init__(str(exc))
        self.exc = exc


class RepeatedHeader(ReadError):
    """A header that names a column twice."""

    def __init__(self, names: list[str]):
        super().__init__(", ".join(map(repr, names)))
        self.names = names


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
    try:
        for record in reader:
            start, consumed = consumed + 1, reader.line_num
            if record and any(f.strip() for f in record) or len(record) > 1:
                starts.append(start)
    except csv.Error:
        return simple
    return np.asarray(starts[1:], dtype=np.int64) if len(starts) == n_rows + 1 else simple


# --------------------------------------------------------------------------- Excel


def column_letter(index: int) -> str:
    """Excel column letter of a 1-based column index (1 -> A, 27 -> AA)."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _cell_text(value: Any) -> Any:
    """A cell as the text a CSV export would hold (NaN for an empty cell)."""
    if value is None:
        return np.nan
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d") if value.time() == dt.time(0) else value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, dt.timedelta):
        return str(value)
    text = str(value)
    return np.nan if text == "" else text


def _pick_sheet(names: list[str], table: str, sheet: str | None, visible: list[str] | None = None) -> str:
    """The sheet to read: the one named in the mapping, the one named after the table, or the only (visible) one."""
    if sheet is not None:
        if sheet not in names:
            raise ReadError(f"has no sheet {sheet!r} (named in mapping.yaml); its sheets are {', '.join(map(repr, names))}")
        return sheet
    if table in names:
        return table
    shown = visible if visible else names
    if len(shown) == 1:
        return shown[0]
    raise ReadError(
        f"is a workbook with {len(names)} sheets ({', '.join(map(repr, names))}) and none is called {table!r}; "
        f"name the sheet in mapping.yaml, e.g. files: {{{table}: {{path: <file>, sheet: {names[0]}}}}}"
    )


#: The last workbook opened, by the sha256 of its bytes: one workbook holding every table is opened once.
_LAST_BOOK: dict[str, Any] = {}


def _open_workbook(data: bytes) -> Any:
    from python_calamine import CalamineWorkbook

    digest = hashlib.sha256(data).hexdigest()
    if digest not in _LAST_BOOK:
        try:
            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        except Exception as exc:  # noqa: BLE001 - a damaged workbook raises many types
            raise ReadError(f"is an Excel workbook that cannot be opened ({type(exc).__name__}: {exc}); open and re-save it in Excel") from None
        _LAST_BOOK.clear()
        _LAST_BOOK[digest] = book
    return _LAST_BOOK[digest]


def _read_xlsx(data: bytes, *, table: str, sheet: str | None) -> RawTable:
    """A worksheet as text columns, read with python-calamine (Rust; about 25x faster than openpyxl here)."""
    wb = _open_workbook(data)
    try:
        from python_calamine import SheetVisibleEnum

        visible = [m.name for m in wb.sheets_metadata if m.visible == SheetVisibleEnum.Visible]
    except Exception:  # noqa: BLE001 - visibility is a convenience; without it every sheet counts
        visible = None
    name = _pick_sheet(list(wb.sheet_names), table, sheet, visible)
    where = f"sheet {name!r}"
    try:
        ws = wb.get_sheet_by_name(name)
        rows = [[None if isinstance(v, str) and v == "" else v for v in r] for r in ws.to_python(skip_empty_area=False)]
        merged_ranges = ws.merged_cell_ranges or []
    except Exception as exc:  # noqa: BLE001 - a damaged sheet raises many types
        raise ReadError(f"{where} cannot be read ({type(exc).__name__}: {exc}); open and re-save the workbook in Excel") from None
    for (r0, c0), (r1, c1) in sorted(merged_ranges):
        coord = f"{column_letter(c0 + 1)}{r0 + 1}:{column_letter(c1 + 1)}{r1 + 1}"
        if r0 == 0:
            raise ReadError(
                f"{where}: header cells {coord} are merged; expected one header cell per column in row 1 — "
                "unmerge them and give every column its own name (a header over two rows is not read)"
            )
        raise ReadError(f"{where}: cells {coord} are merged, so Excel keeps a value only in {column_letter(c0 + 1)}{r0 + 1}; unmerge them and fill every cell")
    if not rows or all(v is None or (isinstance(v, str) and not v.strip()) for v in rows[0]):
        if not any(any(v is not None for v in r) for r in rows):
            raise ReadError(f"{where}: the sheet is empty (no header, no rows); expected a header in row 1 and at least one row — the table is empty")
        raise ReadError(f"{where}: row 1 is empty; expected the column headers in row 1 (remove any title rows above them)")
    width = max(len(r) for r in rows)
    grid = [list(r) + [None] * (width - len(r)) for r in rows]
    header = [None if v is None else str(_cell_text(v)).strip() for v in grid[0]]
    used = [j for j in range(width) if header[j] not in (None, "", "nan") or any(r[j] is not None for r in grid[1:])]
    for j in used:
        if header[j] in (None, "", "nan"):
            filled = next(i for i, r in enumerate(grid[1:], start=2) if r[j] is not None)
            raise ReadError(f"{where}: column {column_letter(j + 1)} has values (e.g. cell {column_letter(j + 1)}{filled}) but no header in cell {column_letter(j + 1)}1; name the column or delete it (a title row above the headers? the headers belong in row 1)")
    names = [str(header[j]) for j in used]
    twice = sorted({h for h in names if names.count(h) > 1})
    if twice:
        raise RepeatedHeader(twice)
    body, lines = [], []
    for i, r in enumerate(grid[1:], start=2):
        cells = [_cell_text(r[j]) for j in used]
        if all(not isinstance(c, str) or not c.strip() for c in cells):
            continue  # an empty row (trailing rows Excel keeps formatted, blank separator rows)
        body.append(cells)
        lines.append(i)
    frame = pd.DataFrame(body, columns=names, dtype=str)
    return RawTable(frame, np.asarray(lines, dtype=np.int64), "xlsx", sheet=name, letters={n: column_letter(j + 1) for n, j in zip(names, used, strict=True)})
