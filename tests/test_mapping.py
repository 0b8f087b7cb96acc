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
