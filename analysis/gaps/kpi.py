"""KPI gaps: actual against ``kpi_definitions.target``, with the KPI's direction respected.

A person is *under target* in a month when their value falls short of the target: below it
for a KPI where higher is better, above it where lower is better (error rates). The
shortfall is signed so that a positive number is always "worse than target", in the KPI's
unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.data import DataValidationError, Dataset

__all__ = ["DEFAULT_WINDOW_MONTHS", "KpiGapResults", "kpi_gaps", "person_kpi_status"]

#: Months (ending at the last KPI month) over which a person's KPI is averaged to call them under target.
DEFAULT_WINDOW_MONTHS = 6


def _definitions(dataset: Dataset) -> pd.DataFrame:
    kd = dataset.tables["kpi_definitions"].drop(columns="_line", errors="ignore")
    if "target" not in kd.columns:
        kd = kd.assign(target=np.nan)
    return kd


def _direction(kd: pd.DataFrame) -> pd.Series:
    return pd.Series(np.where(kd["higher_is_better"].astype(bool), 1.0, -1.0), index=kd["kpi"])


def person_kpi_status(dataset: Dataset, kpi: str, *, window_months: int = DEFAULT_WINDOW_MONTHS,
                      end_month: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """Each person's mean KPI over the last ``window_months`` months and whether it is under target.

    Parameters
    ----------
    dataset : Dataset
    kpi : str
        A KPI with a ``target`` in ``kpi_definitions``.
    window_months : int
        Months averaged (a person needs at least one KPI row in them).
    end_month : date, optional
        Last month of the window; default the last KPI month of the data.

    Returns
    -------
    DataFrame
        employee_id, months (rows in the window), mean_value, target, shortfall (positive =
        worse than target, KPI units), under_target (bool). Person-level: never published.

    Raises
    ------
    DataValidationError
        Unknown KPI, or a KPI without a target.
    """
    kd = _definitions(dataset).set_index("kpi")
    if kpi not in kd.index:
        raise DataValidationError(f"table kpi_definitions, column 'kpi': unknown KPI {kpi!r}; known: {', '.join(kd.index)}",
                                  table="kpi_definitions", column="kpi")
    target = kd.at[kpi, "target"]
    if pd.isna(target):
        raise DataValidationError(f"table kpi_definitions, column 'target': KPI {kpi!r} has no target, so nobody can be under it",
                                  table="kpi_definitions", column="target")
    sign = 1.0 if bool(kd.at[kpi, "higher_is_better"]) else -1.0
    rows = dataset.tables["kpi_monthly"]
    rows = rows[rows["kpi"] == kpi]
    end = pd.Timestamp(end_month) if end_month is not None else rows["month"].max()
    start = end - pd.DateOffset(months=window_months - 1)
    win = rows[(rows["month"] >= start) & (rows["month"] <= end)]
    g = win.groupby("employee_id", sort=True)["value"]
    out = pd.DataFrame({"months": g.size(), "mean_value": g.mean()}).reset_index()
    out["target"] = float(target)
    out["shortfall"] = sign * (out["target"] - out["mean_value"])
    out["under_target"] = out["shortfall"] > 0
    return out


@dataclass
class KpiGapResults:
    """KPI gaps against target (from :func:`kpi_gaps`).

    Attributes
    ----------
    by_month : DataFrame
        kpi, unit, month, department, role, n, mean_value, target, shortfall (of the mean,
        positive = worse), share_under_target (of people that month).
    by_person : DataFrame
        kpi, employee_id, department, role, region, months, mean_value, target, shortfall,
        under_target over the last ``window_months`` (person-level, never published).
    trend : DataFrame
        kpi, months, first_share, last_share, slope_per_year (change of the monthly share under
        target per year, least squares over months), std_error, ci_low, ci_high.
    no_target : list of str
        KPIs without a target (not analysed).
    window_months : int
    """

    by_month: pd.DataFrame
    by_person: pd.DataFrame
    trend: pd.DataFrame
    no_target: list[str] = field(default_factory=list)
    window_months: int = DEFAULT_WINDOW_MONTHS

    def by_group(self, level: str | Sequence[str] = "department") -> pd.DataFrame:
        """People under target over the last ``window_months`` per KPI and group.

        Returns
        -------
        DataFrame
            kpi, the group columns, n, n_under_target, share_under_target, mean_value, target,
            mean_shortfall.
        """
        keys = [level] if isinstance(level, str) else list(level)
        g = self.by_person.groupby(["kpi", *keys], sort=True)
        out = pd.DataFrame({
            "n": g.size(), "n_under_target": g["under_target"].sum().astype("int64"), "share_under_target": g["under_target"].mean(),
            "mean_value": g["mean_value"].mean(), "target": g["target"].first(), "mean_shortfall": g["shortfall"].mean(),
        }).reset_index()
        return out

    @property
    def summary(self) -> pd.DataFrame:
        """Per KPI: n, share under target now, target, mean value, trend of the share per year."""
        g = self.by_person.groupby("kpi", sort=True)
        out = pd.DataFrame({"n": g.size(), "share_under_target": g["under_target"].mean(), "mean_value": g["mean_value"].mean(),
                            "target": g["target"].first()}).reset_index()
        return out.merge(self.trend[["kpi", "slope_per_year", "ci_low", "ci_high"]], on="kpi", how="left")


def _trend(monthly: pd.DataFrame) -> pd.DataFrame:
    """Least-squares slope of the monthly share under target (per year), with its standard error."""
    from scipy.stats import t as student

    rows = []
    for kpi, part in monthly.groupby("kpi", sort=True):
        x = (part["month"].dt.year * 12 + part["month"].dt.month).to_numpy(float)
        y = part["share_under_target"].to_numpy(float)
        n = len(x)
        if n < 3:
            rows.append({"kpi": kpi, "months": n, "first_share": y[0] if n else np.nan, "last_share": y[-1] if n else np.nan,
                         "slope_per_year": np.nan, "std_error": np.nan, "ci_low": np.nan, "ci_high": np.nan})
            continue
        xc = x - x.mean()
        b = float((xc * (y - y.mean())).sum() / (xc**2).sum())
        resid = y - y.mean() - b * xc
        se = float(np.sqrt((resid**2).sum() / (n - 2) / (xc**2).sum()))
        q = float(student.ppf(0.975, n - 2))
        rows.append({"kpi": kpi, "months": n, "first_share": y[0], "last_share": y[-1], "slope_per_year": 12 * b, "std_error": 12 * se,
                     "ci_low": 12 * (b - q * se), "ci_high": 12 * (b + q * se)})
    return pd.DataFrame(rows, columns=["kpi", "months", "first_share", "last_share", "slope_per_year", "std_error", "ci_low", "ci_high"])


def kpi_gaps(dataset: Dataset, *, window_months: int = DEFAULT_WINDOW_MONTHS) -> KpiGapResults:
    """KPI actual against target by role, department and month; share of people under target and its trend.

    Parameters
    ----------
    dataset : Dataset
    window_months : int
        Months averaged per person for :attr:`KpiGapResults.by_person` (people who left before
        the window are not in it).

    Returns
    -------
    KpiGapResults

    Notes
    -----
    The direction comes from ``kpi_definitions.higher_is_better``: for an error rate, above
    target is the shortfall. The trend's interval treats months as independent (monthly shares
    of overlapping people are positively correlated, so it is, if anything, too narrow).
    """
    kd = _definitions(dataset)
    sign = _direction(kd)
    with_target = kd[kd["target"].notna()]
    no_target = sorted(set(kd["kpi"]) - set(with_target["kpi"]))
    emp = dataset.tables["employees"][["employee_id", "department", "role", "region"]]
    rows = dataset.tables["kpi_monthly"]
    rows = rows[rows["kpi"].isin(with_target["kpi"])].merge(emp, on="employee_id", how="left")
    rows = rows.merge(with_target[["kpi", "unit", "target"]], on="kpi", how="left")
    rows["shortfall"] = rows["kpi"].map(sign).astype(float) * (rows["target"] - rows["value"])  # float when no row has a target
    rows["under"] = rows["shortfall"] > 0
    g = rows.groupby(["kpi", "unit", "month", "department", "role"], sort=True)
    by_month = pd.DataFrame({"n": g.size(), "mean_value": g["value"].mean(), "target": g["target"].first(),
                             "share_under_target": g["under"].mean()}).reset_index()
    by_month["shortfall"] = by_month["kpi"].map(sign).astype(float) * (by_month["target"] - by_month["mean_value"])
    by_month = by_month[["kpi", "unit", "month", "department", "role", "n", "mean_value", "target", "shortfall", "share_under_target"]]
    overall = rows.groupby(["kpi", "month"], sort=True)["under"].mean().rename("share_under_target").reset_index()
    persons = []
    for kpi in with_target["kpi"]:
        p = person_kpi_status(dataset, kpi, window_months=window_months)
        persons.append(p.assign(kpi=kpi))
    by_person = pd.concat(persons, ignore_index=True) if persons else pd.DataFrame(
        columns=["employee_id", "months", "mean_value", "target", "shortfall", "under_target", "kpi"])
    by_person = by_person.merge(emp, on="employee_id", how="left")
    by_person = by_person[["kpi", "employee_id", "department", "role", "region", "months", "mean_value", "target", "shortfall", "under_target"]]
    return KpiGapResults(by_month=by_month, by_person=by_person, trend=_trend(overall), no_target=no_target, window_months=window_months)
