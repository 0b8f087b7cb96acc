"""mapping.yaml: a user's own file, column and code names load as the contract's."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.data import DataValidationError, load_dataset

EMPLOYEE_COLUMNS = {"工号": "employee_id", "部门": "department", "岗位": "role", "区域": "region", "入职日期": "hire_date", "离职日期": "exit_date", "职级": "grade", "直属上级": "manager_id"}
MAPPING = """files:
  employees: 员工.csv
columns:
  employees: {工号: employee_id, 部门: department, 岗位: role, 区域: region, 入职日期: hire_date, 离职日期: exit_date, 职级: grade, 直属上级: manager_id}
values:
  enrollments:
    status: {C: completed, D: dropped}
"""


def _to_user_names(folder: Path) -> None:
    emp = pd.read_csv(folder / "employees.csv", dtype=str, keep_default_na=False)
    emp.rename(columns={v: k for k, v in EMPLOYEE_COLUMNS.items()}).to_csv(folder / "员工.csv", index=False)
    (folder / "employees.csv").unlink()
    enr = folder / "enrollments.csv"
    enr.write_text(enr.read_text(encoding="utf-8").replace(",completed,", ",C,").replace(",dropped,", ",D,"), encoding="utf-8")
    (folder / "mapping.yaml").write_text(MAPPING, encoding="utf-8")


def test_mapped_export_loads_as_contract(tiny_dataset_dir: Path, tmp_path: Path) -> None:
    reference = load_dataset(tiny_dataset_dir)
    _to_user_names(tiny_dataset_dir)
    mapped = load_dataset(tiny_dataset_dir)
    for name in ("employees", "enrollments", "kpi_monthly"):
        pd.testing.assert_frame_equal(mapped.tables[name], reference.tables[name])
    assert set(mapped.fingerprints) >= {"员工.csv", "mapping.yaml"}


def test_error_names_user_and_contract_column(tiny_dataset_dir: Path) -> None:
    _to_user_names(tiny_dataset_dir)
    path = tiny_dataset_dir / "员工.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("2022-03-01", "2022/03/01"), encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        load_dataset(tiny_dataset_dir)
    message = str(info.value)
    assert "员工.csv" in message and "入职日期" in message and "hire_date" in message and "2022/03/01" in message


def test_unmapped_status_code_is_an_error(tiny_dataset_dir: Path) -> None:
    _to_user_names(tiny_dataset_dir)
    enr = tiny_dataset_dir / "enrollments.csv"
    enr.write_text(enr.read_text(encoding="utf-8").replace(",C,", ",X,", 1), encoding="utf-8")
    with pytest.raises(DataValidationError, match="'X'"):
        load_dataset(tiny_dataset_dir)


def test_unknown_table_in_mapping(tiny_dataset_dir: Path) -> None:
    (tiny_dataset_dir / "mapping.yaml").write_text("files:\n  staff: 员工.csv\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match="unknown table 'staff'"):
        load_dataset(tiny_dataset_dir)


def test_panel_window_in_mapping(tiny_dataset_dir: Path) -> None:
    (tiny_dataset_dir / "mapping.yaml").write_text("panel: {start: 2024-02, end: 2024-06}\n", encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        load_dataset(tiny_dataset_dir)
    assert info.value.table == "kpi_monthly" and info.value.column == "month"
    assert "2024-02 to 2024-06" in str(info.value) and "2024-01-01" in str(info.value)


def test_missing_mapped_column_names_both(tiny_dataset_dir: Path) -> None:
    _to_user_names(tiny_dataset_dir)
    path = tiny_dataset_dir / "员工.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("入职日期", "入职时间", 1), encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        load_dataset(tiny_dataset_dir)
    assert info.value.table == "employees" and info.value.column == "hire_date"
    assert "'入职日期' (→ hire_date)" in str(info.value) and "'入职时间'" in str(info.value)


def test_foreign_key_error_names_user_column(tiny_dataset_dir: Path) -> None:
    _to_user_names(tiny_dataset_dir)
    mapping = tiny_dataset_dir / "mapping.yaml"
    mapping.write_text(mapping.read_text(encoding="utf-8").replace("columns:\n", "columns:\n  enrollments: {学员: employee_id}\n"), encoding="utf-8")
    enr = tiny_dataset_dir / "enrollments.csv"
    enr.write_text(enr.read_text(encoding="utf-8").replace("employee_id,", "学员,", 1).replace("E03,", "E33,"), encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        load_dataset(tiny_dataset_dir)
    message = str(info.value)
    assert info.value.table == "enrollments" and info.value.column == "employee_id"
    assert "column '学员' (→ employee_id)" in message and "E33" in message and "file line 4" in message


def test_two_user_columns_onto_one_contract_column(tiny_dataset_dir: Path) -> None:
    _to_user_names(tiny_dataset_dir)
    mapping = tiny_dataset_dir / "mapping.yaml"
    mapping.write_text(mapping.read_text(encoding="utf-8").replace("职级: grade", "职级: region"), encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        load_dataset(tiny_dataset_dir)
    assert info.value.column == "region" and "'职级'" in str(info.value) and "'区域'" in str(info.value)


def test_value_codes_map_after_trimming_blanks(tiny_dataset_dir: Path) -> None:
    _to_user_names(tiny_dataset_dir)
    enr = tiny_dataset_dir / "enrollments.csv"
    enr.write_text(enr.read_text(encoding="utf-8").replace(",C,", ", C ,"), encoding="utf-8")
    statuses = load_dataset(tiny_dataset_dir).enrollments["status"].tolist()
    assert statuses == ["completed", "completed", "dropped", "completed"]


def test_mapping_for_parquet_file_and_bad_yaml(tiny_dataset_dir: Path) -> None:
    pd.read_csv(tiny_dataset_dir / "programs.csv").to_parquet(tiny_dataset_dir / "课程.parquet")
    (tiny_dataset_dir / "programs.csv").unlink()
    (tiny_dataset_dir / "mapping.yaml").write_text("files: {programs: 课程.parquet}\n", encoding="utf-8")
    ds = load_dataset(tiny_dataset_dir)
    assert ds.programs["program_id"].tolist() == ["P01", "P02"] and "课程.parquet" in ds.fingerprints
    (tiny_dataset_dir / "mapping.yaml").write_text("files: [programs\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match="mapping.yaml: not valid UTF-8 YAML"):
        load_dataset(tiny_dataset_dir)
    (tiny_dataset_dir / "mapping.yaml").write_text("files: {programs: 课程.csv}\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match="names file '课程.csv', which is not in"):
        load_dataset(tiny_dataset_dir)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("columns:\n  employees: [工号, employee_id]\n", "section columns: expected {table: {your column: contract column}}"),
        ("values: {enrollments: {status: C}}\n", "section values: expected"),
        ("- files\n", "found list"),
        ("panel: {start: 2024-06, end: 2024-01}\n", "start 2024-06 is after end 2024-01"),
        ("panel: {start: 2024-13}\n", "is not a month"),
        ("renames: {}\n", "unknown sections ['renames']"),
    ],
)
def test_malformed_mapping_is_a_validation_error(tiny_dataset_dir: Path, text: str, needle: str) -> None:
    (tiny_dataset_dir / "mapping.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        load_dataset(tiny_dataset_dir)
    assert info.value.table == "mapping" and needle in str(info.value)


def test_value_codes_under_the_users_column_name(tiny_dataset_dir: Path) -> None:
    _to_user_names(tiny_dataset_dir)
    mapping = tiny_dataset_dir / "mapping.yaml"
    text = mapping.read_text(encoding="utf-8").replace("columns:\n", "columns:\n  enrollments: {状态: status}\n").replace("    status: {C", "    状态: {C")
    mapping.write_text(text, encoding="utf-8")
    enr = tiny_dataset_dir / "enrollments.csv"
    enr.write_text(enr.read_text(encoding="utf-8").replace(",status,", ",状态,", 1), encoding="utf-8")
    assert load_dataset(tiny_dataset_dir).enrollments["status"].tolist() == ["completed", "completed", "dropped", "completed"]


def test_value_codes_for_a_column_nobody_has(tiny_dataset_dir: Path) -> None:
    (tiny_dataset_dir / "mapping.yaml").write_text("values:\n  enrollments:\n    stauts: {C: completed}\n", encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        load_dataset(tiny_dataset_dir)
    assert info.value.table == "enrollments" and info.value.column == "stauts" and "no column 'stauts' to recode" in str(info.value)
    # a contract column the file simply lacks (optional) is no error
    (tiny_dataset_dir / "mapping.yaml").write_text("values:\n  enrollments:\n    practice_first_pass: {Y: 'true'}\n", encoding="utf-8")
    assert len(load_dataset(tiny_dataset_dir).enrollments) == 4
