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
    assert quality.headline(ds) == "5 tables passed the data contract (8 employees, 45 KPI rows over 6 months); 9 warnings to read."
    assert len(quality.warnings_table(ds)) == len(ds.warnings)
