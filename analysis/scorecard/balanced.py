"""The training function's balanced scorecard, computed from a KPI library file.

Each KPI of the library (:mod:`analysis.scorecard.library`) is evaluated period by
period by the safe formula engine (:mod:`analysis.formula`) over named aggregates of the
kit's tables and the figures of ``scorecard_inputs``. A KPI with neither data source
is listed as ``no data``; a KPI whose definition is broken (unknown table or column,
syntax error, unknown function, division by zero in every period ...) is listed as
``broken`` with a message naming the file, the KPI and the line — the rest of the
scorecard is computed all the same.

References
----------
Kaplan, R. S., & Norton, D. P. (1992). The balanced scorecard — measures that drive
performance. *Harvard Business Review*, 70(1), 71-79.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.contract import TABLES
from analysis.formula import FormulaError, evaluate, parse_formula
from analysis.scorecard.library import PERSPECTIVES, TDRP_GROUPS, Aggregate, Kpi, KpiLibrary, LibraryIssue, load_library
from analysis.scorecard.tdrp import PERIODS_PER_YEAR, forecast_period_end, period_to_date, status, trend

__all__ = ["DEFAULT_DATE_COLUMNS", "ROLES", "ScorecardResult", "compute_aggregate", "compute_scorecard", "period_labels", "scorecard_periods"]

#: The date column that places a row of each table in a period (an aggregate's ``date`` overrides it).
DEFAULT_DATE_COLUMNS: dict[str, str] = {
    "enrollments": "start_date", "kpi_monthly": "month", "assessments": "assessed_on", "costs": "period",
    "context_monthly": "month", "scorecard_inputs": "period", "employees": "hire_date",
}
#: Role cards of seed 002 (display name per role key used in a KPI's ``roles``).
ROLES: dict[str, str] = {
    "sales_consultant": "Sales consultant / account manager",
    "trainer": "Trainer / delivery expert",
    "course_developer": "Course development manager",
    "marketing": "Marketing specialist",
}
_JOIN_KEYS = {"employees": "employee_id", "programs": "program_id"}


def _tables(data: Any) -> Mapping[str, pd.DataFrame]:
    return data.tables if hasattr(data, "tables") else data


def period_labels(dates: pd.Series, frequency: str) -> pd.Series:
    """Period labels of dates: ``2024-01`` (month), ``2024-Q1`` (quarter), ``2024`` (year)."""
    d = pd.to_datetime(dates)
    if frequency == "month":
        out = d.dt.strftime("%Y-%m")
    elif frequency == "quarter":
        out = d.dt.year.astype("Int64").astype("string") + "-Q" + d.dt.quarter.astype("Int64").astype("string")
    else:
        out = d.dt.year.astype("Int64").astype("string")
    return out.astype("string")


def _label_matches(label: str, frequency: str) -> bool:
    import re

    pattern = {"month": r"^\d{4}-\d{2}$", "quarter": r"^\d{4}-Q[1-4]$", "year": r"^\d{4}$"}[frequency]
    return bool(re.match(pattern, str(label)))


def _bounds(label: str, frequency: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    if frequency == "month":
        p = pd.Period(label, freq="M")
    elif frequency == "quarter":
        p = pd.Period(label.replace("-", ""), freq="Q")
    else:
        p = pd.Period(label, freq="Y")
    return p.start_time.normalize(), p.end_time.normalize()


def scorecard_periods(data: Any, frequency: str = "quarter") -> list[str]:
    """Every period of the scorecard: the KPI panel's span plus the periods of ``scorecard_inputs``.

    Parameters
    ----------
    data : Dataset or mapping of table name to DataFrame
    frequency : str
        ``month``, ``quarter`` or ``year``.

    Returns
    -------
    list of str
        Period labels in time order, with no gap.
    """
    t = _tables(data)
    labels: set[str] = set()
    for name, col in (("kpi_monthly", "month"), ("enrollments", "start_date")):
        df = t.get(name)
        if df is not None and len(df):
            d = pd.to_datetime(df[col])
            labels |= set(period_labels(pd.Series([d.min(), d.max()]), frequency))
    inputs = t.get("scorecard_inputs")
    if inputs is not None:
        labels |= {str(p) for p in inputs["period"].astype(str) if _label_matches(p, frequency)}
    if not labels:
        return []
    starts = sorted(_bounds(p, frequency)[0] for p in labels)
    freq = {"month": "MS", "quarter": "QS", "year": "YS"}[frequency]
    span = pd.date_range(starts[0], starts[-1], freq=freq)
    return list(period_labels(pd.Series(span), frequency))


class _AggregateError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _frame(t: Mapping[str, pd.DataFrame], agg: Aggregate) -> pd.DataFrame | None:
    if agg.table not in TABLES:
        raise _AggregateError("unknown_table", f"aggregate {agg.name!r} reads table {agg.table!r}, which is not a table of the data contract "
                              f"({', '.join(TABLES)})")
    df = t.get(agg.table)
    if df is None:
        return None
    df = df.drop(columns="_line", errors="ignore")
    for other in agg.join:
        if other not in _JOIN_KEYS:
            raise _AggregateError("unknown_table", f"aggregate {agg.name!r} joins {other!r}; only {', '.join(_JOIN_KEYS)} can be joined")
        right = t.get(other)
        key = _JOIN_KEYS[other]
        if right is None or key not in df.columns:
            raise _AggregateError("unknown_table", f"aggregate {agg.name!r} joins {other!r}, which is missing or has no {key} to join on")
        right = right.drop(columns="_line", errors="ignore")
        df = df.merge(right[[c for c in right.columns if c == key or c not in df.columns]], on=key, how="left", validate="many_to_one")
    return df


def compute_aggregate(data: Any, agg: Aggregate, frequency: str, periods: list[str]) -> pd.Series:
    """One named aggregate per period.

    Parameters
    ----------
    data : Dataset or mapping of table name to DataFrame
    agg : Aggregate
    frequency : str
    periods : list of str
        The scorecard's periods.

    Returns
    -------
    Series
        Indexed by period label. Counts are 0 in a period with no rows; means are NaN
        there. All NaN when the table is absent from the dataset (no data).

    Raises
    ------
    _AggregateError
        Unknown table or column, or a ``where`` that cannot be computed.
    """
    t = _tables(data)
    df = _frame(t, agg)
    if df is None:
        return pd.Series(np.nan, index=periods, dtype=float)
    needed = set(agg.where.names) if agg.where is not None else set()
    column_expr = None
    if agg.column and agg.column not in df.columns:
        try:
            column_expr = parse_formula(agg.column)
        except FormulaError as exc:
            raise _AggregateError(exc.kind, f"aggregate {agg.name!r}: column {exc}") from None
        needed |= set(column_expr.names)
    elif agg.column:
        needed.add(agg.column)
    employed = agg.agg in ("employed_start", "employed_end", "retained")
    date_col = None if employed else (agg.date or DEFAULT_DATE_COLUMNS.get(agg.table))
    if employed:
        needed |= {"hire_date", "exit_date"} & (set(df.columns) | {"hire_date"})
    elif date_col is not None:
        needed.add(date_col)
    unknown = sorted(c for c in needed if c not in df.columns)
    contract_cols = {c.name for name in (agg.table, *agg.join) if name in TABLES for c in TABLES[name].columns}
    if unknown and all(c in contract_cols for c in unknown):
        raise _AggregateError("no_data", f"no data: table {agg.table} has no {', '.join(repr(c) for c in unknown)} column "
                              "(optional in the data contract)")
    if unknown:
        raise _AggregateError("unknown_column", f"aggregate {agg.name!r}: table {agg.table} has no column {', '.join(repr(c) for c in unknown)} "
                              f"(columns: {', '.join(df.columns)})")
    if agg.where is not None:
        try:
            mask = evaluate(agg.where, {c: df[c] for c in df.columns})
        except FormulaError as exc:
            raise _AggregateError(exc.kind, f"aggregate {agg.name!r}: where {exc}") from None
        if not isinstance(mask, pd.Series):
            mask = pd.Series(bool(mask), index=df.index)
        df = df[mask.fillna(False).astype(bool)]
    if employed:
        hire = pd.to_datetime(df["hire_date"])
        leave = pd.to_datetime(df["exit_date"]) if "exit_date" in df.columns else pd.Series(pd.NaT, index=df.index)
        out = {}
        for p in periods:
            start, end = _bounds(p, frequency)
            at_start = (hire <= start) & (leave.isna() | (leave >= start))
            at_end = (hire <= end) & (leave.isna() | (leave > end))
            sel = at_start if agg.agg == "employed_start" else at_end if agg.agg == "employed_end" else at_start & at_end
            out[p] = float(sel.sum())
        return pd.Series(out, dtype=float)
    if date_col is None:
        raise _AggregateError("missing", f"aggregate {agg.name!r}: table {agg.table} has no default date column; give one with date:")
    col = df[date_col]
    if pd.api.types.is_datetime64_any_dtype(col):
        label = period_labels(col, frequency)
    else:
        label = col.astype("string")
        bad = label.dropna()[[not _label_matches(v, frequency) for v in label.dropna()]]
        if len(bad):
            raise _AggregateError("invalid", f"aggregate {agg.name!r}: {agg.table}.{date_col} holds periods like {bad.iloc[0]!r}, "
                                  f"which are not {frequency}s; set the KPI's frequency to match")
    keyed = df.assign(_period=label.to_numpy())
    g = keyed.groupby("_period", observed=True)
    if agg.agg == "count":
        s = g.size().astype(float)
        return s.reindex(periods).fillna(0.0)
    if column_expr is not None:
        try:
            raw = evaluate(column_expr, {c: keyed[c] for c in keyed.columns})
        except FormulaError as exc:
            raise _AggregateError(exc.kind, f"aggregate {agg.name!r}: column {exc}") from None
        keyed = keyed.assign(_expr=raw)
        source = keyed["_expr"]
    else:
        source = keyed[agg.column]
    values = pd.to_numeric(source.astype("Float64") if source.dtype == "boolean" else source, errors="coerce")
    keyed = keyed.assign(_v=values)
    g = keyed.groupby("_period", observed=True)["_v"]
    if agg.agg == "sum":
        return g.sum(min_count=1).astype(float).reindex(periods).fillna(0.0)
    if agg.agg == "mean":
        return g.mean().astype(float).reindex(periods)
    return keyed.groupby("_period", observed=True)["_v" if column_expr is not None else agg.column].nunique().astype(float).reindex(periods).fillna(0.0)


def _inputs(t: Mapping[str, pd.DataFrame], frequency: str, periods: list[str]) -> tuple[dict[str, pd.Series], dict[str, pd.Series]]:
    df = t.get("scorecard_inputs")
    values: dict[str, pd.Series] = {}
    targets: dict[str, pd.Series] = {}
    if df is None:
        return values, targets
    df = df[[_label_matches(p, frequency) for p in df["period"].astype(str)]]
    for kpi, rows in df.groupby(df["kpi"].astype(str)):
        r = rows.set_index(rows["period"].astype(str))
        values[str(kpi)] = pd.to_numeric(r["value"], errors="coerce").astype(float).reindex(periods)
        if "target" in r.columns:
            targets[str(kpi)] = pd.to_numeric(r["target"], errors="coerce").astype(float).reindex(periods)
    return values, targets


@dataclass
class ScorecardResult:
    """The balanced scorecard of one dataset and library.

    Attributes
    ----------
    table : DataFrame
        One row per KPI of the library (broken and no-data ones included): name, label,
        perspective, tdrp, unit, direction, owner, source, roles, definition, formula,
        line, status, last_period, last_actual, target, period_to_date, year_plan,
        forecast, forecast_low, forecast_high, forecast_for, trend, trend_slope,
        change_vs_previous, n_periods, n_last_period (the count behind the last value), note.
    values : DataFrame
        Long: kpi, period, value, target (one row per KPI and period).
    issues : list of LibraryIssue
        Every problem, each naming file, KPI and line.
    library : KpiLibrary
    """

    table: pd.DataFrame
    values: pd.DataFrame
    issues: list[LibraryIssue]
    library: KpiLibrary
    periods: dict[str, list[str]] = field(default_factory=dict)

    def value(self, kpi: str, period: str) -> float:
        """The value of one KPI in one period (NaN when missing)."""
        v = self.values[(self.values["kpi"] == kpi) & (self.values["period"] == period)]["value"]
        return float(v.iloc[0]) if len(v) else float("nan")

    def series(self, kpi: str) -> pd.Series:
        """A KPI's values by period."""
        v = self.values[self.values["kpi"] == kpi]
        return pd.Series(v["value"].to_numpy(float), index=v["period"].to_numpy())

    @property
    def broken(self) -> pd.DataFrame:
        """The KPIs that could not be computed, with the reason."""
        return self.table.loc[self.table["status"] == "broken", ["name", "line", "note"]].reset_index(drop=True)

    @property
    def no_data(self) -> pd.DataFrame:
        """The KPIs no table or input holds."""
        return self.table.loc[self.table["status"] == "no data", ["name", "label", "perspective", "source"]].reset_index(drop=True)

    def by_perspective(self) -> dict[str, pd.DataFrame]:
        """The scorecard table split by balanced-scorecard perspective (display order)."""
        return {p: self.table[self.table["perspective"] == p].reset_index(drop=True) for p in PERSPECTIVES if (self.table["perspective"] == p).any()}

    def tdrp_report(self) -> pd.DataFrame:
        """The TDRp report: measures grouped efficiency, effectiveness, outcome, with finance's columns."""
        cols = ["tdrp", "label", "unit", "last_period", "last_actual", "target", "period_to_date", "year_plan", "forecast",
                "forecast_low", "forecast_high", "forecast_for", "status"]
        t = self.table.copy()
        t["tdrp"] = pd.Categorical(t["tdrp"], categories=list(TDRP_GROUPS), ordered=True)
        return t.sort_values(["tdrp", "perspective"], kind="stable")[cols].reset_index(drop=True)

    def role_card(self, role: str) -> pd.DataFrame:
        """The KPIs of one role (seed 002's per-role examples), with status."""
        mask = self.table["roles"].map(lambda r: role in r.split(", ") if isinstance(r, str) else False)
        return self.table.loc[mask, ["perspective", "label", "unit", "last_actual", "target", "status", "trend"]].reset_index(drop=True)

    @property
    def summary(self) -> pd.DataFrame:
        """Count of KPIs by perspective and status."""
        return pd.crosstab(self.table["perspective"], self.table["status"])


