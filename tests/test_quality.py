"""Data-quality views, checked against the tiny dataset whose every number is known."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import quality
from analysis.data import load_dataset


def test_quality_views_on_tiny_dataset(tiny_dataset_dir: Path) -> None:
    ds = load_dataset(tiny_dataset_dir)
    overview = quality.table_overview(ds).set_index("table")
    assert overview.loc["kpi_monthly", "rows"] == 45 and overview.loc["employees", "rows"] == 8
    assert overview.loc["enrollments", "key"] == "employee_id + program_id + start_date"

    miss = quality.missingness(ds).set_index(["table", "column"])
    assert miss.loc[("employees", "exit_date"), "missing"] == 7
    assert miss.loc[("enrollments", "end_date"), "share"] == 0.25

    balance = quality.panel_balance(ds)
    sales = balance[balance["kpi"] == "sales"].set_index("month")
    assert sales["employees"].tolist() == [5, 6, 6, 6, 5, 5]
    assert sales.loc[pd.Timestamp("2024-02-01"), "joined"] == 1
    assert sales.loc[pd.Timestamp("2024-04-01"), "left"] == 1
    assert sales["left"].sum() == 1

    sizes = quality.cohort_sizes(ds)
    assert sizes.to_dict("records") == [
        {"program_id": "P01", "cohort_month": pd.Timestamp("2024-03-01"), "n": 2},
        {"program_id": "P01", "cohort_month": pd.Timestamp("2024-04-01"), "n": 1},
        {"program_id": "P02", "cohort_month": pd.Timestamp("2024-02-01"), "n": 1},
    ]
    summary = quality.kpi_summary(ds).set_index(["kpi", "department"])
    assert summary.loc[("csat", "Service"), "n"] == 2
    assert summary.loc[("csat", "Service"), "mean"] == 86.25
    assert quality.headline(ds) == "5 tables passed the data contract (8 employees, 45 KPI rows over 6 months); 10 warnings to read."  # 8 optional tables absent (followups added), unbalanced panel, small cohorts
    assert len(quality.warnings_table(ds)) == len(ds.warnings)


def test_cohort_matrix_marks_suppressed_and_empty_cells(tiny_dataset_dir: Path) -> None:
    from analysis.privacy import suppress_small_groups

    ds = load_dataset(tiny_dataset_dir)
    # tiny dataset: P01 starts 2 trainees in 2024-03 and 1 in 2024-04, P02 one in 2024-02
    cohorts = suppress_small_groups(quality.cohort_sizes(ds), "n", 2)
    matrix = quality.cohort_matrix(cohorts, 2)
    assert matrix.index.tolist() == ["2024-02", "2024-03", "2024-04"]
    assert matrix.to_dict("list") == {"P01": ["0", "2", "<2"], "P02": ["<2", "0", "0"]}
    assert quality.cohort_matrix(cohorts.iloc[0:0], 2).empty


def test_kpi_spread_finding_states_the_gap_or_the_spread() -> None:
    two_departments = pd.DataFrame({
        "kpi": ["sales", "sales", "csat"], "department": ["North", "South", "Service"],
        "n": [10, 12, 8], "mean": [0.0] * 3, "p25": [90.0, 70.0, 80.0], "median": [100.0, 80.0, 85.0], "p75": [110.0, 90.0, 90.0],
    })  # fmt: skip
    assert quality.kpi_spread_finding(two_departments) == "Median monthly sales is 25% higher in North than in South"
    one_each = two_departments.drop(index=1)
    # spreads: sales (110 - 90) / 100 = 20%, csat (90 - 80) / 85 = 12%
    assert quality.kpi_spread_finding(one_each) == (
        "Each KPI is reported by one department; the middle half of monthly values spans 12% (csat) to 20% (sales) of the median"
    )
    suppressed = one_each.assign(median=float("nan"))
    assert quality.kpi_spread_finding(suppressed).startswith("No KPI distribution can be shown")
