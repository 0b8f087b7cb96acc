"""Data-quality views: what an analyst checks before trusting any estimate.

Each function takes a :class:`analysis.data.Dataset` and returns a tidy table that
notebook ``00_data_quality`` shows and exports.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from analysis.data import Dataset


def table_overview(dataset: Dataset) -> pd.DataFrame:
    """Rows, columns and key of every table present.

    Returns
    -------
    DataFrame
        table, rows, columns, key.
    """
    from analysis.contract import TABLES

    rows = [
        {"table": name, "rows": len(df), "columns": df.shape[1], "key": " + ".join(TABLES[name].key)}
        for name, df in dataset.tables.items()
    ]
    return pd.DataFrame(rows)


def warnings_table(dataset: Dataset) -> pd.DataFrame:
    """The validation warnings collected on load, one row each (table, column, message)."""
    return pd.DataFrame(
        [{"table": w.table, "column": w.column or "", "message": w.message} for w in dataset.warnings],
        columns=["table", "column", "message"],
    )


def missingness(dataset: Dataset) -> pd.DataFrame:
    """Share of missing values per table and column (columns with any missing value only).

    Returns
    -------
    DataFrame
        table, column, missing (count), share (0–1), sorted by share descending.
    """
    rows = []
    for name, df in dataset.tables.items():
        counts = df.isna().sum()
        for col, n in counts[counts > 0].items():
            rows.append({"table": name, "column": col, "missing": int(n), "share": n / len(df)})
    out = pd.DataFrame(rows, columns=["table", "column", "missing", "share"])
    return out.sort_values(["share", "table", "column"], ascending=[False, True, True], ignore_index=True)


def panel_balance(dataset: Dataset) -> pd.DataFrame:
    """Employees observed per KPI and month, with the hires and exits behind the change.

    Returns
    -------
    DataFrame
        kpi, month, employees (with a KPI value), joined (first KPI month), left (last KPI
        month before the panel's end).
    """
    kpi = dataset.tables["kpi_monthly"]
    last_month = dataset.months[-1]
    spans = kpi.groupby(["kpi", "employee_id"])["month"].agg(["min", "max"])
    first = dataset.months[0]
    joined = spans[spans["min"] > first].groupby(["kpi", "min"]).size().rename("joined")
    left = spans[spans["max"] < last_month].groupby(["kpi", "max"]).size().rename("left")
    counts = kpi.groupby(["kpi", "month"])["employee_id"].nunique().rename("employees")
    out = counts.to_frame()
    out = out.join(joined.rename_axis(["kpi", "month"])).join(left.rename_axis(["kpi", "month"]))
    out[["joined", "left"]] = out[["joined", "left"]].fillna(0).astype("int64")
    return out.reset_index()


def cohort_sizes(dataset: Dataset) -> pd.DataFrame:
    """Trainees per program and first-training month (cohort).

    Returns
    -------
    DataFrame
        program_id, cohort_month, n (trainees whose first training in the program started
        that month).
    """
    frames = []
    for program_id in dataset.tables["programs"]["program_id"]:
        coh = dataset.cohorts(str(program_id))
        if len(coh):
            frames.append(coh.groupby("cohort_month").size().rename("n").reset_index().assign(program_id=str(program_id)))
    if not frames:
        return pd.DataFrame(columns=["program_id", "cohort_month", "n"])
    return pd.concat(frames, ignore_index=True)[["program_id", "cohort_month", "n"]]


def kpi_by_department(dataset: Dataset) -> pd.DataFrame:
    """Monthly KPI values joined to department, for distribution plots.

    Returns
    -------
    DataFrame
        kpi, department, value (one row per employee-month; no identifiers).
    """
    kpi = dataset.tables["kpi_monthly"]
    dept = dataset.tables["employees"].set_index("employee_id")["department"]
    return pd.DataFrame({"kpi": kpi["kpi"], "department": kpi["employee_id"].map(dept), "value": kpi["value"]})


def kpi_summary(dataset: Dataset) -> pd.DataFrame:
    """Distribution of each KPI by department: employees, mean, quartiles.

    Returns
    -------
    DataFrame
        kpi, department, n (employees), mean, p25, median, p75.
    """
    kpi = dataset.tables["kpi_monthly"]
    dept = dataset.tables["employees"].set_index("employee_id")["department"]
    frame = kpi.assign(department=kpi["employee_id"].map(dept))
    grouped = frame.groupby(["kpi", "department"])
    out = grouped["value"].describe()[["mean", "25%", "50%", "75%"]].rename(columns={"25%": "p25", "50%": "median", "75%": "p75"})
    out.insert(0, "n", grouped["employee_id"].nunique())
    return out.reset_index()


def headline(dataset: Dataset) -> str:
    """One sentence on the state of the data, for the run's executive summary.

    Example: ``"12 tables passed the data contract (2,000 employees, 35,199 KPI rows over
    24 months); 2 warnings to read."``
    """
    n_tables = len(dataset.tables)
    n_emp = len(dataset.tables["employees"])
    n_kpi = len(dataset.tables["kpi_monthly"])
    n_warn = len(dataset.warnings)
    warn = "no warnings" if n_warn == 0 else f"{n_warn} warning{'s' if n_warn != 1 else ''} to read"
    return (
        f"{n_tables} tables passed the data contract ({n_emp:,} employees, {n_kpi:,} KPI rows over "
        f"{len(dataset.months)} months); {warn}."
    )


def cohort_matrix(cohorts: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """Trainees per first-training month (rows, ``YYYY-MM``) and program (columns), for display.

    Parameters
    ----------
    cohorts : DataFrame
        :func:`cohort_sizes` after small-group suppression (suppressed rows have ``n`` missing).
    min_group_size : int
        The suppression threshold, to label suppressed cells.

    Returns
    -------
    DataFrame
        Text cells: the count (thousands separated), ``"0"`` when nobody started, ``"<k"`` when suppressed.
    """
    if cohorts.empty:
        return pd.DataFrame()
    month = pd.to_datetime(cohorts["cohort_month"]).dt.strftime("%Y-%m")
    cells = cohorts["n"].map(lambda n: f"<{min_group_size}" if pd.isna(n) else f"{int(n):,}")
    wide = pd.DataFrame({"first training month": month, "program": cohorts["program_id"].astype(str), "cell": cells})
    out = wide.pivot(index="first training month", columns="program", values="cell").fillna("0").sort_index()
    out.columns.name = None
    return out


def kpi_spread_finding(summary: pd.DataFrame, labels: Mapping[str, str] | None = None) -> str:
    """One finding-style sentence on the KPI distributions, for the figure's title.

    Parameters
    ----------
    summary : DataFrame
        :func:`kpi_summary` (suppressed rows, with missing medians, are ignored).
    labels : mapping, optional
        KPI display names (:func:`analysis.report.kpi_labels`); default the ids made readable.

    Returns
    -------
    str
        With several departments reporting the same KPI: the largest gap in median between two
        of them. Otherwise: the range of the interquartile spread relative to the median, which
        says how different people's months are within a department.
    """
    shown = summary.dropna(subset=["median"])
    shown = shown[shown["median"] != 0]
    if shown.empty:
        return "No KPI distribution can be shown (every group is below the minimum size)"
    from analysis.report import kpi_words

    shown = shown.assign(kpi=shown["kpi"].map(lambda k: kpi_words(str(k), labels)))
    gaps = []
    for kpi, part in shown.groupby("kpi"):
        if len(part) >= 2 and part["median"].min() > 0:
            hi, lo = part.loc[part["median"].idxmax()], part.loc[part["median"].idxmin()]
            gaps.append((hi["median"] / lo["median"] - 1, str(kpi), str(hi["department"]), str(lo["department"])))
    if gaps:
        gap, kpi, hi, lo = max(gaps)
        return f"Median monthly {kpi} is {gap:.0%} higher in {hi} than in {lo}"
    spread = ((shown["p75"] - shown["p25"]) / shown["median"].abs()).sort_values()
    lo_kpi, hi_kpi = shown.loc[spread.index[0], "kpi"], shown.loc[spread.index[-1], "kpi"]
    if len(spread) == 1:
        return f"The middle half of monthly {lo_kpi} values spans {spread.iloc[0]:.0%} of the median"
    lead = "Each KPI is reported by one department; t" if shown.groupby("kpi").size().max() == 1 else "T"
    return (
        f"{lead}he middle half of monthly values spans "
        f"{spread.iloc[0]:.0%} ({lo_kpi}) to {spread.iloc[-1]:.0%} ({hi_kpi}) of the median"
    )