def compute_scorecard(data: Any, library: KpiLibrary | str | Path | None = None, *, on_track: float = 1.0, at_risk: float = 0.9,
                      level: float = 0.90, min_group_size: int = 5) -> ScorecardResult:
    """Compute every KPI of a library on a dataset.

    Parameters
    ----------
    data : Dataset or mapping of table name to DataFrame
    library : KpiLibrary, path or None
        A loaded library, a YAML file, or None for the default library.
    on_track, at_risk : float
        Status thresholds on attainment (1 = on target; see
        :func:`analysis.scorecard.tdrp.attainment`): on track at or above ``on_track``,
        at risk at or above ``at_risk``, off track below.
    level : float
        Coverage of the trend and forecast intervals.
    min_group_size : int
        A period whose ``n`` (the KPI's count aggregate: by default a rate's denominator)
        is below this is left blank — too few people to report, and too few to judge.

    Returns
    -------
    ScorecardResult
    """
    lib = library if isinstance(library, KpiLibrary) else load_library(library)
    t = _tables(data)
    issues = list(lib.issues)
    per_freq: dict[str, list[str]] = {}
    agg_cache: dict[tuple[str, str], pd.Series | _AggregateError] = {}
    rows: list[dict[str, Any]] = []
    long: list[pd.DataFrame] = []

    inputs_cache: dict[str, tuple[dict[str, pd.Series], dict[str, pd.Series]]] = {}

    def agg_values(name: str, freq: str) -> pd.Series:
        key = (name, freq)
        if key not in agg_cache:
            try:
                agg_cache[key] = compute_aggregate(t, lib.aggregates[name], freq, per_freq[freq])
            except _AggregateError as exc:
                agg_cache[key] = exc
        out = agg_cache[key]
        if isinstance(out, _AggregateError):
            raise out
        return out

    for kpi in lib.kpis:
        freq = kpi.frequency
        if freq not in per_freq:
            per_freq[freq] = scorecard_periods(t, freq)
        periods = per_freq[freq]
        if freq not in inputs_cache:  # the scorecard_inputs figures of a frequency, read once (as the aggregates are)
            inputs_cache[freq] = _inputs(t, freq, periods)
        in_values, in_targets = inputs_cache[freq]
        row = _describe(kpi)
        note = ""
        n_values: pd.Series | None = None
        values = pd.Series(np.nan, index=periods, dtype=float)
        targets = pd.Series(kpi.target if kpi.target is not None else np.nan, index=periods, dtype=float)
        state = "ok"
        if kpi.formula is None:
            if kpi.input in in_values:
                values = in_values[kpi.input]
                if kpi.target is None and kpi.input in in_targets:
                    targets = in_targets[kpi.input]
            if values.isna().all():
                state = "no data"
                note = f"no data: scorecard_inputs has no {kpi.input!r} figures"
        else:
            env: dict[str, pd.Series] = {}
            missing_inputs = []
            try:
                for name in sorted(kpi.formula.names):
                    if name in lib.aggregates:
                        env[name] = agg_values(name, freq)
                    elif name in lib.inputs:
                        if name in in_values:
                            env[name] = in_values[name]
                        else:
                            missing_inputs.append(name)
                    elif name.endswith("_target") and name[:-7] in in_targets:
                        env[name] = in_targets[name[:-7]]
                    else:
                        missing_inputs.append(name)
            except _AggregateError as exc:
                if exc.kind == "no_data":
                    state, note = "no data", str(exc)
                else:
                    issue = LibraryIssue(lib.file, kpi.line, kpi.name, exc.kind, str(exc))
                    issues.append(issue)
                    state, note = "broken", str(issue)
            if state == "ok" and missing_inputs:
                state, note = "no data", f"no data: scorecard_inputs has no {', '.join(repr(m) for m in missing_inputs)} figures"
            if state == "ok" and all(env[n].isna().all() for n in env):
                state, note = "no data", "no data: the tables it reads are not in the dataset"
            small: list[str] = []
            if state == "ok" and kpi.n is not None:
                try:
                    n_series = agg_values(kpi.n, freq)
                except _AggregateError as exc:
                    if exc.kind == "no_data":
                        state, note = "no data", str(exc)
                    else:
                        issue = LibraryIssue(lib.file, kpi.line, kpi.name, exc.kind, str(exc))
                        issues.append(issue)
                        state, note = "broken", str(issue)
                else:
                    n_values = n_series
                    small = [p for p in periods if np.isfinite(n_series[p]) and n_series[p] < min_group_size]
            if state == "ok":
                values, zero_periods, err = _evaluate_by_period(kpi, {**env, "__small__": pd.Series(1.0, index=small)} if small else env, periods)
                if err is not None:
                    issue = LibraryIssue(lib.file, kpi.line, kpi.name, err.kind, str(err))
                    issues.append(issue)
                    state, note = "broken", str(issue)
                elif zero_periods:
                    msg = (f"division by zero in {', '.join(zero_periods)} (formula {kpi.formula.text!r}); "
                           f"{'that period is' if len(zero_periods) == 1 else 'those periods are'} left blank")
                    issues.append(LibraryIssue(lib.file, kpi.line, kpi.name, "division_by_zero", msg))
                    if values.isna().all():
                        state, note = "broken", str(issues[-1])
                    else:
                        note = msg
        long.append(pd.DataFrame({"kpi": kpi.name, "period": periods, "value": values.to_numpy(float), "target": targets.to_numpy(float)}))
        row.update(_columns(kpi, values, targets, state, on_track=on_track, at_risk=at_risk, level=level))
        if row["status"] == "no data" and not note:
            note = f"no data: no period has a value (or none with at least {min_group_size} people behind it)"
        row["n_last_period"] = float(n_values[row["last_period"]]) if n_values is not None and row.get("last_period") in n_values.index else np.nan
        row["note"] = note
        rows.append(row)
    for name, issue in lib.broken.items():
        label, perspective = lib.labels.get(name, (name, ""))
        rows.append({"name": name, "label": label, "perspective": perspective, "tdrp": "", "unit": "", "direction": "", "owner": "", "source": "",
                     "roles": "", "definition": "", "formula": "", "line": issue.line, "status": "broken", "note": str(issue)})
    table = pd.DataFrame(rows)
    order = {name: lib.lines.get(name) or 0 for name in table["name"]}
    table = table.assign(_o=table["name"].map(order)).sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)
    values_long = pd.concat(long, ignore_index=True) if long else pd.DataFrame(columns=["kpi", "period", "value", "target"])
    return ScorecardResult(table=table, values=values_long, issues=issues, library=lib, periods=per_freq)


