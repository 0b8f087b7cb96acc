"""Competency levels and gaps: sources combined and calibrated, gaps against role requirements.

:func:`competency_gaps` turns ``assessments`` and ``role_requirements`` into one row per
employee × required competency with the current level, the gap ``max(0, required − level)``
and a status (``gap``, ``met`` or ``unknown`` — a competency never assessed is unknown, never a
zero gap), plus a weighted gap index per employee and group summaries.

Sources (test, manager, 360, self) are combined with stated weights. Where a person has a test
score and another source for the same competency, :func:`source_calibration` estimates the
other source's offset and spread against the test (no direction is assumed: self-ratings err
both ways, Zell & Krizan 2014), and calibrated levels are an option.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.data import DataValidationError, Dataset

__all__ = [
    "DEFAULT_SCALE",
    "DEFAULT_SOURCE_WEIGHTS",
    "DEFAULT_WINDOW_DAYS",
    "GapResults",
    "GapsUnavailable",
    "UNSPECIFIED_SOURCE",
    "competency_gaps",
    "current_levels",
    "require_tables",
    "self_vs_manager",
    "source_calibration",
]

#: Weight of each assessment source when several assessed the same competency (test > manager > 360 > self).
DEFAULT_SOURCE_WEIGHTS: dict[str, float] = {"test": 0.4, "manager": 0.3, "360": 0.2, "self": 0.1}
#: Source label of assessment rows without a ``source`` (weighted like a manager rating unless stated).
UNSPECIFIED_SOURCE = "unspecified"
#: The proficiency scale of scores and required levels.
DEFAULT_SCALE: tuple[float, float] = (1.0, 5.0)
#: Assessments within this many days of a person's latest one in a competency form the current round.
DEFAULT_WINDOW_DAYS = 180
STATUSES: tuple[str, ...] = ("gap", "met", "unknown")
GROUP_LEVELS: tuple[str, ...] = ("role", "department", "region")


class GapsUnavailable(Exception):
    """The dataset lacks a table the gap analysis needs (the notebook shows a "not available" page).

    Attributes
    ----------
    missing : list of str
        The absent contract tables, e.g. ``["assessments", "role_requirements"]``.
    """

    def __init__(self, missing: Sequence[str]):
        self.missing = list(missing)
        super().__init__(f"not available: the gap analysis needs tables {', '.join(self.missing)}")


def require_tables(dataset: Dataset, tables: Sequence[str] = ("assessments", "role_requirements")) -> None:
    """Raise :class:`GapsUnavailable` naming every table of ``tables`` the dataset lacks."""
    missing = [t for t in tables if dataset.tables.get(t) is None]
    if missing:
        raise GapsUnavailable(missing)


def _bad_rows(message: str, table: str, column: str, bad: pd.DataFrame, show: Sequence[str]) -> DataValidationError:
    rows = bad[[c for c in show if c in bad.columns]].head(5)
    lines = "\n".join("  " + ", ".join(f"{c}={_fmt(v)}" for c, v in row.items()) for _, row in rows.iterrows())
    return DataValidationError(f"table {table}, column {column!r}: {message}; {len(bad)} offending row{'s' if len(bad) != 1 else ''}"
                               f"{', first five' if len(bad) > 5 else ''}:\n{lines}", table=table, column=column, rows=rows)


def _fmt(v: Any) -> str:
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    return repr(v) if isinstance(v, str) else str(v)


def _check_scale(dataset: Dataset, scale: tuple[float, float]) -> None:
    lo, hi = scale
    if not lo < hi:
        raise ValueError(f"scale must be (low, high) with low < high, got {scale}")
    ass, req = dataset.tables["assessments"], dataset.tables["role_requirements"]
    bad = ass[(ass["score"] < lo) | (ass["score"] > hi) | ass["score"].isna()]
    if len(bad):
        raise _bad_rows(f"expected a score on the declared scale {lo:g}-{hi:g}", "assessments", "score", bad,
                        ["employee_id", "competency", "assessed_on", "score", "source"])
    bad = req[(req["required_level"] < lo) | (req["required_level"] > hi)]
    if len(bad):
        raise _bad_rows(f"expected a required level on the declared scale {lo:g}-{hi:g}", "role_requirements", "required_level", bad,
                        ["role", "competency", "required_level"])


def _source_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    out = dict(DEFAULT_SOURCE_WEIGHTS if weights is None else weights)
    out.setdefault(UNSPECIFIED_SOURCE, out.get("manager", 0.3))
    bad = {k: v for k, v in out.items() if not (np.isfinite(v) and v >= 0)}
    if bad:
        raise ValueError(f"source weights must be finite and >= 0, got {bad}")
    return out


def _as_of(dataset: Dataset, as_of: str | pd.Timestamp | None) -> pd.Timestamp:
    if as_of is not None:
        return pd.Timestamp(as_of)
    dates = [dataset.tables["assessments"]["assessed_on"].max()]
    kpi = dataset.tables.get("kpi_monthly")
    if kpi is not None and len(kpi):
        dates.append(kpi["month"].max() + pd.offsets.MonthEnd(0))
    return pd.Timestamp(max(d for d in dates if pd.notna(d)))


def _assessments(dataset: Dataset, as_of: pd.Timestamp) -> pd.DataFrame:
    ass = dataset.tables["assessments"].drop(columns="_line", errors="ignore")
    ass = ass[ass["assessed_on"] <= as_of].copy()
    src = ass["source"].astype("string") if "source" in ass.columns else pd.Series(pd.NA, index=ass.index, dtype="string")
    ass["source"] = src.fillna(UNSPECIFIED_SOURCE).astype(str)
    return ass


def source_calibration(dataset: Dataset, *, as_of: str | pd.Timestamp | None = None, level: float = 0.95) -> pd.DataFrame:
    """Offset and spread of each assessment source against the test, from people assessed by both.

    Every non-test score is paired with the same person's test score in the same competency
    nearest in date; offset = mean(source − test), spread = sd(source − test).

    Parameters
    ----------
    dataset : Dataset
        With ``assessments``.
    as_of : date, optional
        Ignore assessments after it.
    level : float
        Confidence level of the offset's interval (normal approximation).

    Returns
    -------
    DataFrame
        One row per source and competency plus an ``all`` row per source: source, competency,
        n_pairs, offset, std_error, ci_low, ci_high, spread, share_above_test, share_below_test,
        median_days_apart. The test itself is the reference (offset 0 by definition, not listed).

    Notes
    -----
    The pair's difference also carries the test's own error and any real change between the two
    dates, so ``spread`` is an upper bound on the source's own noise. Zell & Krizan (2014,
    Perspectives on Psychological Science 9:111) find self-ratings only moderately related to
    measured ability, with errors in both directions — hence no assumed sign.
    """
    from scipy.stats import norm

    ass = _assessments(dataset, _as_of(dataset, as_of))
    tests = ass[ass["source"] == "test"][["employee_id", "competency", "assessed_on", "score"]]
    other = ass[ass["source"] != "test"][["employee_id", "competency", "assessed_on", "score", "source"]]
    cols = ["source", "competency", "n_pairs", "offset", "std_error", "ci_low", "ci_high", "spread", "share_above_test",
            "share_below_test", "median_days_apart"]
    if tests.empty or other.empty:
        return pd.DataFrame(columns=cols)
    pairs = other.merge(tests, on=["employee_id", "competency"], suffixes=("", "_test"))
    pairs["days"] = (pairs["assessed_on"] - pairs["assessed_on_test"]).dt.days.abs()
    pairs = pairs.sort_values(["days", "assessed_on_test"], kind="stable").drop_duplicates(["employee_id", "competency", "assessed_on"])
    pairs["diff"] = pairs["score"] - pairs["score_test"]
    z = norm.ppf(0.5 + level / 2)
    rows = []
    for keys, part in [*(((s, "all"), p) for s, p in pairs.groupby("source")), *pairs.groupby(["source", "competency"])]:
        d = part["diff"].to_numpy(float)
        n = len(d)
        sd = float(d.std(ddof=1)) if n > 1 else np.nan
        se = sd / np.sqrt(n) if n > 1 else np.nan
        m = float(d.mean())
        rows.append({"source": keys[0], "competency": keys[1], "n_pairs": n, "offset": m, "std_error": se, "ci_low": m - z * se,
                     "ci_high": m + z * se, "spread": sd, "share_above_test": float((d > 0).mean()), "share_below_test": float((d < 0).mean()),
                     "median_days_apart": float(part["days"].median())})
    out = pd.DataFrame(rows, columns=cols)
    out["_all"] = out["competency"] != "all"
    return out.sort_values(["source", "_all", "competency"], kind="stable").drop(columns="_all").reset_index(drop=True)


def self_vs_manager(dataset: Dataset, *, as_of: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """Self-rating against the manager's rating, per competency (nearest-in-date pairs).

    Returns
    -------
    DataFrame
        competency, n (people with both), mean_difference (self − manager), share_self_higher,
        share_self_lower, share_equal. Empty when nobody has both.
    """
    ass = _assessments(dataset, _as_of(dataset, as_of))
    cols = ["competency", "n", "mean_difference", "share_self_higher", "share_self_lower", "share_equal"]
    s = ass[ass["source"] == "self"][["employee_id", "competency", "assessed_on", "score"]]
    m = ass[ass["source"] == "manager"][["employee_id", "competency", "assessed_on", "score"]]
    pairs = s.merge(m, on=["employee_id", "competency"], suffixes=("_self", "_manager"))
    if pairs.empty:
        return pd.DataFrame(columns=cols)
    pairs["days"] = (pairs["assessed_on_self"] - pairs["assessed_on_manager"]).dt.days.abs()
    pairs = pairs.sort_values(["days"], kind="stable").drop_duplicates(["employee_id", "competency"])
    pairs["diff"] = pairs["score_self"] - pairs["score_manager"]
    out = pairs.groupby("competency")["diff"].agg(
        n="size", mean_difference="mean", share_self_higher=lambda d: float((d > 0).mean()),
        share_self_lower=lambda d: float((d < 0).mean()), share_equal=lambda d: float((d == 0).mean()),
    ).reset_index()
    return out[cols]


def current_levels(dataset: Dataset, *, source_weights: Mapping[str, float] | None = None, as_of: str | pd.Timestamp | None = None,
                   window_days: int = DEFAULT_WINDOW_DAYS, calibration: pd.DataFrame | None = None,
                   min_pairs: int = 5) -> pd.DataFrame:
    """Current level per employee × assessed competency, sources combined by weight.

    The current round of a person's competency is every assessment within ``window_days``
    before their latest one; within it each source's latest score counts, and the level is the
    weighted mean ``Σ w_s score_s / Σ w_s``.

    Parameters
    ----------
    dataset : Dataset
        With ``assessments``.
    source_weights : mapping, optional
        Source -> weight; default :data:`DEFAULT_SOURCE_WEIGHTS`. Rows without a source are
        ``unspecified`` (default weight: the manager's).
    as_of : date, optional
        Ignore assessments after it; default the data's last date.
    window_days : int
        Width of the current round.
    calibration : DataFrame, optional
        Output of :func:`source_calibration`; when given, each non-test score is first moved
        by its source's offset in that competency (or the source's ``all`` offset where the
        competency has fewer than ``min_pairs`` pairs; no move where the source has fewer).
    min_pairs : int
        Fewest test pairs an offset must rest on to be used.

    Returns
    -------
    DataFrame
        employee_id, competency, current_level, assessed_on (latest), sources (e.g.
        ``"manager+test"``), n_scores.
    """
    weights = _source_weights(source_weights)
    ass = _assessments(dataset, _as_of(dataset, as_of))
    unknown = sorted(set(ass["source"]) - set(weights))
    if unknown:
        raise ValueError(f"source_weights has no weight for source(s) {unknown}; give one for every source in assessments")
    if calibration is not None and len(calibration):
        cal = calibration[calibration["n_pairs"] >= min_pairs]
        by_comp = cal.set_index(["source", "competency"])["offset"]
        overall = cal[cal["competency"] == "all"].set_index("source")["offset"]
        key = pd.MultiIndex.from_arrays([ass["source"], ass["competency"]])
        off = pd.Series(by_comp.reindex(key).to_numpy(), index=ass.index)
        off = off.fillna(ass["source"].map(overall)).fillna(0.0)
        ass["score"] = ass["score"] - off.where(ass["source"] != "test", 0.0)
    latest = ass.groupby(["employee_id", "competency"])["assessed_on"].transform("max")
    cur = ass[ass["assessed_on"] > latest - pd.Timedelta(days=window_days)]
    cur = cur.sort_values("assessed_on", kind="stable").drop_duplicates(["employee_id", "competency", "source"], keep="last")
    cur = cur.assign(w=cur["source"].map(weights).astype(float))
    cur = cur.assign(ws=cur["w"] * cur["score"])
    g = cur.groupby(["employee_id", "competency"], sort=True)
    out = pd.DataFrame({
        "wsum": g["w"].sum(), "wscore": g["ws"].sum(), "plain": g["score"].mean(), "assessed_on": g["assessed_on"].max(),
        "sources": g["source"].agg(lambda s: "+".join(sorted(s))), "n_scores": g.size(),
    }).reset_index()
    # all-zero weights (e.g. only a zero-weight source assessed it): the plain mean, said in `sources`
    out["current_level"] = np.where(out["wsum"] > 0, out["wscore"] / out["wsum"].where(out["wsum"] > 0, 1.0), out["plain"])
    return out[["employee_id", "competency", "current_level", "assessed_on", "sources", "n_scores"]]


@dataclass
class GapResults:
    """Competency gaps of a dataset (from :func:`competency_gaps`).

    Attributes
    ----------
    by_employee : DataFrame
        One row per employee × required competency: employee_id, role, department, region,
        competency, required_level, weight (normalized within the role), current_level, gap,
        status (gap / met / unknown), assessed_on, sources. Person-level: never published.
    employee_index : DataFrame
        One row per employee: employee_id, role, department, region, tenure_years,
        weighted_gap_index (Σ weight × gap over the role's competencies; missing when any is
        unknown), n_required, n_unknown.
    not_required : DataFrame
        Assessed competencies the person's role does not require, kept and marked
        ``not required``: employee_id, role, competency, current_level, status.
    calibration : DataFrame
        :func:`source_calibration` (property, computed on first use).
    self_vs_manager : DataFrame
        :func:`self_vs_manager` (property, computed on first use).
    source_weights : dict
        The weights used.
    calibrated : bool
        Whether levels were calibrated against the test.
    as_of : Timestamp
        Assessments after it are ignored; people who left on or before it are out.
    scale : (float, float)
        The proficiency scale.
    warnings : list of str
        Plain-words findings (roles without requirements, competencies nobody requires).
    uncovered : DataFrame
        Roles with employees but no requirements: role, n (people left out).
    """

    by_employee: pd.DataFrame
    employee_index: pd.DataFrame
    not_required: pd.DataFrame
    source_weights: dict[str, float]
    calibrated: bool
    as_of: pd.Timestamp
    scale: tuple[float, float]
    warnings: list[str] = field(default_factory=list)
    uncovered: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["role", "n"]))
    dataset: Dataset | None = field(default=None, repr=False)
    _calibration: pd.DataFrame | None = field(default=None, repr=False)
    _self_vs_manager: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def calibration(self) -> pd.DataFrame:
        """:func:`source_calibration` of the dataset (computed on first use)."""
        if self._calibration is None:
            self._calibration = source_calibration(self.dataset, as_of=self.as_of) if self.dataset is not None else pd.DataFrame()
        return self._calibration

    @property
    def self_vs_manager(self) -> pd.DataFrame:
        """:func:`self_vs_manager` of the dataset (computed on first use)."""
        if self._self_vs_manager is None:
            self._self_vs_manager = self_vs_manager(self.dataset, as_of=self.as_of) if self.dataset is not None else pd.DataFrame()
        return self._self_vs_manager

    def by_group(self, level: str | Sequence[str] = "role") -> pd.DataFrame:
        """Gaps per group and competency.

        Parameters
        ----------
        level : str or list of str
            ``role``, ``department``, ``region`` (or several, e.g. ``["department", "role"]``).

        Returns
        -------
        DataFrame
            The group columns, competency, n (people whose role requires it), n_assessed,
            mean_gap and median_gap (of the assessed), share_below_required (of the assessed),
            share_unknown (of n), mean_level.
        """
        keys = [level] if isinstance(level, str) else list(level)
        bad = [k for k in keys if k not in GROUP_LEVELS]
        if bad:
            raise ValueError(f"by_group: level must be among {GROUP_LEVELS}, got {bad}")
        df = self.by_employee
        known = df["status"] != "unknown"
        g = df.assign(known=known, below=(df["status"] == "gap"), gap_k=df["gap"].where(known)).groupby([*keys, "competency"], sort=True)
        out = pd.DataFrame({
            "n": g.size(), "n_assessed": g["known"].sum().astype("int64"), "mean_gap": g["gap_k"].mean(), "median_gap": g["gap_k"].median(),
            "share_below_required": g["below"].sum() / g["known"].sum().where(g["known"].sum() > 0),
            "share_unknown": 1 - g["known"].mean(), "mean_level": g["current_level"].mean(),
        }).reset_index()
        return out

    def index_by_group(self, level: str | Sequence[str] = "department") -> pd.DataFrame:
        """Distribution of the weighted gap index per group: n, n_complete, mean, median, p10, p25, p75, p90."""
        keys = [level] if isinstance(level, str) else list(level)
        g = self.employee_index.groupby(keys, sort=True)["weighted_gap_index"]
        out = pd.DataFrame({
            "n": g.size(), "n_complete": g.count(), "mean": g.mean(), "median": g.median(),
            "p10": g.quantile(0.1), "p25": g.quantile(0.25), "p75": g.quantile(0.75), "p90": g.quantile(0.9),
        }).reset_index()
        return out

    @property
    def summary(self) -> pd.DataFrame:
        """Role × competency overview: required level, weight, n, share below required, share unknown, mean gap."""
        req = self.by_employee.drop_duplicates(["role", "competency"])[["role", "competency", "required_level", "weight"]]
        out = req.merge(self.by_group("role"), on=["role", "competency"])
        return out[["role", "competency", "required_level", "weight", "n", "n_assessed", "share_below_required", "share_unknown",
                    "mean_gap", "median_gap"]].sort_values(["role", "share_below_required"], ascending=[True, False], kind="stable").reset_index(drop=True)

    def largest_gaps(self, k: int = 3, *, min_group_size: int = 5) -> pd.DataFrame:
        """The ``k`` role × competency cells with the largest share below required (groups of at least ``min_group_size``)."""
        s = self.summary
        s = s[s["n_assessed"] >= min_group_size]
        return s.sort_values(["share_below_required", "mean_gap"], ascending=False, kind="stable").head(k).reset_index(drop=True)


def _active(emp: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    exit_ = emp["exit_date"] if "exit_date" in emp.columns else pd.Series(pd.NaT, index=emp.index)
    return (emp["hire_date"] <= as_of) & (exit_.isna() | (exit_ > as_of))


def competency_gaps(dataset: Dataset, *, source_weights: Mapping[str, float] | None = None, as_of: str | pd.Timestamp | None = None,
                    calibrate: bool = False, scale: tuple[float, float] = DEFAULT_SCALE, window_days: int = DEFAULT_WINDOW_DAYS,
                    include_leavers: bool = False, min_pairs: int = 5) -> GapResults:
    """Current competency levels and gaps against the role requirements.

    Parameters
    ----------
    dataset : Dataset
        Needs ``assessments`` and ``role_requirements`` (else :class:`GapsUnavailable`).
    source_weights : mapping, optional
        Weight per assessment source; default :data:`DEFAULT_SOURCE_WEIGHTS` (test 0.4,
        manager 0.3, 360 0.2, self 0.1).
    as_of : date, optional
        Assessments after it are ignored and people who left by then are out; default the
        data's last date (the last assessment or the end of the last KPI month).
    calibrate : bool
        Move each non-test score by its source's offset against the test first
        (:func:`source_calibration`).
    scale : (float, float)
        The declared proficiency scale; scores or required levels outside it are an error.
    window_days : int
        Width of the current assessment round (:func:`current_levels`).
    include_leavers : bool
        Keep people who left before ``as_of`` (the driver analysis uses their KPI history).
    min_pairs : int
        With ``calibrate``: fewest test pairs an offset must rest on to be used.

    Returns
    -------
    GapResults

    Raises
    ------
    GapsUnavailable
        ``assessments`` or ``role_requirements`` is absent.
    DataValidationError
        A score or required level outside ``scale`` (naming the rows).

    Notes
    -----
    gap = max(0, required_level − current_level); a required competency with no assessment is
    ``unknown`` (gap missing), never a zero gap. The weighted gap index Σ_c w_c gap_c uses the
    role's weights normalized to sum to 1 and is missing for anyone with an unknown competency.
    A role with employees but no requirements is a warning (it names the role and how many
    people it leaves out), not an error: the rest of the analysis stays valid.
    """
    require_tables(dataset)
    _check_scale(dataset, scale)
    when = _as_of(dataset, as_of)
    emp = dataset.tables["employees"].drop(columns="_line", errors="ignore")
    emp = emp if include_leavers else emp[_active(emp, when)]
    emp = emp[emp["hire_date"] <= when]
    req = dataset.tables["role_requirements"].drop(columns="_line", errors="ignore").copy()
    tot = req.groupby("role")["weight"].transform("sum")
    req["weight"] = np.where(tot > 0, req["weight"] / tot.where(tot > 0, 1.0), 1.0 / req.groupby("role")["weight"].transform("size"))
    calibration = source_calibration(dataset, as_of=when) if calibrate else None
    levels = current_levels(dataset, source_weights=source_weights, as_of=when, window_days=window_days,
                            calibration=calibration, min_pairs=min_pairs)
    warnings: list[str] = []
    people = emp[["employee_id", "role", "department", "region", "hire_date"]]
    counts = people.groupby("role").size()
    no_req = sorted(set(counts.index) - set(req["role"]))
    uncovered = pd.DataFrame({"role": no_req, "n": [int(counts[r]) for r in no_req]}, columns=["role", "n"])
    for r in no_req:
        warnings.append(f"role {r!r} has {int(counts[r])} employee(s) but no requirements in role_requirements; they are left out of the gap analysis")
    rows = people.merge(req, on="role", how="inner", validate="many_to_many")
    rows = rows.merge(levels, on=["employee_id", "competency"], how="left", validate="one_to_one")
    known = rows["current_level"].notna()
    rows["gap"] = (rows["required_level"] - rows["current_level"]).clip(lower=0.0).where(known)
    rows["status"] = np.where(~known, "unknown", np.where(rows["gap"] > 0, "gap", "met"))
    by_employee = rows[["employee_id", "role", "department", "region", "competency", "required_level", "weight", "current_level", "gap",
                        "status", "assessed_on", "sources"]].sort_values(["employee_id", "competency"], kind="stable").reset_index(drop=True)
    # not required: assessed competencies outside the person's role requirements (kept, marked)
    mine = levels.merge(people[["employee_id", "role"]], on="employee_id", how="inner")
    extra = mine.merge(req[["role", "competency"]], on=["role", "competency"], how="left", indicator=True)
    extra = extra[extra["_merge"] == "left_only"].drop(columns="_merge")
    not_required = extra.assign(status="not required")[["employee_id", "role", "competency", "current_level", "status"]]
    not_required = not_required.sort_values(["employee_id", "competency"], kind="stable").reset_index(drop=True)
    nobody = sorted(set(levels["competency"]) - set(req["competency"]))
    if nobody:
        warnings.append(f"competenc{'ies' if len(nobody) > 1 else 'y'} {', '.join(map(repr, nobody))} assessed but required by no role; "
                        "kept and listed as 'not required'")
    wg = by_employee.assign(wgap=by_employee["weight"] * by_employee["gap"], unk=by_employee["status"] == "unknown")
    g = wg.groupby("employee_id", sort=True)
    idx = pd.DataFrame({"weighted_gap_index": g["wgap"].sum(min_count=1), "n_required": g.size(), "n_unknown": g["unk"].sum().astype("int64")})
    idx.loc[idx["n_unknown"] > 0, "weighted_gap_index"] = np.nan
    emp_index = people.merge(idx.reset_index(), on="employee_id", how="inner")
    emp_index["tenure_years"] = (when - emp_index["hire_date"]).dt.days / 365.25
    emp_index = emp_index[["employee_id", "role", "department", "region", "tenure_years", "weighted_gap_index", "n_required", "n_unknown"]]
    return GapResults(
        by_employee=by_employee, employee_index=emp_index.sort_values("employee_id", kind="stable").reset_index(drop=True),
        not_required=not_required, source_weights=_source_weights(source_weights), calibrated=calibrate, as_of=when, scale=scale,
        warnings=warnings, uncovered=uncovered, dataset=dataset, _calibration=calibration,
    )
