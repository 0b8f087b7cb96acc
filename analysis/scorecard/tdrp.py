"""Talent Development Reporting principles (TDRp): status, trend, to-date and forecast columns.

TDRp reports group a training function's measures as efficiency, effectiveness and
outcome, and give every row the columns finance expects: last period's actual, the plan
(target), the period to date and a forecast to the end of the period with its interval
(Barnett & Vance 2016, *Measurement Demystified*; Center for Talent Reporting).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["PERIODS_PER_YEAR", "Forecast", "Trend", "attainment", "forecast_period_end", "period_to_date", "status", "trend"]

PERIODS_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}
STATUSES = ("on track", "at risk", "off track")


def attainment(actual: float, target: float, higher_is_better: bool = True) -> float:
    """How far the actual is along to the target: 1 = exactly on target.

    ``1 + s (actual - target) / |target|`` with ``s = +1`` when higher is better and -1
    when lower is better, so 0.9 means "10% of the target short of it" in either
    direction and a negative target (NPS) works too. NaN without a target or actual.
    """
    if actual is None or target is None or not np.isfinite(actual) or not np.isfinite(target):
        return float("nan")
    s = 1.0 if higher_is_better else -1.0
    if target == 0:
        return 1.0 + s * float(np.sign(actual))
    return 1.0 + s * (actual - target) / abs(target)


def status(actual: float, target: float, higher_is_better: bool = True, *, on_track: float = 1.0, at_risk: float = 0.9) -> str:
    """Status against target: ``on track`` (attainment >= on_track), ``at risk`` (>= at_risk), ``off track``.

    Returns ``no data`` without an actual and ``no target`` without a target.
    """
    if actual is None or not np.isfinite(actual):
        return "no data"
    if target is None or not np.isfinite(target):
        return "no target"
    a = attainment(actual, target, higher_is_better)
    if a >= on_track - 1e-12:
        return "on track"
    if a >= at_risk - 1e-12:
        return "at risk"
    return "off track"


@dataclass(frozen=True)
class Trend:
    """Linear trend over periods: slope per period with its standard error and a verdict."""

    slope: float
    se: float
    n: int
    verdict: str
    level: float = 0.90

    def conf_int(self, level: float | None = None) -> tuple[float, float]:
        level = self.level if level is None else level
        if self.n < 3 or not np.isfinite(self.se):
            return (float("nan"), float("nan"))
        q = stats.t.ppf(0.5 + level / 2, self.n - 2)
        return (self.slope - q * self.se, self.slope + q * self.se)


def trend(values: pd.Series, higher_is_better: bool = True, *, level: float = 0.90, window: int = 8) -> Trend:
    """OLS slope of the last ``window`` non-missing values on their period number.

    Verdict: ``improving`` / ``worsening`` when the ``level`` interval of the slope
    excludes zero (in the good / bad direction), ``no clear trend`` otherwise, ``too
    few periods`` with fewer than three values.
    """
    pos = np.arange(len(values), dtype=float)
    ok = np.isfinite(values.to_numpy(dtype=float))
    y, x = values.to_numpy(dtype=float)[ok][-window:], pos[ok][-window:]
    n = len(y)
    if n < 3:
        return Trend(float("nan"), float("nan"), n, "too few periods", level)
    xc = x - x.mean()
    slope = float((xc * (y - y.mean())).sum() / (xc**2).sum())
    resid = y - y.mean() - slope * xc
    s2 = float((resid**2).sum() / (n - 2))
    se = math.sqrt(s2 / float((xc**2).sum()))
    t = Trend(slope, se, n, "", level)
    lo, hi = t.conf_int()
    good = 1.0 if higher_is_better else -1.0
    clear = (slope != 0) if se == 0.0 else (lo > 0 or hi < 0)
    verdict = ("improving" if good * slope > 0 else "worsening") if clear else "no clear trend"
    return Trend(slope, se, n, verdict, level)


def _year(label: str) -> int:
    return int(str(label)[:4])


def period_to_date(values: pd.Series, to_date: str = "mean") -> float:
    """The reporting year's value so far: ``sum``, ``mean`` or ``last`` of its periods' values.

    The reporting year is the year of the last labelled period (labels start ``YYYY``).
    """
    v = values.dropna()
    if v.empty:
        return float("nan")
    year = _year(values.index[-1])
    cur = v[[(_year(p) == year) for p in v.index]]
    if cur.empty:
        return float("nan")
    return float(cur.sum() if to_date == "sum" else cur.mean() if to_date == "mean" else cur.iloc[-1])


@dataclass(frozen=True)
class Forecast:
    """Forecast of a KPI's value for a period end (a year), with its prediction interval."""

    value: float
    low: float
    high: float
    label: str
    level: float = 0.90


def forecast_period_end(values: pd.Series, frequency: str = "quarter", to_date: str = "mean", *, level: float = 0.90) -> Forecast:
    """Forecast the year's value (``to_date`` rule) from a linear trend over all periods.

    If the reporting year (the year of the last period) still has periods to come, the
    forecast is the year-end value: the observed periods of the year plus the trend's
    prediction of the rest. If it is complete, the forecast is for the whole next year.
    The interval is the OLS prediction interval of that combination (parameter
    uncertainty plus the residual noise of each future period), t with n - 2 degrees of
    freedom.

    Parameters
    ----------
    values : Series
        One value per period, indexed by period label in time order (NaN = no data).
    frequency : str
        ``month``, ``quarter`` or ``year``.
    to_date : str
        How periods combine into the year: ``sum``, ``mean`` or ``last``.
    level : float
        Coverage of the interval.

    Returns
    -------
    Forecast
        NaN with fewer than three observed periods.
    """
    ppy = PERIODS_PER_YEAR[frequency]
    labels = list(values.index)
    if not labels:
        return Forecast(float("nan"), float("nan"), float("nan"), "", level)
    year = _year(labels[-1])
    in_year = [p for p in labels if _year(p) == year]
    remaining = ppy - len(in_year)
    if remaining <= 0:
        year, observed, remaining = year + 1, pd.Series(dtype=float), ppy
        label = f"{year} (next year)"
    else:
        observed = values[in_year].dropna()
        label = f"{year} year end"
    y_all = values.to_numpy(dtype=float)
    pos = np.arange(len(values), dtype=float)
    ok = np.isfinite(y_all)
    n = int(ok.sum())
    if n < 3:
        return Forecast(float("nan"), float("nan"), float("nan"), label, level)
    X = np.column_stack([np.ones(n), pos[ok]])
    y = y_all[ok]
    xtx_inv = np.linalg.inv(X.T @ X)
    b = xtx_inv @ X.T @ y
    resid = y - X @ b
    s2 = float(resid @ resid / (n - 2))
    future = len(values) + np.arange(remaining, dtype=float)
    Xf = np.column_stack([np.ones(remaining), future])
    pred = Xf @ b
    if to_date == "sum":
        a, const = np.ones(remaining), float(observed.sum())
    elif to_date == "mean":
        k = len(observed) + remaining
        a, const = np.ones(remaining) / k, float(observed.sum()) / k
    else:
        a, const = np.zeros(remaining), 0.0
        a[-1] = 1.0
    point = const + float(a @ pred)
    var = float(a @ Xf @ (s2 * xtx_inv) @ Xf.T @ a) + s2 * float(a @ a)
    q = stats.t.ppf(0.5 + level / 2, n - 2)
    half = q * math.sqrt(max(var, 0.0))
    return Forecast(point, point - half, point + half, label, level)