def _describe(kpi: Kpi) -> dict[str, Any]:
    return {
        "name": kpi.name, "label": kpi.label, "perspective": kpi.perspective, "tdrp": kpi.tdrp, "unit": kpi.unit, "direction": kpi.direction,
        "owner": kpi.owner, "source": kpi.source, "roles": ", ".join(kpi.roles), "definition": kpi.definition,
        "formula": kpi.formula.text if kpi.formula is not None else f"scorecard_inputs: {kpi.input}", "line": kpi.line,
    }


def _evaluate_by_period(kpi: Kpi, env: dict[str, pd.Series], periods: list[str]) -> tuple[pd.Series, list[str], FormulaError | None]:
    out = pd.Series(np.nan, index=periods, dtype=float)
    zero: list[str] = []
    small = set(env.pop("__small__", pd.Series(dtype=float)).index) if "__small__" in env else set()
    for p in periods:
        if p in small:
            continue  # fewer people than the minimum group size: left blank
        scalars = {n: float(s.get(p, np.nan)) for n, s in env.items()}
        if any(not np.isfinite(v) for v in scalars.values()):
            continue  # no data for that period
        try:
            v = evaluate(kpi.formula, scalars)  # type: ignore[arg-type]
        except FormulaError as exc:
            if exc.kind == "division_by_zero":
                zero.append(p)
                continue
            return out, zero, exc
        try:
            out[p] = float(v)
        except (TypeError, ValueError):
            return out, zero, FormulaError(f"formula {kpi.formula.text!r} gives {v!r}, not a number", "type")  # type: ignore[union-attr]
    return out, zero, None


