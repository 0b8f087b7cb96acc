"""The data layer: every bad input gets a clear error; valid input gives known typed frames and panels."""

from __future__ import annotations

import copy
import hashlib
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.contract import TABLES
from analysis.data import DataValidationError, cli, load_dataset

from .conftest import write_tiny_dataset

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def _edit(name: str, old: str, new: str) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        path = folder / name
        text = path.read_text(encoding="utf-8")
        assert old in text, f"fixture text {old!r} not in {name}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return mutate


def _append(name: str, line: str) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        path = folder / name
        path.write_text(path.read_text(encoding="utf-8") + line, encoding="utf-8")

    return mutate


def _write(name: str, text: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_text(text, encoding="utf-8")


def _gbk(folder: Path) -> None:
    path = folder / "employees.csv"
    path.write_bytes(path.read_text(encoding="utf-8").replace("North", "华北").encode("gbk"))


def _header(name: str, old: str, new: str) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        path = folder / name
        head, rest = path.read_text(encoding="utf-8").split("\n", 1)
        path.write_text(head.replace(old, new) + "\n" + rest, encoding="utf-8")

    return mutate


# (case id, mutation, table, column, texts the message must contain: the bad value and the row's key)
BAD_INPUTS = [
    # the list
    ("missing_table", lambda f: (f / "employees.csv").unlink(), "employees", None, ("missing", "employees.csv")),
    ("missing_column", _header("employees.csv", "hire_date", "hired"), "employees", "hire_date", ("'hire_date'", "missing", "'hired'")),
    ("duplicate_key", _append("employees.csv", "E01,Sales,Rep,North,2022-01-10,,G1,E08\n"), "employees", "employee_id", ("unique", "E01", "file line 2", "file line 10")),
    ("duplicate_composite_key", _append("kpi_monthly.csv", "E02,2024-03-01,sales,7\n"), "kpi_monthly", "employee_id + month + kpi", ("E02", "2024-03-01")),
    ("enrollment_unknown_employee", _append("enrollments.csv", "E99,P01,completed,2024-03-05,2024-03-20,82,true\n"), "enrollments", "employee_id", ("E99", "table employees", "file line 6")),
    ("enrollment_unknown_program", _append("enrollments.csv", "E01,P09,completed,2024-03-05,2024-03-20,82,true\n"), "enrollments", "program_id", ("'P09'", "E01")),
    ("kpi_unknown_employee", _append("kpi_monthly.csv", "E77,2024-02-01,sales,5\n"), "kpi_monthly", "employee_id", ("E77",)),
    ("start_after_end", _edit("enrollments.csv", "2024-03-05,2024-03-20", "2024-03-25,2024-03-20"), "enrollments", "end_date", ("2024-03-25", "E01", "P01")),
    ("kpi_month_after_exit", _append("kpi_monthly.csv", "E05,2024-06-01,sales,5\n"), "kpi_monthly", "month", ("E05", "2024-06-01", "after the employee's exit month", "exit_date=2024-04-20")),
    ("kpi_month_before_hire", _append("kpi_monthly.csv", "E04,2024-01-01,sales,5\n"), "kpi_monthly", "month", ("E04", "2024-01-01", "before the employee's hire month", "hire_date=2024-02-01")),
    ("non_numeric_kpi", _edit("kpi_monthly.csv", ",sales,100010", ",sales,lots"), "kpi_monthly", "value", ("'lots'", "E01", "a number")),
    ("decimal_comma_kpi", _edit("kpi_monthly.csv", ",sales,100010", ',sales,"1234,56"'), "kpi_monthly", "value", ("'1234,56'", "E01", "decimal point '.'")),
    ("infinite_kpi", _edit("kpi_monthly.csv", ",sales,100010", ",sales,inf"), "kpi_monthly", "value", ("inf", "E01")),
    ("negative_cost", _write("costs.csv", "program_id,period,category,amount\nP01,2024,delivery,-5\n"), "costs", "amount", ("-5", "P01", ">= 0")),
    ("non_utf8_csv", _gbk, "employees", "region", ("UTF-8", "E01", "file line 2", "iconv")),
    ("non_utf8_header", lambda f: (f / "employees.csv").write_bytes("工号,部门\nE01,Sales\n".encode("gbk")), "employees", None, ("UTF-8", "header")),
    ("empty_table", _write("programs.csv", "program_id,name,category,target_competency,kpi,duration_hours\n"), "programs", None, ("empty",)),
    ("empty_file", _write("programs.csv", ""), "programs", None, ("empty",)),
    ("mixed_month_formats", _edit("kpi_monthly.csv", "E01,2024-02-01", "E01,02/01/2024"), "kpi_monthly", "month", ("02/01/2024", "mixed formats", "E01", "file line 3")),
    # more ways a real export goes wrong
    ("month_not_first_day", _edit("kpi_monthly.csv", "E01,2024-02-01", "E01,2024-02-03"), "kpi_monthly", "month", ("2024-02-03", "first day")),
    ("unknown_status", _edit("enrollments.csv", "dropped", "DROP"), "enrollments", "status", ("'DROP'", "E03", "completed")),
    ("exam_out_of_range", _edit("enrollments.csv", ",82,", ",182,"), "enrollments", "exam_score", ("182", "E01", "between 0 and 100")),
    ("unparseable_date", _edit("employees.csv", "2022-03-01", "2022-13-45"), "employees", "hire_date", ("2022-13-45", "E02")),
    ("text_in_date_column", _edit("employees.csv", "2022-03-01", "soon"), "employees", "hire_date", ("'soon'", "E02", "YYYY-MM-DD")),
    ("date_before_1950", _edit("employees.csv", "2022-03-01", "1949-12-31"), "employees", "hire_date", ("1949-12-31", "E02", "1950-01-01")),
    ("exit_before_hire", _edit("employees.csv", "2021-05-01,2024-04-20", "2021-05-01,2020-04-20"), "employees", "exit_date", ("2020-04-20", "E05")),
    ("missing_required_value", _edit("employees.csv", "E03,Sales", "E03,"), "employees", "department", ("E03", "not missing")),
    ("blank_required_value", _edit("employees.csv", "E03,Sales", "E03,   "), "employees", "department", ("E03", "<missing>")),
    ("fractional_int", _write("headcount_plan.csv", "unit,year,current_headcount,planned_hires,planned_exits\nRep,2025,10.5,2,1\n"), "headcount_plan", "current_headcount", ("10.5", "Rep", "whole number")),
    ("bad_bool", _edit("kpi_definitions.csv", "sales,CNY,true", "sales,CNY,maybe"), "kpi_definitions", "higher_is_better", ("'maybe'", "sales")),
    ("unknown_program_kpi", _edit("programs.csv", "service,empathy,csat", "service,empathy,nps"), "programs", "kpi", ("'nps'", "P02")),
    ("unknown_kpi_rows", _append("kpi_monthly.csv", "E01,2024-02-01,nps,40\n"), "kpi_monthly", "kpi", ("'nps'", "E01")),
    ("ragged_csv_line", _append("enrollments.csv", "E01,P02,completed,2024-03-05,2024-03-20,82,true,extra\n"), "enrollments", None, ("fields",)),
    ("repeated_header_column", _header("employees.csv", "grade", "region"), "employees", "region", ("'region'", "once")),
]


def _fingerprints(folder: Path) -> dict[str, tuple[str, int]]:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(("case", "mutate", "table", "column", "needles"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_names_table_column_and_rows(tiny_dataset_dir: Path, case, mutate, table, column, needles) -> None:
    mutate(tiny_dataset_dir)
    before = _fingerprints(tiny_dataset_dir)
    with pytest.raises(DataValidationError) as info:
        load_dataset(tiny_dataset_dir)
    err = info.value
    message = str(err)
    assert isinstance(err, ValueError)
    assert err.table == table
    assert f"table {table}" in message
    assert err.column == column
    if column is not None:
        assert f"column {column!r}" in message
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"
    assert "Traceback" not in message
    assert _fingerprints(tiny_dataset_dir) == before, "input files must never be modified"


def test_error_lists_at_most_five_rows(tiny_dataset_dir: Path) -> None:
    path = tiny_dataset_dir / "kpi_monthly.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",sales,", ",sales,x"), encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        load_dataset(tiny_dataset_dir)
    message = str(info.value)
    assert "33 offending rows, first five" in message
    assert message.count("file line") == 5
    assert len(info.value.rows) == 5


def test_valid_load_types_and_fingerprints(tiny_dataset_dir: Path) -> None:
    before = _fingerprints(tiny_dataset_dir)
    ds = load_dataset(tiny_dataset_dir)
    assert _fingerprints(tiny_dataset_dir) == before
    emp = ds.employees
    assert emp["hire_date"].dtype == "datetime64[ns]"
    assert emp.loc[emp["employee_id"] == "E05", "exit_date"].iloc[0] == pd.Timestamp("2024-04-20")
    assert ds.kpi_definitions["higher_is_better"].tolist() == [True, True]
    assert ds.enrollments["exam_passed"].tolist()[:2] == [True, False]
    assert ds.programs["benefit_months"].tolist() == [12, 12], "benefit_months defaults to 12"
    assert ds.costs is None and "costs" not in ds.tables
    for name, digest in ds.fingerprints.items():
        assert digest == hashlib.sha256((tiny_dataset_dir / name).read_bytes()).hexdigest()
    assert set(ds.fingerprints) == {p.name for p in tiny_dataset_dir.iterdir()}
    assert list(ds.months) == list(pd.date_range("2024-01-01", "2024-06-01", freq="MS"))


def test_panel_values_on_tiny_dataset(tiny_dataset_dir: Path) -> None:
    panel = load_dataset(tiny_dataset_dir).panel("sales", "P01")
    cohort = panel.groupby("employee_id")["cohort"].first().to_dict()
    assert cohort == {"E01": 3, "E02": 3, "E03": 4, "E04": 0, "E05": 0, "E08": 0}
    e01 = panel[panel["employee_id"] == "E01"].set_index("period")
    assert e01["event_time"].tolist() == [-2.0, -1.0, 0.0, 1.0, 2.0, 3.0]
    assert e01.loc[1, "value"] == 100010.0
    # tenure: 2022-01-10 to 2024-01-01 = 721 days = 23.69 months of 30.4375 days
    assert e01.loc[1, "tenure_months"] == pytest.approx(721 / 30.4375)
    assert panel.loc[panel["cohort"] == 0, "event_time"].isna().all()
    assert panel.groupby("employee_id").size().to_dict() == {"E01": 6, "E02": 6, "E03": 6, "E04": 5, "E05": 4, "E08": 6}
    assert panel.loc[panel["employee_id"] == "E02", "exam_score"].iloc[0] == 55.0
    assert panel["cohort_month"].dropna().min() == pd.Timestamp("2024-03-01")


def test_cohort_is_first_start_month_of_any_status(tiny_dataset_dir: Path) -> None:
    _append("enrollments.csv", "E01,P01,completed,2024-01-15,2024-01-30,60,true\n")(tiny_dataset_dir)
    coh = load_dataset(tiny_dataset_dir).cohorts("P01").set_index("employee_id")
    assert coh.loc["E01", "cohort"] == 1
    assert coh.loc["E01", "exam_score"] == 60.0, "first enrollment's exam"
    assert coh.loc["E03", "status"] == "dropped" and coh.loc["E03", "cohort"] == 4


def test_context_columns_merge_into_panel(tiny_dataset_dir: Path) -> None:
    rows = ["region,month,market_index"] + [f"{r},2024-0{m}-01,{100 + m + (10 if r == 'South' else 0)}" for r in ("North", "South") for m in range(1, 7)]
    (tiny_dataset_dir / "context_monthly.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    panel = load_dataset(tiny_dataset_dir).panel("sales", "P01")
    e03 = panel[(panel["employee_id"] == "E03") & (panel["period"] == 2)]
    assert e03["market_index"].iloc[0] == 112.0


def test_warnings_are_collected_not_printed(tiny_dataset_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ds = load_dataset(tiny_dataset_dir)
    assert capsys.readouterr() == ("", "")
    messages = [w.message for w in ds.warnings]
    # E04 is hired in February (joins), E05 leaves in April: the fixture's two unbalanced series
    assert "unbalanced panel: 2 of 8 employees join or leave inside the 6-month window (1 start after the first month, 1 stop before the last); 0 have gaps inside their span" in messages
    tiny = next(w for w in ds.warnings if "fewer than 5 trainees" in w.message)
    assert tiny.message.startswith("3 program training months")
    assert tiny.rows == ["P01 2024-03: 2 trainees", "P01 2024-04: 1 trainee", "P02 2024-02: 1 trainee"]
    absent = [w for w in ds.warnings if "is absent" in w.message]
    assert {w.table for w in absent} == {"assessments", "role_requirements", "costs", "headcount_plan", "budget_priorities", "context_monthly", "scorecard_inputs", "followups"}
    assert next(w for w in absent if w.table == "costs").message == "table costs is absent; ROI will be skipped"
    assert not any("missing while employed" in m or "no KPI row" in m or "extra columns" in m for m in messages)


def test_missing_kpi_months_while_employed_warn(tiny_dataset_dir: Path) -> None:
    path = tiny_dataset_dir / "kpi_monthly.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    drop = {"E03,2024-03-01,sales", "E03,2024-04-01,sales", "E01,2024-06-01,sales", "E07,"}
    path.write_text("".join(l for l in lines if not any(l.startswith(d) for d in drop)), encoding="utf-8")
    ds = load_dataset(tiny_dataset_dir)
    missing = next(w for w in ds.warnings if "missing while employed" in w.message)
    # E03: a gap of 2 months; E01: last month absent although still employed (E07 has no row at all)
    assert missing.message.startswith("KPI months missing while employed: 2 employee-KPI series lack 3 months")
    assert missing.rows == ["E01 sales: 2024-06", "E03 sales: 2024-03, 2024-04"]
    silent = next(w for w in ds.warnings if "no KPI row" in w.message)
    assert silent.rows == ["E07"] and "Agent 1" in silent.message
    unbalanced = next(w for w in ds.warnings if w.message.startswith("unbalanced panel"))
    assert "3 of 7 employees" in unbalanced.message and "1 have gaps" in unbalanced.message


def test_extra_columns_are_kept_and_reported(tiny_dataset_dir: Path) -> None:
    path = tiny_dataset_dir / "employees.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([lines[0] + ",education"] + [l + f",L{i % 3}" for i, l in enumerate(lines[1:])]) + "\n", encoding="utf-8")
    ds = load_dataset(tiny_dataset_dir)
    assert ds.employees["education"].tolist()[:3] == ["L0", "L1", "L2"]
    assert any(w.table == "employees" and w.message == "extra columns kept as covariates: education" for w in ds.warnings)
    assert ds.panel("sales", "P01").loc[0, "education"] == "L0", "extra employee columns reach the panel"


def test_other_failing_columns_are_named(tiny_dataset_dir: Path) -> None:
    _edit("enrollments.csv", "dropped", "DROP")(tiny_dataset_dir)
    _edit("enrollments.csv", ",82,", ",182,")(tiny_dataset_dir)
    with pytest.raises(DataValidationError) as info:
        load_dataset(tiny_dataset_dir)
    assert info.value.column == "status", "first failing column in contract order"
    assert "columns 'exam_score' fail their checks too" in str(info.value)


def test_null_spellings_only_outside_text_columns(tiny_dataset_dir: Path) -> None:
    _edit("kpi_definitions.csv", "0.2,100000", "0.2,NA")(tiny_dataset_dir)
    _edit("employees.csv", "E06,Service,Agent,South", "E06,Service,Agent,NA")(tiny_dataset_dir)
    ds = load_dataset(tiny_dataset_dir)
    assert np.isnan(ds.kpi_definitions["target"].iloc[0]) and ds.kpi_definitions["target"].iloc[1] == 90.0
    assert ds.employees.set_index("employee_id").loc["E06", "region"] == "NA", "a region may be called NA"


def test_year_month_spelling_of_month_is_accepted(tiny_dataset_dir: Path, tmp_path: Path) -> None:
    other = shutil.copytree(tiny_dataset_dir, tmp_path / "ym")
    path = other / "kpi_monthly.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("-01,", ","), encoding="utf-8")
    assert ",2024-03,sales," in path.read_text(encoding="utf-8")
    pd.testing.assert_frame_equal(load_dataset(other).panel("sales", "P01"), load_dataset(tiny_dataset_dir).panel("sales", "P01"))


def test_parquet_native_datetimes(tiny_dataset_dir: Path) -> None:
    emp = pd.read_csv(tiny_dataset_dir / "employees.csv", dtype=str, keep_default_na=False)
    emp["hire_date"] = pd.to_datetime(emp["hire_date"]).dt.tz_localize("Asia/Shanghai")
    emp["exit_date"] = pd.to_datetime(emp["exit_date"].replace("", None))
    emp.to_parquet(tiny_dataset_dir / "employees.parquet")
    (tiny_dataset_dir / "employees.csv").unlink()
    ds = load_dataset(tiny_dataset_dir)
    assert ds.employees["hire_date"].dtype == "datetime64[ns]"
    assert ds.employees["hire_date"].iloc[0] == pd.Timestamp("2022-01-10")
    emp["hire_date"] = emp["hire_date"] + pd.Timedelta(hours=9)
    emp.to_parquet(tiny_dataset_dir / "employees.parquet")
    with pytest.raises(DataValidationError, match="without a time of day") as info:
        load_dataset(tiny_dataset_dir)
    assert info.value.column == "hire_date" and "E01" in str(info.value)


def test_broken_parquet_is_a_validation_error(tiny_dataset_dir: Path) -> None:
    (tiny_dataset_dir / "costs.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DataValidationError, match="readable Parquet") as info:
        load_dataset(tiny_dataset_dir)
    assert info.value.table == "costs"


def test_panel_without_program_and_unknown_names(tiny_dataset_dir: Path) -> None:
    ds = load_dataset(tiny_dataset_dir)
    panel = ds.panel("csat")
    assert set(panel["employee_id"]) == {"E06", "E07"} and (panel["cohort"] == 0).all()
    assert panel["event_time"].isna().all() and panel["cohort_month"].isna().all()
    assert panel.loc[panel["employee_id"] == "E07", "value"].tolist() == [85.0, 85.5, 86.0, 86.5, 87.0, 87.5]
    with pytest.raises(DataValidationError, match="unknown KPI 'nps'"):
        ds.panel("nps")
    with pytest.raises(DataValidationError, match="unknown program 'P09'"):
        ds.panel("sales", "P09")
    with pytest.raises(DataValidationError, match="unknown program 'P09'"):
        ds.cohorts("P09")
    with pytest.raises(AttributeError):
        ds.not_a_table  # noqa: B018
    assert ds.costs is None
    assert copy.deepcopy(ds).employees.equals(ds.employees)


def _write_large_dataset(folder: Path, n_employees: int = 2000, n_months: int = 24, seed: int = 0) -> Path:
    """The tiny dataset with employees, KPI rows (2 KPIs) and enrollments scaled up."""
    write_tiny_dataset(folder)
    rng = np.random.default_rng(seed)
    ids = np.array([f"E{i:05d}" for i in range(n_employees)])
    pd.DataFrame(
        {"employee_id": ids, "department": rng.choice(["Sales", "Service"], n_employees), "role": "Rep",
         "region": rng.choice(["North", "South"], n_employees), "hire_date": "2020-01-15", "exit_date": "", "grade": "G1", "manager_id": ""}
    ).to_csv(folder / "employees.csv", index=False)
    months = pd.date_range("2024-01-01", periods=n_months, freq="MS").strftime("%Y-%m-%d")
    kpi = pd.DataFrame(
        {"employee_id": np.repeat(ids, n_months * 2), "month": np.tile(np.repeat(months, 2), n_employees), "kpi": np.tile(["sales", "csat"], n_employees * n_months)}
    )
    kpi["value"] = np.round(rng.normal(100, 10, len(kpi)), 2)
    kpi.to_csv(folder / "kpi_monthly.csv", index=False)
    trained = rng.choice(ids, 600, replace=False)
    start = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 600, 600), unit="D")
    pd.DataFrame(
        {"employee_id": trained, "program_id": "P01", "status": "completed", "start_date": start.strftime("%Y-%m-%d"),
         "end_date": (start + pd.Timedelta(days=10)).strftime("%Y-%m-%d"), "exam_score": rng.integers(40, 100, 600), "exam_passed": "true"}
    ).to_csv(folder / "enrollments.csv", index=False)
    return folder


def test_large_dataset_panel_is_complete_and_correct(tmp_path: Path) -> None:
    # (speed of loading is measured in benchmarks/, not asserted here)
    folder = _write_large_dataset(tmp_path / "large")
    ds = load_dataset(folder)
    panel = ds.panel("sales", "P01")
    assert len(ds.kpi_monthly) == 96_000 and len(panel) == 48_000
    assert (panel["cohort"] > 0).groupby(panel["employee_id"]).first().sum() == 600
    # every sales value lands on its employee and month, unchanged
    raw = pd.read_csv(folder / "kpi_monthly.csv", parse_dates=["month"])
    raw = raw[raw["kpi"] == "sales"].sort_values(["employee_id", "month"], ignore_index=True)
    got = panel.assign(employee_id=panel["employee_id"].astype(str)).sort_values(["employee_id", "month"])
    np.testing.assert_array_equal(got["employee_id"].to_numpy(), raw["employee_id"].astype(str).to_numpy())
    np.testing.assert_array_equal(got["month"].to_numpy(), raw["month"].to_numpy())
    np.testing.assert_array_equal(got["value"].to_numpy(), raw["value"].to_numpy())
    # the cohort is the month of the training start (period 1 = 2024-01), event time = period - cohort
    enr = pd.read_csv(folder / "enrollments.csv", parse_dates=["start_date"]).set_index("employee_id")
    expected = (enr["start_date"].dt.year - 2024) * 12 + enr["start_date"].dt.month
    cohort = panel.groupby("employee_id")["cohort"].first()
    trained = cohort[cohort > 0]
    assert set(trained.index) == set(expected.index)
    np.testing.assert_array_equal(trained.to_numpy(int), expected.loc[trained.index.astype(str)].to_numpy(int))
    tr = panel[panel["cohort"] > 0]
    np.testing.assert_array_equal(tr["event_time"].to_numpy(), (tr["period"] - tr["cohort"]).to_numpy())


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1))
def test_row_and_column_order_do_not_change_tables_or_panel(tmp_path_factory: pytest.TempPathFactory, seed: int) -> None:
    base = write_tiny_dataset(tmp_path_factory.mktemp("base"))
    shuffled = tmp_path_factory.mktemp("shuffled")
    rng = np.random.default_rng(seed)
    for path in base.iterdir():
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        df.iloc[rng.permutation(len(df)), rng.permutation(df.shape[1])].to_csv(shuffled / path.name, index=False)
    a, b = load_dataset(base), load_dataset(shuffled)
    pd.testing.assert_frame_equal(a.panel("sales", "P01"), b.panel("sales", "P01"))
    pd.testing.assert_frame_equal(a.panel("csat", "P02"), b.panel("csat", "P02"))
    pd.testing.assert_frame_equal(
        a.cohorts("P01").sort_values("employee_id", ignore_index=True), b.cohorts("P01").sort_values("employee_id", ignore_index=True)
    )
    for name, table in a.tables.items():
        key = list(TABLES[name].key)
        pd.testing.assert_frame_equal(table.sort_values(key, ignore_index=True), b.tables[name].sort_values(key, ignore_index=True))
    assert [w.message for w in a.warnings] == [w.message for w in b.warnings]


def test_validate_command(tiny_dataset_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["--data", str(tiny_dataset_dir)]) == 0
    out = capsys.readouterr().out
    assert "valid" in out and "kpi_monthly" in out and "45 rows" in out and "warning [costs]" in out
    _edit("kpi_monthly.csv", ",sales,100010", ",sales,lots")(tiny_dataset_dir)
    assert cli(["--data", str(tiny_dataset_dir)]) == 1
    err = capsys.readouterr().err
    assert "table kpi_monthly" in err and "'lots'" in err and "Traceback" not in err


def test_validate_through_module_entry_point(tiny_dataset_dir: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "analysis", "validate", "--data", str(tiny_dataset_dir / "nowhere")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "does not exist" in done.stderr and "Traceback" not in done.stderr


def test_parquet_tables_load_like_csv(tiny_dataset_dir: Path, tmp_path: Path) -> None:
    pq = tmp_path / "pq"
    shutil.copytree(tiny_dataset_dir, pq)
    kpi = pd.read_csv(pq / "kpi_monthly.csv", parse_dates=["month"])
    kpi.to_parquet(pq / "kpi_monthly.parquet")
    (pq / "kpi_monthly.csv").unlink()
    a, b = load_dataset(tiny_dataset_dir), load_dataset(pq)
    pd.testing.assert_frame_equal(a.panel("sales", "P01"), b.panel("sales", "P01"))


def test_shipped_sample_loads() -> None:
    ds = load_dataset(SAMPLE)
    assert set(ds.tables) == set(TABLES)  # every contract table, the optional followups included
    assert len(ds.employees) == 2000


def test_thousands_separators_read_as_numbers(tiny_dataset_dir: Path) -> None:
    _edit("kpi_monthly.csv", ",sales,100010", ',sales,"100,010"')(tiny_dataset_dir)
    _edit("kpi_monthly.csv", ",sales,101010", ',sales,"1,010,10"')(tiny_dataset_dir)
    with pytest.raises(DataValidationError) as info:
        load_dataset(tiny_dataset_dir)
    # "1,010,10" is not a thousands grouping: refused (and named), never read as 101010
    assert "'1,010,10'" in str(info.value) and "'100,010'" not in str(info.value)
    _edit("kpi_monthly.csv", '"1,010,10"', '"101,010.0"')(tiny_dataset_dir)
    values = load_dataset(tiny_dataset_dir).kpi_monthly.set_index(["employee_id", "month"])["value"]
    assert values[("E01", pd.Timestamp("2024-01-01"))] == 100010.0
    assert values[("E01", pd.Timestamp("2024-02-01"))] == 101010.0


def test_mixed_formats_list_every_minority_row(tiny_dataset_dir: Path) -> None:
    _edit("kpi_monthly.csv", "E01,2024-02-01", "E01,02/01/2024")(tiny_dataset_dir)
    _edit("kpi_monthly.csv", "E02,2024-02-01", "E02,2024.02.01")(tiny_dataset_dir)
    with pytest.raises(DataValidationError) as info:
        load_dataset(tiny_dataset_dir)
    assert info.value.rows["_line"].tolist() == [3, 9]
    assert "'02/01/2024'" in str(info.value) and "'2024.02.01'" in str(info.value)


def test_tenure_is_zero_in_a_mid_month_hire_month(tiny_dataset_dir: Path) -> None:
    _edit("employees.csv", "E04,Sales,Rep,South,2024-02-01", "E04,Sales,Rep,South,2024-02-20")(tiny_dataset_dir)
    e04 = load_dataset(tiny_dataset_dir).panel("sales", "P01").query("employee_id == 'E04'")
    # hired 20 Feb: 0 at 1 Feb (not -19 days), 10 days = 10 / 30.4375 months at 1 Mar
    assert e04["tenure_months"].tolist()[:2] == [0.0, pytest.approx(10 / 30.4375)]


def test_enrollment_outside_employment_warns(tiny_dataset_dir: Path) -> None:
    _edit("enrollments.csv", "E06,P02,completed,2024-02-01,2024-02-10", "E05,P02,completed,2024-05-04,2024-05-10")(tiny_dataset_dir)
    ds = load_dataset(tiny_dataset_dir)
    warning = next(w for w in ds.warnings if "before the employee's hire_date or after the exit_date" in w.message)
    assert warning.table == "enrollments" and warning.rows == ["E05 P02 2024-05-04"], "E05 left on 2024-04-20"
    assert ds.cohorts("P02").loc[0, "cohort"] == 5


def test_cohort_months_are_nanosecond_timestamps(tiny_dataset_dir: Path) -> None:
    ds = load_dataset(tiny_dataset_dir)
    assert ds.cohorts("P01")["cohort_month"].dtype == "datetime64[ns]"
    assert ds.panel("sales", "P01")["cohort_month"].dtype == "datetime64[ns]"
    assert ds.panel("sales")["cohort_month"].dtype == "datetime64[ns]"


def test_parquet_rows_are_numbered_not_given_file_lines(tiny_dataset_dir: Path) -> None:
    kpi = pd.read_csv(tiny_dataset_dir / "kpi_monthly.csv", dtype=str)
    kpi.loc[3, "value"] = "lots"
    kpi.to_parquet(tiny_dataset_dir / "kpi_monthly.parquet")
    (tiny_dataset_dir / "kpi_monthly.csv").unlink()
    with pytest.raises(DataValidationError) as info:
        load_dataset(tiny_dataset_dir)
    assert "  row 4: employee_id='E01', month=2024-04-01" in str(info.value) and "file line" not in str(info.value)


def test_validation_lives_in_its_own_module() -> None:
    import analysis.data as data
    import analysis.validation as validation

    assert data.DataValidationError is validation.DataValidationError and issubclass(data.DataValidationError, ValueError)
    assert data.DataWarning is validation.DataWarning
    schema = data.schema_for(TABLES["enrollments"])
    assert schema.unique == ["employee_id", "program_id", "start_date"]
    assert set(schema.columns) == {c.name for c in TABLES["enrollments"].columns}


def test_file_lines_count_blank_lines_and_quoted_line_breaks(tiny_dataset_dir: Path) -> None:
    # a quoted name over two lines in programs.csv; a blank line after the first KPI row
    _edit("programs.csv", "Consultative selling", '"Consultative\nselling"')(tiny_dataset_dir)
    _edit("kpi_monthly.csv", "E01,2024-01-01,sales,100010\n", "E01,2024-01-01,sales,100010\n\n")(tiny_dataset_dir)
    _edit("kpi_monthly.csv", "E01,2024-03-01,sales,102010", "E01,2024-03-01,sales,lots")(tiny_dataset_dir)
    with pytest.raises(DataValidationError) as info:
        load_dataset(tiny_dataset_dir)
    assert "file line 5: employee_id='E01', month=2024-03-01" in str(info.value), str(info.value)
    _edit("kpi_monthly.csv", ",sales,lots", ",sales,102010")(tiny_dataset_dir)
    _edit("programs.csv", ",16", ",-16")(tiny_dataset_dir)
    with pytest.raises(DataValidationError) as info:
        load_dataset(tiny_dataset_dir)
    assert "file line 2: program_id='P01'" in str(info.value)
    _edit("programs.csv", ",8", ",-8")(tiny_dataset_dir)
    _edit("programs.csv", ",-16", ",16")(tiny_dataset_dir)
    with pytest.raises(DataValidationError) as info:
        load_dataset(tiny_dataset_dir)
    assert "file line 4: program_id='P02'" in str(info.value), "the row after the two-line name starts on line 4"


def test_semicolon_separated_file_gets_a_hint(tiny_dataset_dir: Path) -> None:
    path = tiny_dataset_dir / "programs.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8")
    with pytest.raises(DataValidationError, match="looks separated by ';'") as info:
        load_dataset(tiny_dataset_dir)
    assert info.value.table == "programs" and info.value.column == "program_id"


def test_numeric_extra_columns_become_numbers_codes_stay_text(tiny_dataset_dir: Path) -> None:
    rows = ["region,month,market_index,unemployment,season"] + [
        f"{r},2024-0{m}-01,{100 + m},{'NA' if m == 3 else 5 + m / 10},Q{(m - 1) // 3 + 1}" for r in ("North", "South") for m in range(1, 7)
    ]
    (tiny_dataset_dir / "context_monthly.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    _header("employees.csv", "manager_id", "manager_id,cost_center")(tiny_dataset_dir)
    path = tiny_dataset_dir / "employees.csv"
    head, *body = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([head] + [line + f",{i:03d}" for i, line in enumerate(body)]) + "\n", encoding="utf-8")
    ds = load_dataset(tiny_dataset_dir)
    assert ds.context_monthly["unemployment"].dtype == "float64" and ds.context_monthly["season"].dtype == "string"
    assert ds.employees["cost_center"].tolist()[:3] == ["000", "001", "002"], "codes with leading zeros stay text"
    panel = ds.panel("sales", "P01").set_index(["employee_id", "period"])
    assert panel.loc[("E01", 2), "unemployment"] == 5.2 and np.isnan(panel.loc[("E01", 3), "unemployment"])
    assert "season" not in panel.columns, "only numeric context columns join the panel"
