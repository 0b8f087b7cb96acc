"""A template folder an HR analyst fills in from their own systems: ``python -m analysis template --out DIR``.

For every contract table it writes an empty CSV with the contract's headers
(``DIR/csv/<table>.csv``) and an Excel workbook (``DIR/excel/<table>.xlsx``) whose sheet
``<table>`` has the headers (allowed codes offered as a drop-down list), sheet ``example``
one example row, and sheet ``guide`` explains each column: required or not, what a value
looks like, the allowed codes, what it means and its example value. The data sheet is
left empty so that a filled-in template holds only the user's rows. ``DIR/mapping.yaml`` is a skeleton naming every
contract table, column and code, to be edited into the user's own names. Everything is
generated from :mod:`analysis.contract`, so the template cannot drift from the contract.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from analysis.contract import TABLES, Column, TableSpec

#: One example row per table; together they form a valid dataset (the tests load them).
EXAMPLES: dict[str, dict[str, Any]] = {
    "employees": {"employee_id": "E001", "department": "Sales", "role": "Account Manager", "region": "North", "hire_date": "2022-01-10", "exit_date": "", "grade": "G3", "manager_id": "E010"},
    "kpi_definitions": {"kpi": "sales", "unit": "CNY", "higher_is_better": True, "value_per_unit": 0.25, "target": 100000, "label": "Sales revenue"},
    "programs": {"program_id": "P01", "name": "Consultative selling", "category": "sales", "target_competency": "needs_discovery", "kpi": "sales", "duration_hours": 16, "benefit_months": 12},
    "enrollments": {
        "employee_id": "E001", "program_id": "P01", "status": "completed", "start_date": "2024-03-05", "end_date": "2024-03-20",
        "learn_completion": 1.0, "learn_minutes": 480, "learn_interruptions": 2, "practice_attempts": 3, "practice_first_pass": False,
        "practice_error_rate": 0.1, "exam_score": 82, "exam_attempts": 1, "exam_passed": True, "reaction_score": 4.5,
    },  # fmt: skip
    "kpi_monthly": {"employee_id": "E001", "month": "2024-01-01", "kpi": "sales", "value": 98000},
    "assessments": {"employee_id": "E001", "competency": "needs_discovery", "assessed_on": "2024-01-15", "score": 2.5, "source": "manager"},
    "role_requirements": {"role": "Account Manager", "competency": "needs_discovery", "required_level": 4, "weight": 0.3},
    "costs": {"program_id": "P01", "period": "2024", "category": "delivery", "amount": 12000},
    "headcount_plan": {"unit": "Account Manager", "year": 2025, "current_headcount": 40, "planned_hires": 8, "planned_exits": 5},
    "budget_priorities": {"program_id": "P01", "strategic_weight": 0.5, "business_weight": 0.3, "employee_weight": 0.2},
    "context_monthly": {"region": "North", "month": "2024-01-01", "market_index": 101.5},
    "scorecard_inputs": {"period": "2024", "kpi": "revenue", "value": 12500000, "target": 12000000},
    "followups": {"employee_id": "E001", "program_id": "P01", "months_after": 3, "applied": True, "manager_rating": 4.0},
}

_FORMATS = {"str": "text", "date": "date (YYYY-MM-DD)", "month": "month (YYYY-MM-01)", "float": "number", "int": "whole number", "bool": "true / false"}
GUIDE_HEADER = ("column", "required", "format", "allowed codes", "meaning", "example")


def _codes(col: Column) -> tuple[str, ...] | None:
    if col.isin is not None:
        return col.isin
    return ("true", "false") if col.kind == "bool" else None


def guide_rows(spec: TableSpec) -> list[tuple[Any, ...]]:
    """The guide sheet of a table: one row per contract column.

    Parameters
    ----------
    spec : TableSpec
        Contract table.

    Returns
    -------
    list of tuple
        ``(column, required, format, allowed codes, meaning, example)``; the format says the
        range and whether a value may be missing.
    """
    rows = []
    example = EXAMPLES[spec.name]
    for col in spec.columns:
        fmt = _FORMATS[col.kind]
        if col.ge is not None and col.le is not None:
            fmt += f", {col.ge:g} to {col.le:g}"
        elif col.ge is not None:
            fmt += f", at least {col.ge:g}"
        fmt += ", may be empty" if col.nullable else ", never empty"
        codes = _codes(col)
        notes = [col.description] if col.description else []
        for fk in spec.foreign_keys:
            if col.name in fk.columns:
                notes.append(f"must exist in table {fk.table} (column {fk.ref_columns[fk.columns.index(col.name)]})")
        if col.name in spec.key:
            notes.append("part of the key: one row per " + " + ".join(spec.key))
        meaning = "; ".join(notes)
        rows.append((col.name, "yes" if col.required else "no", fmt, ", ".join(codes) if codes else "", meaning, example.get(col.name, "")))
    return rows


def _excel_value(col: Column, value: Any) -> Any:
    if value in ("", None):
        return None
    if col.kind in ("date", "month"):
        return dt.datetime.strptime(str(value), "%Y-%m-%d")
    return value


def write_workbook(spec: TableSpec, path: Path) -> None:
    """An Excel workbook for one table: sheets ``<table>`` (headers, drop-downs of allowed codes), ``example`` and ``guide``."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    from analysis.readers import column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = spec.name
    ws.append([c.name for c in spec.columns])
    for j, col in enumerate(spec.columns, start=1):
        letter = column_letter(j)
        ws[f"{letter}1"].font = Font(bold=True)
        ws.column_dimensions[letter].width = max(12, len(col.name) + 2)
        codes = _codes(col)
        if codes:
            rule = DataValidation(type="list", formula1='"' + ",".join(codes) + '"', allow_blank=col.nullable)
            rule.error, rule.errorTitle = f"{col.name}: one of {', '.join(codes)}", "code not in the contract"
            ws.add_data_validation(rule)
            rule.add(f"{letter}2:{letter}100000")
        if col.kind in ("date", "month"):
            for row in range(2, 1001):
                ws[f"{letter}{row}"].number_format = "yyyy-mm-dd"
    ws.freeze_panes = "A2"
    example = wb.create_sheet("example")
    example.append([c.name for c in spec.columns])
    example.append([_excel_value(c, EXAMPLES[spec.name].get(c.name)) for c in spec.columns])
    for j, col in enumerate(spec.columns, start=1):
        example.cell(row=1, column=j).font = Font(bold=True)
        if col.kind in ("date", "month"):
            example.cell(row=2, column=j).number_format = "yyyy-mm-dd"
    guide = wb.create_sheet("guide")
    guide.append([f"{spec.name}: {spec.description}", "", "", "", "", ""])
    guide.append(["key: " + " + ".join(spec.key) + ("; this table is required" if spec.required else "; this table is optional"), "", "", "", "", ""])
    guide.append(list(GUIDE_HEADER))
    for cell in guide[3]:
        cell.font = Font(bold=True)
    for row, col in zip(guide_rows(spec), spec.columns, strict=True):
        guide.append([*row[:-1], _excel_value(col, row[-1])])
        if col.kind in ("date", "month") and row[-1]:
            guide.cell(row=guide.max_row, column=len(GUIDE_HEADER)).number_format = "yyyy-mm-dd"
    for letter, width in zip("ABCDEF", (22, 9, 34, 40, 50, 18), strict=True):
        guide.column_dimensions[letter].width = width
    wb.save(path)


