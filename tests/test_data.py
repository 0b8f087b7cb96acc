"""The data layer: every bad input gets a clear error; valid input gives known typed frames and panels."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


# (case id, mutation, table, column, text the message must contain)
BAD_INPUTS = [
    ("missing_table", lambda f: (f / "employees.csv").unlink(), "employees", None, "missing"),
    ("missing_column", _edit("employees.csv", "hire_date", "hired"), "employees", "hire_date", "'hire_date'"),
    ("duplicate_key", _append("employees.csv", "E01,Sales,Rep,North,2022-01-10,,G1,E08\n"), "employees", None, "E01"),
    ("enrollment_unknown_employee", _append("enrollments.csv", "E99,P01,completed,2024-03-05,2024-03-20,82,true\n"), "enrollments", "employee_id", "E99"),
    ("kpi_unknown_employee", _append("kpi_monthly.csv", "E77,2024-02-01,sales,5\n"), "kpi_monthly", "employee_id", "E77"),
    ("start_after_end", _edit("enrollments.csv", "2024-03-05,2024-03-20", "2024-03-25,2024-03-20"), "enrollments", "end_date", "2024-03-25"),
    ("kpi_month_outside_employment", _append("kpi_monthly.csv", "E05,2024-06-01,sales,5\n"), "kpi_monthly", "month", "E05"),
    ("non_numeric_kpi", _edit("kpi_monthly.csv", ",sales,100010", ",sales,lots"), "kpi_monthly", "value", "'lots'"),
    ("negative_cost", _write("costs.csv", "program_id,period,category,amount\nP01,2024,delivery,-5\n"), "costs", "amount", "-5"),
    ("non_utf8_csv", _gbk, "employees", None, "UTF-8"),
    ("empty_table", _write("programs.csv", "program_id,name,category,target_competency,kpi,duration_hours\n"), "programs", None, "empty"),
    ("empty_file", _write("programs.csv", ""), "programs", None, "empty"),
    ("mixed_month_formats", _edit("kpi_monthly.csv", "E01,2024-02-01", "E01,02/01/2024"), "kpi_monthly", "month", "02/01/2024"),
    ("month_not_first_day", _edit("kpi_monthly.csv", "E01,2024-02-01", "E01,2024-02-03"), "kpi_monthly", "month", "2024-02-03"),
    ("unknown_status", _edit("enrollments.csv", "dropped", "DROP"), "enrollments", "status", "'DROP'"),
    ("exam_out_of_range", _edit("enrollments.csv", ",82,", ",182,"), "enrollments", "exam_score", "182"),
    ("unparseable_date", _edit("employees.csv", "2022-03-01", "2022-13-45"), "employees", "hire_date", "2022-13-45"),
    ("unknown_program_kpi", _edit("programs.csv", "service,empathy,csat", "service,empathy,nps"), "programs", "kpi", "'nps'"),
]


def _fingerprints(folder: Path) -> dict[str, tuple[str, int]]:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(("case", "mutate", "table", "column", "needle"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_names_table_column_and_rows(tiny_dataset_dir: Path, case, mutate, table, column, needle) -> None:
    mutate(tiny_dataset_dir)
    before = _fingerprints(tiny_dataset_dir)
    with pytest.raises(DataValidationError) as info:
        load_dataset(tiny_dataset_dir)
    err = info.value
    message = str(err)
    assert isinstance(err, ValueError)
    assert err.table == table
    assert f"table {table}" in message
    if column is not None:
        assert err.column == column
        assert column in message
    assert needle in message
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
    assert any("unbalanced panel: 2 employees" in m for m in messages)
    assert any("3 program training months have fewer than 5 trainees" in m for m in messages)
    assert sum("is absent" in m for m in messages) == 7


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_change_panel(tmp_path_factory: pytest.TempPathFactory, seed: int) -> None:
    base = write_tiny_dataset(tmp_path_factory.mktemp("base"))
    shuffled = tmp_path_factory.mktemp("shuffled")
    rng = np.random.default_rng(seed)
    for path in base.iterdir():
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        df.iloc[rng.permutation(len(df))].to_csv(shuffled / path.name, index=False)
    a, b = load_dataset(base), load_dataset(shuffled)
    pd.testing.assert_frame_equal(a.panel("sales", "P01"), b.panel("sales", "P01"))
    pd.testing.assert_frame_equal(
        a.cohorts("P01").sort_values("employee_id", ignore_index=True), b.cohorts("P01").sort_values("employee_id", ignore_index=True)
    )


def test_validate_command(tiny_dataset_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["--data", str(tiny_dataset_dir)]) == 0
    assert "valid" in capsys.readouterr().out
    _edit("kpi_monthly.csv", ",sales,100010", ",sales,lots")(tiny_dataset_dir)
    assert cli(["--data", str(tiny_dataset_dir)]) == 1
    err = capsys.readouterr().err
    assert "table kpi_monthly" in err and "'lots'" in err and "Traceback" not in err


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
    assert len(ds.tables) == 12
    assert len(ds.employees) == 2000
