"""Real exports (issue 11): the ways HRIS, LMS and finance files really arrive, read right or refused with the fix.

Each case is a copy of the tiny dataset re-saved one way; accepted inputs must load to the
same values as the clean folder, refused ones must name table, column, rows and the fix,
and no input file may change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.__main__ import main
from analysis.data import DataValidationError, load_dataset

from .conftest import TINY_TABLES, write_tiny_dataset

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _load(folder: Path):
    """Load, and check that loading left every input file byte-identical."""
    before = _digest(folder)
    try:
        return load_dataset(folder)
    finally:
        assert _digest(folder) == before, "input files must never be modified"


def _refused(folder: Path) -> DataValidationError:
    before = _digest(folder)
    with pytest.raises(DataValidationError) as info:
        load_dataset(folder)
    assert _digest(folder) == before, "input files must never be modified"
    return info.value


def _same_tables(got, want, names=None) -> None:
    for name in names or want.tables:
        pd.testing.assert_frame_equal(got.tables[name], want.tables[name], check_like=False, obj=name)


def _replace(path: Path, old: str, new: str, count: int = -1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


@pytest.fixture
def reference(tmp_path: Path):
    return load_dataset(write_tiny_dataset(tmp_path / "clean"))


# --------------------------------------------------------------------------- near-duplicate categories


def test_near_duplicate_categories_are_refused_with_counts_and_the_merge(tiny_dataset_dir: Path, reference) -> None:
    emp = tiny_dataset_dir / "employees.csv"
    _replace(emp, "E03,Sales,", "E03,SALES,")
    _replace(emp, "E04,Sales,", "E04,Ｓａｌｅｓ,")  # full-width letters, as Chinese input methods type them
    err = _refused(tiny_dataset_dir)
    message = str(err)
    assert err.table == "employees" and err.column == "department"
    assert "'Sales' (4 rows) / 'SALES' (1 row) / 'Ｓａｌｅｓ' (1 row)" in message
    assert "values: {employees: {department: {'SALES': 'Sales', 'Ｓａｌｅｓ': 'Sales'}}}" in message
    assert err.rows["_line"].tolist() == [4, 5] and "E03" in message and "E04" in message
    # merged only because the mapping says so, to exactly the clean values
    (tiny_dataset_dir / "mapping.yaml").write_text("values:\n  employees:\n    department: {SALES: Sales, Ｓａｌｅｓ: Sales}\n", encoding="utf-8")
    _same_tables(_load(tiny_dataset_dir), reference)


def test_inner_blanks_and_case_in_a_role_are_near_duplicates(tiny_dataset_dir: Path) -> None:
    _replace(tiny_dataset_dir / "employees.csv", "E07,Service,Agent,", "E07,Service,AGENT,")
    _replace(tiny_dataset_dir / "employees.csv", "E08,Sales,Lead,", "E08,Sales,Rep,")
    _replace(tiny_dataset_dir / "employees.csv", "E02,Sales,Rep,", "E02,Sales,R ep,")
    err = _refused(tiny_dataset_dir)
    assert err.column == "role"
    # 'R ep' is not a near-duplicate of 'Rep' (a blank inside a word changes it); AGENT / Agent is
    assert "'Agent' (1 row) / 'AGENT' (1 row)" in str(err) and "'R ep'" not in str(err).split("offending")[0]


# --------------------------------------------------------------------------- decimal comma


def test_ambiguous_comma_is_an_error_until_the_mapping_declares_the_format(tiny_dataset_dir: Path) -> None:
    defs = tiny_dataset_dir / "kpi_definitions.csv"
    _replace(defs, "sales,CNY,true,0.2,", "sales,CNY,true,500,")
    _replace(defs, "csat,points,true,500,", 'csat,points,true,"2,815",')
    err = _refused(tiny_dataset_dir)
    assert err.table == "kpi_definitions" and err.column == "value_per_unit"
    assert "'2,815'" in str(err) and "number_format" in str(err) and "file line 3" in str(err) and "kpi='csat'" in str(err)
    mapping = tiny_dataset_dir / "mapping.yaml"
    mapping.write_text("files:\n  kpi_definitions: {number_format: {decimal: ',', thousands: '.'}}\n", encoding="utf-8")
    assert _load(tiny_dataset_dir).kpi_definitions["value_per_unit"].tolist() == [500.0, 2.815]
    mapping.write_text("files:\n  kpi_definitions: {number_format: {decimal: '.', thousands: ','}}\n", encoding="utf-8")
    assert _load(tiny_dataset_dir).kpi_definitions["value_per_unit"].tolist() == [500.0, 2815.0]
    # a declared format refuses only the values that do not fit it
    _replace(defs, "sales,CNY,true,500,", 'sales,CNY,true,"1.5,0",')
    err = _refused(tiny_dataset_dir)
    assert "decimal '.' and thousands ','" in str(err) and "'1.5,0'" in str(err) and "'2,815'" not in str(err).split("offending")[1]


@pytest.mark.parametrize(("written", "value", "reading"), [('"1234,56"', 1234.56, "decimal mark"), ('"1.234,5"', 1234.5, "decimal mark"), ('"1,234.5"', 1234.5, "thousands separator")])
def test_a_comma_with_one_reading_is_read_with_a_warning(tiny_dataset_dir: Path, written: str, value: float, reading: str) -> None:
    defs = tiny_dataset_dir / "kpi_definitions.csv"
    _replace(defs, "sales,CNY,true,0.2,", "sales,CNY,true,500,")
    _replace(defs, "csat,points,true,500,", f"csat,points,true,{written},")
    ds = _load(tiny_dataset_dir)
    assert ds.kpi_definitions["value_per_unit"].tolist() == [500.0, value]
    notes = [w.message for w in ds.warnings if w.table == "kpi_definitions"]
    assert any(reading in n and "'value_per_unit'" in n for n in notes), notes


# --------------------------------------------------------------------------- line endings and bytes


@pytest.mark.parametrize("ending", ["\r", "\r\n"])
def test_cr_and_crlf_line_endings_read_to_the_same_values(tiny_dataset_dir: Path, reference, ending: str) -> None:
    for path in tiny_dataset_dir.glob("*.csv"):
        path.write_bytes(path.read_bytes().replace(b"\n", ending.encode()))
    ds = _load(tiny_dataset_dir)
    _same_tables(ds, reference)
    notes = [w.message for w in ds.warnings]
    assert any("CR only" in n for n in notes) == (ending == "\r")


def test_nul_bytes_xls_and_zip_are_refused_by_their_bytes(tiny_dataset_dir: Path) -> None:
    path = tiny_dataset_dir / "programs.csv"
    path.write_bytes(path.read_bytes().replace(b"P02", b"P\x0002"))
    err = _refused(tiny_dataset_dir)
    assert err.table == "programs" and "NUL byte" in str(err) and "file line 3" in str(err)
    path.write_bytes(TINY_TABLES["programs"].replace(",", "\t").encode("utf-16"))
    assert "is UTF-16 text (what Excel writes as 'Unicode Text')" in str(_refused(tiny_dataset_dir))
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    assert "Excel 97-2003 workbook (.xls)" in str(_refused(tiny_dataset_dir))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("programs.csv", TINY_TABLES["programs"])
    path.write_bytes(buffer.getvalue())
    assert "ZIP archive" in str(_refused(tiny_dataset_dir))
    path.write_bytes(buffer.getvalue()[:-30])  # cut short, as an interrupted copy leaves it
    assert "table programs (file programs.csv) is a ZIP archive (an Excel workbook is one) that is damaged or cut short" in str(_refused(tiny_dataset_dir))


# --------------------------------------------------------------------------- dates


def _dates(folder: Path, column: int, render) -> None:
    """Rewrite one date column of employees.csv with ``render(date)``."""
    emp = folder / "employees.csv"
    lines = emp.read_text(encoding="utf-8").splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        if cells[column]:
            cells[column] = render(dt.date.fromisoformat(cells[column]))
        out.append(",".join(cells))
    emp.write_text("\n".join(out) + "\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("render", "named"),
    [
        (lambda d: f"{d.year}/{d.month}/{d.day}", "YYYY/M/D"),
        (lambda d: f"{d:%Y/%m/%d}", "YYYY/M/D"),
        (lambda d: f"{d.month}/{d.day}/{d.year}", "M/D/YYYY"),
        (lambda d: f"{d.day}.{d.month}.{d.year}", "D.M.YYYY"),
    ],
)
def test_one_non_iso_date_format_is_named_and_can_be_declared(tiny_dataset_dir: Path, reference, render, named: str) -> None:
    _dates(tiny_dataset_dir, 4, render)
    err = _refused(tiny_dataset_dir)
    message = str(err)
    assert err.column == "hire_date" and "mixed formats" not in message
    assert f"every date in the column is written as {named} instead" in message
    assert f"files: {{employees: {{date_format: {{hire_date: {named}}}}}}}" in message
    (tiny_dataset_dir / "mapping.yaml").write_text(f"files:\n  employees: {{date_format: {{hire_date: {named}}}}}\n", encoding="utf-8")
    _same_tables(_load(tiny_dataset_dir), reference)
    # only the dates that do not fit the declared format are refused
    _replace(tiny_dataset_dir / "employees.csv", render(dt.date(2023, 6, 15)), "2023-06-15")
    err = _refused(tiny_dataset_dir)
    assert f"a date written as {named} (mapping.yaml date_format)" in str(err) and err.rows["_line"].tolist() == [4]


def test_month_and_day_that_cannot_be_told_apart_are_said_so(tiny_dataset_dir: Path) -> None:
    _replace(tiny_dataset_dir / "employees.csv", "2023-06-15", "2023-06-11")
    _dates(tiny_dataset_dir, 4, lambda d: f"{d.month}/{d.day}/{d.year}")
    assert "M/D/YYYY or D/M/YYYY (no day above 12 tells which)" in str(_refused(tiny_dataset_dir))


# --------------------------------------------------------------------------- Excel


def _cell(text: str):
    """A CSV field as an Excel export would store it: numbers, dates and true/false as typed cells."""
    if text == "":
        return None
    if ISO.match(text):
        return dt.datetime.fromisoformat(text)
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?\d+", text) and not text.startswith("0"):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text):
        return float(text)
    return text


def _sheet(wb, name: str, csv_text: str, index: int | None = None):
    ws = wb.create_sheet(name, index)
    head, *rows = csv_text.strip("\n").split("\n")
    ws.append(head.split(","))
    for line in rows:
        ws.append([_cell(c) for c in line.split(",")])
    return ws


def _to_workbooks(folder: Path, *, one_book: str | None = None) -> None:
    """Re-save every CSV of the folder as a workbook (one per table, or one sheet per table in ``one_book``)."""
    from openpyxl import Workbook

    book = Workbook() if one_book else None
    if book is not None:
        book.remove(book.active)
    for path in sorted(folder.glob("*.csv")):
        text = path.read_text(encoding="utf-8")
        if book is None:
            wb = Workbook()
            wb.remove(wb.active)
            _sheet(wb, path.stem, text)
            wb.save(folder / f"{path.stem}.xlsx")
        else:
            _sheet(book, path.stem, text)
        path.unlink()
    if book is not None:
        book.save(folder / one_book)


def test_workbooks_load_to_the_same_values_as_csv(tiny_dataset_dir: Path, reference) -> None:
    _to_workbooks(tiny_dataset_dir)
    ds = _load(tiny_dataset_dir)
    _same_tables(ds, reference)
    assert set(ds.fingerprints) >= {"employees.xlsx", "kpi_monthly.xlsx"}


def test_one_workbook_with_a_sheet_per_table(tiny_dataset_dir: Path, reference) -> None:
    _to_workbooks(tiny_dataset_dir, one_book="hr_export.xlsx")
    ds = _load(tiny_dataset_dir)
    _same_tables(ds, reference)
    assert list(ds.fingerprints) == ["hr_export.xlsx"]


def test_named_sheet_in_the_mapping_and_a_workbook_renamed_to_csv(tiny_dataset_dir: Path, reference) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "说明"
    wb.active["A1"] = "exported 2026-11-30 from the HRIS"
    _sheet(wb, "在职", TINY_TABLES["employees"])
    wb.save(tiny_dataset_dir / "花名册.xlsx")
    (tiny_dataset_dir / "employees.csv").unlink()
    err = _refused(tiny_dataset_dir)  # two sheets, none called employees: which one?
    assert "employees" in str(err) and "'说明', '在职'" in str(err) and "sheet:" in str(err)
    mapping = tiny_dataset_dir / "mapping.yaml"
    mapping.write_text("files:\n  employees: {path: 花名册.xlsx, sheet: 在职}\n", encoding="utf-8")
    _same_tables(_load(tiny_dataset_dir), reference)
    mapping.write_text("files:\n  employees: {path: 花名册.xlsx, sheet: 离职}\n", encoding="utf-8")
    assert "has no sheet '离职'" in str(_refused(tiny_dataset_dir))
    # the same workbook saved under a .csv name is read as the workbook it is, and said so
    mapping.unlink()
    wb.remove(wb["说明"])
    wb.save(tiny_dataset_dir / "employees.csv")
    (tiny_dataset_dir / "花名册.xlsx").unlink()
    ds = _load(tiny_dataset_dir)
    _same_tables(ds, reference)
    assert any("employees.csv is an Excel workbook (by its bytes)" in w.message for w in ds.warnings)


def test_excel_messages_name_the_sheet_and_the_cell(tiny_dataset_dir: Path) -> None:
    _replace(tiny_dataset_dir / "enrollments.csv", ",82,", ",182,")
    _to_workbooks(tiny_dataset_dir)
    err = _refused(tiny_dataset_dir)
    assert err.table == "enrollments" and err.column == "exam_score"
    assert "(file enrollments.xlsx, sheet 'enrollments')" in str(err) and "cell F2: " in str(err) and "exam_score=182" in str(err)


def test_merged_cells_are_refused_and_trailing_empty_rows_skipped(tiny_dataset_dir: Path, reference) -> None:
    from openpyxl import Workbook, load_workbook
    from openpyxl.styles import Font

    _to_workbooks(tiny_dataset_dir)
    path = tiny_dataset_dir / "programs.xlsx"
    wb = load_workbook(path)
    ws = wb["programs"]
    for row in range(10, 40):  # formatted but empty rows, as Excel keeps them
        ws.cell(row=row, column=2).font = Font(bold=True)
    ws.cell(row=12, column=3, value="   ")
    wb.save(path)
    _same_tables(_load(tiny_dataset_dir), reference)
    ws.merge_cells("A1:B1")
    wb.save(path)
    err = _refused(tiny_dataset_dir)
    assert "header cells A1:B1 are merged" in str(err) and "sheet 'programs'" in str(err)
    wb = Workbook()
    _ = wb.active
    wb.active.title = "programs"
    for line in TINY_TABLES["programs"].strip().split("\n"):
        wb.active.append(line.split(","))
    wb.active.merge_cells("C2:C3")
    wb.save(path)
    assert "cells C2:C3 are merged, so Excel keeps a value only in C2" in str(_refused(tiny_dataset_dir))


def test_a_workbook_in_the_folder_is_found(tiny_dataset_dir: Path) -> None:
    from openpyxl import load_workbook

    _to_workbooks(tiny_dataset_dir)
    path = tiny_dataset_dir / "课程.xlsx"
    (tiny_dataset_dir / "programs.xlsx").rename(path)
    assert _load(tiny_dataset_dir).programs["program_id"].tolist() == ["P01", "P02"]  # by its sheet's name
    wb = load_workbook(path)
    wb["programs"].title = "课程目录"
    wb.save(path)
    err = _refused(tiny_dataset_dir)
    assert "programs.csv (or .xlsx, .parquet, or a workbook sheet named 'programs') is missing" in str(err)
    assert "课程.xlsx (sheets '课程目录')" in str(err) and "files: {programs: {path: 课程.xlsx, sheet: 课程目录}}" in str(err)
    (tiny_dataset_dir / "mapping.yaml").write_text("files: {programs: 课程.xlsx}\n", encoding="utf-8")
    assert _load(tiny_dataset_dir).programs["program_id"].tolist() == ["P01", "P02"]


# --------------------------------------------------------------------------- mapping messages


def _user_names(folder: Path, target: str = "hire_date") -> Path:
    emp = folder / "employees.csv"
    head, rest = emp.read_text(encoding="utf-8").split("\n", 1)
    emp.write_text("工号,部门,岗位,区域,入职日期,离职日期,职级,直属上级\n" + rest, encoding="utf-8")
    mapping = folder / "mapping.yaml"
    mapping.write_text(
        "# our HRIS export\ncolumns:\n  employees:\n    工号: employee_id\n    部门: department\n    岗位: role\n    区域: region\n"
        f"    入职日期: {target}\n    离职日期: exit_date\n    职级: grade\n    直属上级: manager_id\n",
        encoding="utf-8",
    )
    return mapping


def test_a_mapping_target_that_is_not_a_contract_name(tiny_dataset_dir: Path, reference) -> None:
    _user_names(tiny_dataset_dir, target="hired_on")
    err = _refused(tiny_dataset_dir)
    message = str(err)
    assert err.table == "employees" and err.column == "hired_on"
    assert "mapping.yaml line 8 maps '入职日期' onto 'hired_on', which is not a column of the contract table employees" in message
    assert "closest contract names: hire_date" in message and "missing" not in message
    _user_names(tiny_dataset_dir)
    _same_tables(_load(tiny_dataset_dir), reference)


def test_the_file_has_lists_the_users_own_headers(tiny_dataset_dir: Path) -> None:
    mapping = _user_names(tiny_dataset_dir)
    _replace(mapping, "    区域: region\n", "")
    err = _refused(tiny_dataset_dir)
    message = str(err)
    assert err.column == "region" and "the file has '工号', '部门', '岗位', '区域', '入职日期'" in message
    assert "'employee_id'" not in message.split("the file has")[1]


# --------------------------------------------------------------------------- no traceback, ever

TABLE_FILES = ["employees.csv", "kpi_definitions.csv", "programs.csv", "enrollments.csv", "kpi_monthly.csv"]


@st.composite
def corruptions(draw):
    name = draw(st.sampled_from(TABLE_FILES))
    kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "splice"]))
    at = draw(st.floats(0, 1))
    junk = draw(st.binary(min_size=1, max_size=12) | st.sampled_from([b"\r", b"\x00", b'"', b",", b"\n\n", b"\xef\xbb\xbf", b"PK\x03\x04", b"\xff\xfe", b"1e999", b"NaN"]))
    return name, kind, at, junk


def _corrupt(folder: Path, name: str, kind: str, at: float, junk: bytes) -> None:
    path = folder / name
    data = path.read_bytes()
    i = int(at * len(data))
    if kind == "flip":
        data = data[:i] + junk + data[i + len(junk):]
    elif kind == "insert":
        data = data[:i] + junk + data[i:]
    elif kind == "delete":
        data = data[:i] + data[i + len(junk) * 7:]
    elif kind == "truncate":
        data = data[:i]
    else:
        data = junk + data[i:]
    path.write_bytes(data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=corruptions())
def test_corrupted_bytes_load_or_raise_a_validation_error(tmp_path_factory: pytest.TempPathFactory, case) -> None:
    folder = write_tiny_dataset(tmp_path_factory.mktemp("corrupt"))
    _corrupt(folder, *case)
    try:
        load_dataset(folder)
    except DataValidationError as exc:
        assert exc.table and str(exc)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=corruptions())
def test_validate_and_run_never_print_a_traceback(tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str], case) -> None:
    folder = write_tiny_dataset(tmp_path_factory.mktemp("corrupt"))
    _corrupt(folder, *case)
    code = main(["validate", "--data", str(folder)])
    captured = capsys.readouterr()
    assert code in (0, 1) and "Traceback" not in captured.err + captured.out
    if code == 1:  # an input problem: run records a failed run (exit 1, run.json), never exit 2
        out = folder.parent / f"{folder.name}-reports"
        empty = folder.parent / f"{folder.name}-no-notebooks"
        empty.mkdir()
        assert main(["run", "--data", str(folder), "--out", str(out), "--notebooks", str(empty)]) == 1
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err + captured.out
        (run_json,) = out.glob("*/run.json")
        assert '"status": "failed"' in run_json.read_text(encoding="utf-8")


def test_cr_only_file_in_run_is_read_not_a_crash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_tiny_dataset(tmp_path / "mac")
    for path in folder.glob("*.csv"):
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r"))
    _replace(folder / "programs.csv", "P02,", "P02,x,")  # and one ragged line: a recorded failed run
    empty = tmp_path / "none"
    empty.mkdir()
    assert main(["run", "--data", str(folder), "--out", str(tmp_path / "reports"), "--notebooks", str(empty)]) == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out and "table programs" in out.out
    (run_json,) = (tmp_path / "reports").glob("*/run.json")
    assert '"status": "failed"' in run_json.read_text(encoding="utf-8")


def test_readme_formats_example_is_a_valid_mapping(tmp_path: Path) -> None:
    from analysis.validation import Mapping, NumberFormat

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("how the file writes\nnumbers and dates", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "mapping.yaml").write_text(block, encoding="utf-8")
    mapping = Mapping.read(tmp_path / "mapping.yaml")
    assert mapping.sheets == {"employees": "在职"} and mapping.files["kpi_monthly"] == "月度绩效.csv"
    assert mapping.number_formats["kpi_monthly"] == NumberFormat(",", ".")
    assert mapping.date_format("kpi_monthly", "month") == "YYYY/M"


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(at=st.floats(0, 1), junk=st.binary(min_size=1, max_size=64), truncate=st.booleans())
def test_corrupted_workbook_loads_or_raises_a_validation_error(tmp_path_factory: pytest.TempPathFactory, at: float, junk: bytes, truncate: bool) -> None:
    folder = write_tiny_dataset(tmp_path_factory.mktemp("book"))
    _to_workbooks(folder, one_book="hr.xlsx")
    path = folder / "hr.xlsx"
    data = path.read_bytes()
    i = int(at * len(data))
    path.write_bytes(data[:i] if truncate else data[:i] + junk + data[i + len(junk):])
    try:
        load_dataset(folder)
    except DataValidationError as exc:
        assert exc.table and str(exc)
        if truncate and 4 <= i < len(data) - 100:
            assert "hr.xlsx" in str(exc) and "damaged or cut short" in str(exc)


def test_declared_number_format_reaches_extra_columns_and_time_of_day_is_named(tiny_dataset_dir: Path) -> None:
    emp = tiny_dataset_dir / "employees.csv"
    lines = emp.read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + ",bonus"] + [f'{line},"1.{i}00,5"' for i, line in enumerate(lines[1:], start=1)]
    emp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _load(tiny_dataset_dir).employees["bonus"].dtype == "string"  # not declared: kept as text
    (tiny_dataset_dir / "mapping.yaml").write_text("files:\n  employees: {number_format: {decimal: ',', thousands: '.'}}\n", encoding="utf-8")
    assert _load(tiny_dataset_dir).employees["bonus"].tolist()[:2] == [1100.5, 1200.5]
    _replace(emp, "2022-03-01", "2022-03-01 09:30:00")
    err = _refused(tiny_dataset_dir)
    assert err.column == "hire_date" and "without a time of day" in str(err) and "'2022-03-01 09:30:00'" in str(err)


def test_reader_helpers() -> None:
    from analysis.readers import _cell_text, column_letter, sniff

    assert [column_letter(i) for i in (1, 2, 26, 27, 52, 703)] == ["A", "B", "Z", "AA", "AZ", "AAA"]
    assert sniff(b"PAR1....PAR1") == "parquet" and sniff(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest") == "xls" and sniff(b"PK\x03\x04junk") == "damaged zip"
    assert sniff(b"employee_id,department\n") == "text"
    cells = [None, "", True, 7, 82.0, 0.1, 1e20, dt.datetime(2024, 3, 5), dt.datetime(2024, 3, 5, 9, 30), dt.date(2024, 3, 5), "E01"]
    texts = [_cell_text(c) for c in cells]
    assert pd.isna(texts[0]) and pd.isna(texts[1])
    assert texts[2:] == ["true", "7", "82", "0.1", "1e+20", "2024-03-05", "2024-03-05 09:30:00", "2024-03-05", "E01"]


def test_a_file_given_as_the_data_folder(tmp_path: Path) -> None:
    path = tmp_path / "employees.csv"
    path.write_text(TINY_TABLES["employees"], encoding="utf-8")
    with pytest.raises(DataValidationError, match="is a file, not a folder"):
        load_dataset(path)


def test_the_sample_with_cr_line_endings_and_as_csv_beside_a_workbook_reads_to_the_same_values(tmp_path: Path) -> None:
    from openpyxl import Workbook

    sample = Path(__file__).resolve().parents[1] / "data" / "sample"
    reference = load_dataset(sample)
    mac, mixed = tmp_path / "mac", tmp_path / "mixed"
    mac.mkdir()
    mixed.mkdir()
    book = Workbook(write_only=True)
    for path in sorted(sample.glob("*.csv")):
        (mac / path.name).write_bytes(path.read_bytes().replace(b"\n", b"\r"))
        if path.stem in ("kpi_monthly", "assessments"):  # the two big tables stay CSV: a folder may mix formats
            (mixed / path.name).write_bytes(path.read_bytes())
            continue
        ws = book.create_sheet(path.stem)
        head, *rows = path.read_text(encoding="utf-8").strip("\n").split("\n")
        ws.append(head.split(","))
        for line in rows:
            ws.append([_cell(c) for c in line.split(",")])
    book.save(mixed / "hr_export.xlsx")
    _same_tables(_load(mac), reference)
    from_book = _load(mixed)
    _same_tables(from_book, reference)
    assert [w.message for w in from_book.warnings] == [w.message for w in reference.warnings]


def test_a_comma_in_a_whole_number_column_can_only_group_thousands(tiny_dataset_dir: Path) -> None:
    (tiny_dataset_dir / "headcount_plan.csv").write_text('unit,year,current_headcount,planned_hires,planned_exits\nRep,2025,"1,200",80,"1,050"\n', encoding="utf-8")
    ds = _load(tiny_dataset_dir)
    row = ds.headcount_plan.iloc[0]
    assert (row["current_headcount"], row["planned_exits"]) == (1200, 1050)
    assert any("thousands separator" in w.message and "'current_headcount'" in w.message for w in ds.warnings)


def test_hidden_sheets_are_passed_over_and_serial_dates_are_named(tiny_dataset_dir: Path, reference) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    _sheet(wb, "Sheet1", TINY_TABLES["programs"])
    wb.create_sheet("lookup").sheet_state = "hidden"
    wb.save(tiny_dataset_dir / "programs.xlsx")
    (tiny_dataset_dir / "programs.csv").unlink()
    _same_tables(_load(tiny_dataset_dir), reference)
    # dates that arrive as Excel's day numbers (a column formatted as General)
    _dates(tiny_dataset_dir, 4, lambda d: str((d - dt.date(1899, 12, 30)).days))
    err = _refused(tiny_dataset_dir)
    assert err.column == "hire_date" and "look like Excel date serial numbers" in str(err) and "'44571'" in str(err)


def test_a_row_with_one_field_too_many_is_named_not_read_into_an_index(tmp_path: Path) -> None:
    # found by the corrupted-bytes test (programs.csv, a comma flipped into a name): pandas would make
    # program_id the index and the checks failed inside pandera
    folder = write_tiny_dataset(tmp_path / "extra")
    (folder / "programs.csv").write_text(
        "program_id,name,category,target_competency,kpi,duration_hours\n"
        "P01,Consultative sel,ing,sales,needs_discovery,sales,16\n"
        "P02,Service excellence,service,empathy,csat,8\n",
        encoding="utf-8",
    )
    with pytest.raises(DataValidationError, match="file line 2 has 7 fields, the header 6"):
        load_dataset(folder)