def mapping_skeleton() -> str:
    """A ``mapping.yaml`` naming every contract table, column and code (valid as it stands: every name maps onto itself).

    Returns
    -------
    str
        YAML text with comments saying what to change.
    """
    out = [
        "# mapping.yaml: your exports' names -> the kit's data contract. Put it in the data folder.",
        "# Edit the LEFT side of each line into your own name; delete lines you do not need.",
        "files:",
        "  # table: your file name, or {path: your file, sheet: worksheet, number_format: {decimal: ',', thousands: '.'}, date_format: YYYY/M/D}",
    ]
    for name, spec in TABLES.items():
        out.append(f"  # {name}: {name}.csv" + ("" if spec.required else "   (optional table)"))
    out.append("columns:")
    for name, spec in TABLES.items():
        out.append(f"  {name}:" + ("" if spec.required else "   # optional table"))
        for col in spec.columns:
            note = "required" if col.required else "optional"
            note += f", {_FORMATS[col.kind]}" + (f" — {col.description}" if col.description else "")
            out.append(f"    {col.name}: {col.name}   # {note}")
    out.append("values:")
    out.append("  # your code: contract code, for every column with fixed codes; also merges spellings (SALES: Sales)")
    for name, spec in TABLES.items():
        coded = [c for c in spec.columns if c.isin is not None]
        if coded:
            out.append(f"  {name}:")
            for col in coded:
                out.append(f"    {col.name}: {{{', '.join(f'{c}: {c}' for c in col.isin)}}}")
    out.append("# panel: {start: 2024-01, end: 2025-12}   # optional: KPI months outside are an error")
    return "\n".join(out) + "\n"


def write_template(out: str | Path) -> list[Path]:
    """Write the template folder.

    Parameters
    ----------
    out : str or Path
        Folder to create (it may exist, but none of the files may).

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    FileExistsError
        A file of the template is already there (nothing is overwritten).
    """
    out = Path(out)
    targets = [out / "mapping.yaml"] + [out / "csv" / f"{n}.csv" for n in TABLES] + [out / "excel" / f"{n}.xlsx" for n in TABLES]
    taken = [p for p in targets if p.exists()]
    if taken:
        raise FileExistsError(f"{taken[0]} already exists; choose an empty folder (the template never overwrites a file)")
    (out / "csv").mkdir(parents=True, exist_ok=True)
    (out / "excel").mkdir(parents=True, exist_ok=True)
    for name, spec in TABLES.items():
        (out / "csv" / f"{name}.csv").write_text(",".join(c.name for c in spec.columns) + "\n", encoding="utf-8")
        write_workbook(spec, out / "excel" / f"{name}.xlsx")
    (out / "mapping.yaml").write_text(mapping_skeleton(), encoding="utf-8")
    return targets


def cli(argv: list[str]) -> int:
    """``python -m analysis template --out DIR``: write the template folder; 2 when a file is already there."""
    parser = argparse.ArgumentParser(prog="python -m analysis template", description="Write empty CSV and Excel templates of every contract table and a mapping.yaml skeleton.")
    parser.add_argument("--out", required=True, help="folder to write (no file is overwritten)")
    args = parser.parse_args(argv)
    try:
        written = write_template(args.out)
    except FileExistsError as exc:
        print(f"template: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: {len(written)} files — csv/ (empty CSV per table), excel/ (workbook per table: sheet 'example' has one example row, sheet 'guide' explains each column), mapping.yaml")
    return 0