def _columns(kpi: Kpi, values: pd.Series, targets: pd.Series, state: str, *, on_track: float, at_risk: float, level: float) -> dict[str, Any]:
    blank: dict[str, Any] = {"last_period": "", "last_actual": np.nan, "target": np.nan, "period_to_date": np.nan, "year_plan": np.nan,
                             "forecast": np.nan, "forecast_low": np.nan, "forecast_high": np.nan, "forecast_for": "", "trend": "",
                             "trend_slope": np.nan, "change_vs_previous": np.nan, "n_periods": 0}
    if state != "ok":
        return {**blank, "status": state}
    observed = values.dropna()
    if observed.empty:
        return {**blank, "status": "no data"}
    # drop the leading periods before the KPI's first value (e.g. before training began)
    series = values.loc[observed.index[0]:]
    last_p = observed.index[-1]
    last = float(observed.iloc[-1])
    tgt = float(targets.get(last_p, np.nan))
    tr = trend(series, kpi.higher_is_better, level=level)
    fc = forecast_period_end(series.loc[:last_p], kpi.frequency, kpi.to_date, level=level)
    plan_year = targets.loc[:last_p].ffill().iloc[-1] if targets.notna().any() else np.nan
    ppy = PERIODS_PER_YEAR[kpi.frequency]
    year_plan = plan_year * ppy if kpi.to_date == "sum" else plan_year
    prev = observed.iloc[-2] if len(observed) > 1 else np.nan
    return {
        "status": status(last, tgt, kpi.higher_is_better, on_track=on_track, at_risk=at_risk),
        "last_period": str(last_p), "last_actual": last, "target": tgt,
        "period_to_date": period_to_date(series.loc[:last_p], kpi.to_date), "year_plan": float(year_plan),
        "forecast": fc.value, "forecast_low": fc.low, "forecast_high": fc.high, "forecast_for": fc.label,
        "trend": tr.verdict, "trend_slope": tr.slope, "change_vs_previous": last - float(prev) if np.isfinite(prev) else np.nan,
        "n_periods": int(len(observed)),
    }
