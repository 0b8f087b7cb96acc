"""Return on investment of each program, with its uncertainty (notebook 03).

Benefits come from the attribution notebook's measured *dynamic* profile (the effect at each
month since training), so an effect that fades counts as fading, and from its joint bootstrap
draws of every post-training month, so the ROI is a distribution: median, interval,
P(ROI > 0).

For a program with ``N`` people who started (intention to treat), KPI value ``v`` per unit and
direction ``s`` (+1 when higher is better, -1 otherwise), the benefit of one draw ``d`` of the
profile ``τ_d(e)`` is

    B_d = N · v · s · Σ_{e=0}^{benefit_months-1} τ_d(e)

and with the fully loaded cost ``C`` (:mod:`analysis.costs`): ROI % = (B − C) / C × 100,
benefit-cost ratio BCR = B / C, payback = the month in which cumulative benefits reach ``C``
(linear within the month; ``inf`` when they never do inside the benefit period).

Beyond the last event month the data measured, the default adds nothing (Phillips: no data,
no benefit); ``extrapolate="hold_last"`` carries the last measured effect forward,
``extrapolate="fade"`` lets it decline linearly to zero at the end of the benefit period. A KPI
without ``value_per_unit`` is an intangible: listed, never monetized, never ROI 0.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from analysis.costs import CostTable
from analysis.did import ResultSummary
from analysis.report import fmt_signed_pct, kpi_words
from analysis.validation import DataValidationError

__all__ = [
    "Extrapolate", "ROIReport", "ROIResult", "benefit_profile", "benefit_profiles", "bcr", "compute_roi", "load_true_roi", "payback_months", "program_roi",
    "roi_breakdown_m", "roi_pct",
]  # fmt: skip

Extrapolate = Literal["none", "hold_last", "fade"]
DEFAULT_BENEFIT_MONTHS = 12
STATUS_PAID = "paid back"
STATUS_LOSS = "did not pay back"
STATUS_UNSURE = "uncertain"
STATUS_NO_EFFECT = "no measurable effect"
STATUS_INTANGIBLE = "intangible"
STATUS_NOT_MEASURED = "not yet measured"
EXTRAPOLATION_WORDS = {
    "none": "nothing is counted beyond the last month the data measured (Phillips: no data, no benefit)",
    "hold_last": "beyond the last measured month the last measured effect is carried forward",
    "fade": "beyond the last measured month the effect declines linearly to zero at the end of the benefit period",
}


# --------------------------------------------------------------------------- #
# Formulas (each hand-checked in tests/test_roi.py)
# --------------------------------------------------------------------------- #
def roi_pct(benefit: Any, cost: Any) -> Any:
    """ROI % = (benefits − costs) / costs × 100 (Phillips)."""
    return (np.asarray(benefit, dtype=float) - cost) / cost * 100.0


def bcr(benefit: Any, cost: Any) -> Any:
    """Benefit-cost ratio = benefits / costs."""
    return np.asarray(benefit, dtype=float) / cost


def payback_months(monthly_benefit: np.ndarray, cost: float) -> np.ndarray:
    """Months until cumulative benefits first reach the cost.

    Parameters
    ----------
    monthly_benefit : ndarray
        Benefit of each month since training (last axis), one row per draw or a single profile.
    cost : float
        Fully loaded cost.

    Returns
    -------
    ndarray
        Fractional months (linear within the month that crosses; 0 for a zero cost); ``inf`` where the
        benefit period ends before the cost is recovered.
    """
    m = np.atleast_2d(np.asarray(monthly_benefit, dtype=float))
    cum = np.cumsum(m, axis=1)
    out = np.full(m.shape[0], np.inf)
    if cost <= 0:
        out[:] = 0.0
    else:
        reached = cum >= cost
        any_r = reached.any(axis=1)
        k = np.argmax(reached, axis=1)
        prev = np.where(k > 0, cum[np.arange(len(k)), np.maximum(k - 1, 0)], 0.0)
        month = m[np.arange(len(k)), k]
        frac = np.where(month > 0, (cost - prev) / np.where(month > 0, month, 1.0), 1.0)
        out = np.where(any_r, k + frac, np.inf)
    return out if np.ndim(monthly_benefit) > 1 else out[:1]


def benefit_profile(
    effect: pd.Series | Mapping[int, float], benefit_months: int, extrapolate: Extrapolate = "none"
) -> np.ndarray:
    """Per-trainee effect in each month 0 … benefit_months−1 after training, in KPI units.

    Parameters
    ----------
    effect : Series or mapping
        Measured effect by event month (index = months since training, >= 0).
    benefit_months : int
        Months a benefit is counted.
    extrapolate : {"none", "hold_last", "fade"}
        What counts beyond the last measured month (see module docstring). A month inside the
        measured range with no estimate counts 0.

    Returns
    -------
    ndarray of length ``benefit_months``.
    """
    s = pd.Series(effect, dtype=float)
    s = s[s.index >= 0]
    out = np.zeros(int(benefit_months))
    if s.empty:
        return out
    last = int(s.index.max())
    for e, v in s.items():
        if int(e) < benefit_months and np.isfinite(v):
            out[int(e)] = v
    if last + 1 < benefit_months and extrapolate != "none":
        tail = np.arange(last + 1, benefit_months)
        v_last = float(s.loc[last])
        if extrapolate == "hold_last":
            out[tail] = v_last
        elif extrapolate == "fade":
            out[tail] = v_last * (benefit_months - tail) / (benefit_months - last)
        else:
            raise ValueError(f"extrapolate must be 'none', 'hold_last' or 'fade', got {extrapolate!r}")
    return out


def benefit_profiles(effects: pd.DataFrame, benefit_months: int, extrapolate: Extrapolate = "none") -> np.ndarray:
    """:func:`benefit_profile` of every row of a table at once (one row per bootstrap draw).

    Parameters
    ----------
    effects : DataFrame
        One row per draw, one column per event month (>= 0, any order); NaN = not measured.
    benefit_months : int
        Months a benefit is counted.
    extrapolate : {"none", "hold_last", "fade"}
        As :func:`benefit_profile`.

    Returns
    -------
    ndarray of shape ``(len(effects), benefit_months)``
        Row ``i`` is ``benefit_profile(effects.iloc[i].dropna(), benefit_months, extrapolate)``,
        the same floats (values are placed, and the fade is the same product and quotient per
        element), without a Python loop over the draws.
    """
    if extrapolate not in ("none", "hold_last", "fade"):
        raise ValueError(f"extrapolate must be 'none', 'hold_last' or 'fade', got {extrapolate!r}")
    months = int(benefit_months)
    cols = np.asarray(effects.columns, dtype=int)
    keep = cols >= 0
    cols, vals = cols[keep], effects.to_numpy(dtype=float)[:, keep]
    order = np.argsort(cols, kind="stable")
    cols, vals = cols[order], vals[:, order]
    out = np.zeros((len(vals), months))
    inside = cols < months
    placed = vals[:, inside]
    out[:, cols[inside]] = np.where(np.isfinite(placed), placed, 0.0)
    measured = ~np.isnan(vals)
    has = measured.any(axis=1)
    if extrapolate == "none" or not has.any():
        return out
    # the last measured month of each row and its value (NaN-free rows only; an empty row stays zeros)
    last_pos = len(cols) - 1 - np.argmax(measured[:, ::-1], axis=1)
    last = np.where(has, cols[last_pos], months)
    v_last = vals[np.arange(len(vals)), last_pos]
    tail = np.arange(months)
    beyond = (tail[None, :] > last[:, None]) & has[:, None]
    if extrapolate == "hold_last":
        fill = np.broadcast_to(v_last[:, None], out.shape)
    else:  # fade: v_last * (benefit_months - month) / (benefit_months - last), element by element as benefit_profile
        with np.errstate(divide="ignore", invalid="ignore"):
            fill = v_last[:, None] * (months - tail)[None, :] / (months - last)[:, None]
    out[beyond] = fill[beyond]
    return out


# --------------------------------------------------------------------------- #
# Results
# --------------------------------------------------------------------------- #
@dataclass
class ROIResult:
    """ROI of one program as a distribution over the attribution bootstrap draws.

    Attributes
    ----------
    program_id, kpi : str
    cost : float
        Fully loaded cost.
    participants : int
        People who started (intention to treat).
    benefit : float
        Benefit of the point-estimate profile.
    roi_pct, bcr, payback_months : float
        Point estimates (from the point-estimate profile).
    draws : DataFrame
        One row per bootstrap draw: draw, benefit, roi_pct, bcr, payback_months.
    status : str
        paid back / did not pay back / uncertain / no measurable effect.
    level : float
        Default interval level (0.90).
    breakdown_m : float
        HonestDiD relative magnitude at which the ROI interval stops being above zero (NaN when
        the attribution did not compute it or the ROI is not above zero).
    monthly_benefit : ndarray
        Benefit of each month since training (point estimate, all participants).
    """

    program_id: str
    kpi: str
    cost: float
    participants: int
    benefit: float
    roi_pct: float
    bcr: float
    payback_months: float
    draws: pd.DataFrame
    status: str
    level: float = 0.90
    breakdown_m: float = np.nan
    monthly_benefit: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    effect_measurable: bool = True

    def _quantiles(self, col: str, level: float) -> tuple[float, float]:
        d = self.draws[col].to_numpy(float)
        d = d[~np.isnan(d)]
        if len(d) == 0:
            return (np.nan, np.nan)
        a = (1 - level) / 2
        method = "linear" if np.isfinite(d).all() else "inverted_cdf"  # no interpolation towards an infinite payback
        return float(np.quantile(d, a, method=method)), float(np.quantile(d, 1 - a, method=method))

    def interval(self, level: float | None = None) -> tuple[float, float]:
        """Percentile interval of ROI % over the draws (default :attr:`level`)."""
        return self._quantiles("roi_pct", self.level if level is None else level)

    def median(self, col: str = "roi_pct") -> float:
        """Median of a column of :attr:`draws` (``inf`` payback counts as longest)."""
        d = self.draws[col].to_numpy(float)
        return float(np.median(d)) if len(d) else np.nan

    @property
    def p_positive(self) -> float:
        """Share of draws with ROI > 0."""
        d = self.draws["roi_pct"].to_numpy(float)
        return float(np.mean(d > 0)) if len(d) else np.nan

    @property
    def params(self) -> pd.Series:
        """Point estimates: roi_pct, bcr, payback_months, benefit."""
        return pd.Series({"roi_pct": self.roi_pct, "bcr": self.bcr, "payback_months": self.payback_months, "benefit": self.benefit})

    @property
    def std_errors(self) -> pd.Series:
        """Bootstrap standard deviations of the same quantities."""
        d = self.draws.replace([np.inf, -np.inf], np.nan)
        return pd.Series({c: float(d[c].std(ddof=1)) if len(d) > 1 else np.nan for c in ("roi_pct", "bcr", "payback_months", "benefit")})

    def conf_int(self, level: float | None = None) -> pd.DataFrame:
        """Percentile intervals (lower, upper) of roi_pct, bcr, payback_months and benefit (default :attr:`level`)."""
        level = self.level if level is None else level
        rows = {c: self._quantiles(c, level) for c in ("roi_pct", "bcr", "payback_months", "benefit")}
        return pd.DataFrame(rows, index=["lower", "upper"]).T

    @property
    def summary(self) -> ResultSummary:
        """Point estimates, bootstrap SDs and intervals."""
        table = pd.concat([self.params.rename("estimate"), self.std_errors.rename("bootstrap sd"), self.conf_int(self.level)], axis=1)
        return ResultSummary(f"ROI of program {self.program_id} ({self.kpi})", [(None, table)], [self.sentence])

    @property
    def sentence(self) -> str:
        """The finding in words."""
        from analysis.report import fmt_money

        lo, hi = self.interval()
        cost = fmt_money(self.cost)
        if not self.effect_measurable:
            out = (f"{self.program_id}: no measurable effect on {kpi_words(self.kpi)} (the effect's 95% interval includes zero), "
                   f"so no benefit can be credited to it; it cost {cost} for {self.participants:,} participants.")  # fmt: skip
            if np.isfinite(lo) and np.isfinite(hi):
                where = ("includes -100%, the ROI of no effect" if lo <= -100 <= hi
                         else "lies below -100% (the measured months lean towards a harm the overall effect does not confirm)"
                         if hi < -100
                         else "lies above -100% (the measured months lean towards a gain the overall effect does not confirm)")  # fmt: skip
                out += f" Its {self.level:.0%} ROI interval in the table, {fmt_signed_pct(lo)} to {fmt_signed_pct(hi)}, {where}."
            return out
        core = (f"{self.program_id}: ROI {fmt_signed_pct(self.median())} ({self.level:.0%} interval {fmt_signed_pct(lo)} to {fmt_signed_pct(hi)}, "
                f"P(ROI > 0) = {self.p_positive:.0%}) on a fully loaded cost of {cost}")  # fmt: skip
        if self.status == STATUS_PAID:
            pb = self.median("payback_months")
            return core + (f"; it paid back, in about {pb:.1f} months." if np.isfinite(pb) else "; it paid back.")
        if self.status == STATUS_LOSS:
            return core + "; it did not pay back within the benefit period."
        return core + "; whether it paid back is not certain at this level of confidence."


def roi_breakdown_m(breakdown_m: float, att_bound: float, breakeven_att: float) -> float:
    """HonestDiD relative magnitude at which the ROI stops being above zero (linear interpolation).

    HonestDiD's relative-magnitude bounds widen linearly in M, so the bound of the effect that
    sits nearest zero falls from ``att_bound`` at M = 0 to zero at ``breakdown_m``. The ROI stops
    being above zero when that bound reaches the break-even effect ``breakeven_att`` (the effect,
    in the good direction, at which benefits equal costs): M = breakdown_m · (1 − breakeven / bound).

    Parameters
    ----------
    breakdown_m : float
        The attribution's breakdown M (interval first includes zero); NaN when not computed.
    att_bound : float
        The 95% bound of the overall effect nearest zero, signed so that good is positive.
    breakeven_att : float
        Break-even overall effect, signed the same way.

    Returns
    -------
    float
        M >= 0; 0 when the ROI is not robustly above zero even without violations; NaN when unknown.
    """
    if not (np.isfinite(breakdown_m) and np.isfinite(att_bound) and np.isfinite(breakeven_att)) or att_bound <= 0:
        return np.nan
    return float(max(0.0, breakdown_m * (1.0 - breakeven_att / att_bound)))


def program_roi(
    program_id: str,
    kpi: str,
    *,
    cost: float,
    participants: int,
    value_per_unit: float,
    higher_is_better: bool,
    profile: pd.Series,
    draws: pd.DataFrame | None,
    benefit_months: int = DEFAULT_BENEFIT_MONTHS,
    extrapolate: Extrapolate = "none",
    effect_measurable: bool = True,
    level: float = 0.90,
    honest_breakdown_m: float = np.nan,
    att_bound: float = np.nan,
    overall_att: float = np.nan,
) -> ROIResult:
    """ROI of one program from its measured dynamic profile and the profile's bootstrap draws.

    Parameters
    ----------
    program_id, kpi : str
    cost : float
        Fully loaded cost (> 0).
    participants : int
        People who started (intention to treat).
    value_per_unit : float
        Money value of one KPI unit.
    higher_is_better : bool
        Direction of the KPI (a fall of a lower-is-better KPI is a benefit).
    profile : Series
        Point estimate of the effect by event month (index = months since training).
    draws : DataFrame, optional
        ``draw, event_time, att``: joint bootstrap draws of the post-training profile.
    benefit_months : int
        Months counted (the program's ``benefit_months``, default 12).
    extrapolate : {"none", "hold_last", "fade"}
    effect_measurable : bool
        Whether the overall effect's 95% interval excludes zero.
    level : float
        Interval level of the status rule (default 90%).
    honest_breakdown_m, att_bound, overall_att : float
        For the sensitivity link (:func:`roi_breakdown_m`).

    Returns
    -------
    ROIResult

    Notes
    -----
    Phillips, J. J. (1997/2012) *Return on Investment in Training and Performance Improvement
    Programs*: ROI = net benefits / costs × 100; benefits isolated from other influences (here by
    the staggered difference-in-differences of notebook 02, Callaway & Sant'Anna 2021).
    """
    if not cost > 0:
        raise DataValidationError(f"costs: program {program_id} has a fully loaded cost of {cost!r}; ROI needs a cost > 0",
                                  table="costs", column="amount")  # fmt: skip
    sign = 1.0 if higher_is_better else -1.0
    scale = participants * value_per_unit * sign
    point = benefit_profile(profile, benefit_months, extrapolate) * scale
    benefit = float(point.sum())
    if draws is not None and len(draws):
        wide = draws[draws["event_time"] >= 0].pivot_table(index="draw", columns="event_time", values="att", aggfunc="first")
        last = int(pd.Series(profile).index.max()) if len(profile) else -1
        cols = range(0, max(last, int(wide.columns.max())) + 1)
        wide = wide.reindex(columns=cols)
        monthly = benefit_profiles(wide, benefit_months, extrapolate) * scale
        b = monthly.sum(axis=1)
        frame = pd.DataFrame({
            "draw": wide.index.to_numpy(), "benefit": b, "roi_pct": roi_pct(b, cost), "bcr": bcr(b, cost),
            "payback_months": payback_months(monthly, cost),
        })  # fmt: skip
    else:
        frame = pd.DataFrame(columns=["draw", "benefit", "roi_pct", "bcr", "payback_months"], dtype=float)
    result = ROIResult(
        program_id, kpi, float(cost), int(participants), benefit, float(roi_pct(benefit, cost)), float(bcr(benefit, cost)),
        float(payback_months(point, cost)[0]), frame, status="", level=level, monthly_benefit=point,
        effect_measurable=effect_measurable,
    )  # fmt: skip
    lo, hi = result.interval(level)
    if not effect_measurable:
        result.status = STATUS_NO_EFFECT
    elif lo > 0:
        result.status = STATUS_PAID
    elif hi < 0:
        result.status = STATUS_LOSS
    else:
        result.status = STATUS_UNSURE
    if benefit > 0 and np.isfinite(overall_att):
        breakeven = sign * overall_att * cost / benefit
        result.breakdown_m = roi_breakdown_m(honest_breakdown_m, att_bound, breakeven)
    return result


@dataclass
class ROIReport:
    """ROI of every program (what notebook 03 shows).

    Attributes
    ----------
    results : dict of str to ROIResult
        Programs with a money value and a measured effect.
    intangibles : DataFrame
        Programs whose KPI has no ``value_per_unit``: program_id, kpi, cost_total, participants, note.
    not_measured : dict of str to str
        Programs with costs but no effect estimate, with the reason.
    costs : CostTable
    benefit_months : dict of str to int
    extrapolate : str
    truth : dict of str to float
        True ROI % by program where the data set has ground truth.
    """

    results: dict[str, ROIResult]
    intangibles: pd.DataFrame
    not_measured: dict[str, str]
    costs: CostTable
    benefit_months: dict[str, int]
    extrapolate: str = "none"
    truth: dict[str, float] = field(default_factory=dict)
    level: float = 0.90

    @property
    def table(self) -> pd.DataFrame:
        """``roi_by_program``: the export of notebook 03 (see docs/interfaces)."""
        rows = []
        for pid, r in self.results.items():
            lo, hi = r.interval(self.level)
            pb = r.median("payback_months")
            rows.append({
                "program_id": pid, "participants": r.participants, "cost_total": r.cost, "benefit_median": r.median("benefit"),
                "roi_pct_median": r.median(), "roi_pct_low": lo, "roi_pct_high": hi, "bcr_median": r.median("bcr"),
                "payback_months_median": pb if np.isfinite(pb) else np.nan, "p_roi_positive": r.p_positive, "status": r.status,
                "roi_breakdown_m": r.breakdown_m,
            })  # fmt: skip
        for row in self.intangibles.itertuples(index=False):
            rows.append({"program_id": row.program_id, "participants": row.participants, "cost_total": row.cost_total,
                         "status": STATUS_INTANGIBLE})  # fmt: skip
        for pid, _why in self.not_measured.items():
            t = self.costs.table
            rows.append({"program_id": pid, "participants": int(t.loc[pid, "participants"]) if pid in t.index else np.nan,
                         "cost_total": float(t.loc[pid, "total"]) if pid in t.index else np.nan, "status": STATUS_NOT_MEASURED})  # fmt: skip
        cols = ["program_id", "participants", "cost_total", "benefit_median", "roi_pct_median", "roi_pct_low", "roi_pct_high",
                "bcr_median", "payback_months_median", "p_roi_positive", "status", "roi_breakdown_m"]  # fmt: skip
        out = pd.DataFrame(rows).reindex(columns=cols)
        if self.truth:
            out["true_roi_pct"] = out["program_id"].map(self.truth)
        return out

    @property
    def shown_columns(self) -> list[str]:
        """Columns of :attr:`table` the report shows: the true ROI only where the data set has ground truth.

        Real exports have none (only the sample generator writes ``ground_truth.json``), so a fixed
        list naming ``true_roi_pct`` would fail on every data set nobody here generated.
        """
        cols = ["program_id", "participants", "cost_total", "roi_pct_median", "roi_pct_low", "roi_pct_high", "p_roi_positive",
                "payback_months_median", "status", "roi_breakdown_m"]  # fmt: skip
        return cols + (["true_roi_pct"] if self.truth else [])

    @property
    def sentences(self) -> list[str]:
        """One finding per program, then the intangibles and the not-measured."""
        out = [r.sentence for r in self.results.values()]
        for row in self.intangibles.itertuples(index=False):
            out.append(f"{row.program_id}: {row.note}")
        for pid, why in self.not_measured.items():
            out.append(f"{pid}: ROI not yet measured — {why}")
        return out

    @property
    def assumptions(self) -> list[str]:
        """The rules the numbers follow, in words."""
        months = sorted(set(self.benefit_months.values()))
        return [
            *self.costs.notes,
            "Benefits count everyone who started a program (intention to treat), drop-outs included, at the measured "
            "effect of each month since training × the KPI's money value per unit"
            f", over {', '.join(map(str, months))} months after training; {EXTRAPOLATION_WORDS[self.extrapolate]}.",
            f"Intervals are {self.level:.0%} percentile intervals over the attribution's joint bootstrap draws of the "
            "whole post-training profile; P(ROI > 0) is the share of draws with a positive ROI.",
            "The sensitivity value M is the size of a parallel-trends violation (HonestDiD relative magnitudes, as a "
            "multiple of the largest pre-training deviation) at which the ROI would no longer be above zero, interpolated "
            "linearly between M = 0 and the attribution's breakdown value.",
        ]

    @property
    def figure_title(self) -> str:
        """A finding-style title for the ROI figure."""
        groups: dict[str, list[str]] = {}
        for pid, r in self.results.items():
            groups.setdefault(r.status, []).append(pid)
        words = {STATUS_PAID: "paid back", STATUS_LOSS: "did not pay back", STATUS_UNSURE: "may or may not have paid back",
                 STATUS_NO_EFFECT: "showed no measurable effect"}  # fmt: skip
        parts = [f"{' and '.join(ids)} {words[s]}" for s, ids in groups.items() if s in words]
        text = "; ".join(parts)
        return text[:1].upper() + text[1:] if parts else "No program's ROI could be measured"

    @property
    def truth_sentence(self) -> str | None:
        """On data with ground truth: whether each true ROI lies inside its interval."""
        t = self.table.dropna(subset=["true_roi_pct", "roi_pct_low"]) if "true_roi_pct" in self.table else pd.DataFrame()
        if t.empty:
            return None
        inside = t[(t["true_roi_pct"] >= t["roi_pct_low"]) & (t["true_roi_pct"] <= t["roi_pct_high"])]
        outside = t.drop(inside.index)
        text = f"On the sample data the true ROI (generator's truth, same rules) lies inside the reported {self.level:.0%} interval for "
        text += (", ".join(inside["program_id"]) if len(inside) else "no program")
        if len(outside):
            text += "; not for " + "; ".join(
                f"{r.program_id} (true {fmt_signed_pct(r.true_roi_pct)}, interval {fmt_signed_pct(r.roi_pct_low)} to {fmt_signed_pct(r.roi_pct_high)})"
                for r in outside.itertuples()
            )
            text += (". The interval carries the sampling uncertainty of notebook 02's estimate only; where that estimate sits above "
                     "the truth by chance in this sample, the ROI does too")  # fmt: skip
        return text + "."

    @property
    def summary(self) -> ResultSummary:
        """The roi_by_program table and the findings."""
        return ResultSummary("Return on investment by program", [(None, self.table.set_index("program_id"))], self.sentences)


def compute_roi(
    costs: CostTable,
    *,
    effects: pd.DataFrame | None,
    dynamic: pd.DataFrame | None,
    draws: pd.DataFrame | None,
    kpi_definitions: pd.DataFrame,
    programs: pd.DataFrame,
    extrapolate: Extrapolate = "none",
    level: float = 0.90,
    truth: Mapping[str, float] | None = None,
) -> ROIReport:
    """ROI of every program with costs, from notebook 02's exports.

    Parameters
    ----------
    costs : CostTable
        From :func:`analysis.costs.fully_loaded_cost`.
    effects : DataFrame or None
        ``att_by_program``: program_id, kpi, att, ci_low, ci_high (+ ``honest_breakdown_m`` when computed);
        None when the attribution's results are missing (every program is then "not yet measured").
    dynamic : DataFrame
        ``dynamic_profile``: program_id, kpi, event_time, att.
    draws : DataFrame, optional
        ``event_bootstrap_draws``: program_id, kpi, draw, event_time, att.
    kpi_definitions : DataFrame
        kpi, higher_is_better, value_per_unit (missing = intangible).
    programs : DataFrame
        program_id, kpi, benefit_months (default 12).
    extrapolate : {"none", "hold_last", "fade"}
    level : float
        Interval level (default 90%).
    truth : mapping, optional
        True ROI % by program (the sample's ground truth).

    Returns
    -------
    ROIReport
    """
    if extrapolate not in EXTRAPOLATION_WORDS:
        raise ValueError(f"extrapolate must be one of {sorted(EXTRAPOLATION_WORDS)}, got {extrapolate!r}")
    if effects is None or dynamic is None:
        effects = pd.DataFrame(columns=["program_id", "kpi", "att", "ci_low", "ci_high"])
        dynamic = pd.DataFrame(columns=["program_id", "kpi", "event_time", "att"])
    progs = programs.assign(program_id=programs["program_id"].astype(str)).set_index("program_id")
    kdef = kpi_definitions.assign(kpi=kpi_definitions["kpi"].astype(str)).set_index("kpi")
    eff = effects.assign(program_id=effects["program_id"].astype(str)).set_index("program_id")
    dyn = dynamic.assign(program_id=dynamic["program_id"].astype(str))
    drw = draws.assign(program_id=draws["program_id"].astype(str)) if draws is not None else None
    results: dict[str, ROIResult] = {}
    intangible_rows = []
    not_measured: dict[str, str] = {}
    months: dict[str, int] = {}
    for pid, crow in costs.table.iterrows():
        pid = str(pid)
        kpi = str(progs.loc[pid, "kpi"]) if pid in progs.index else None
        bm = progs.loc[pid, "benefit_months"] if pid in progs.index and "benefit_months" in progs.columns else np.nan
        months[pid] = int(bm) if pd.notna(bm) else DEFAULT_BENEFIT_MONTHS
        vpu = kdef.loc[kpi, "value_per_unit"] if kpi in kdef.index else np.nan
        if pd.isna(vpu):
            intangible_rows.append({
                "program_id": pid, "kpi": kpi, "cost_total": float(crow["total"]), "participants": int(crow["participants"]),
                "note": f"intangible benefit — KPI {kpi!r} has no money value per unit (value_per_unit), so its effect is "
                        "reported in KPI units, not as ROI; cost " + _money(crow["total"]),
            })  # fmt: skip
            continue
        if pid not in eff.index:
            not_measured[pid] = "notebook 02 (training attribution) has no effect estimate for it"
            continue
        e = eff.loc[pid]
        lo, hi = float(e.get("ci_low", np.nan)), float(e.get("ci_high", np.nan))
        measurable = bool(np.isfinite(lo) and np.isfinite(hi) and (lo > 0 or hi < 0))
        hib = bool(kdef.loc[kpi, "higher_is_better"])
        profile = dyn[(dyn["program_id"] == pid) & (dyn["event_time"] >= 0)].set_index("event_time")["att"].sort_index()
        pdraws = drw[drw["program_id"] == pid] if drw is not None else None
        results[pid] = program_roi(
            pid, kpi, cost=float(crow["total"]), participants=int(crow["participants"]), value_per_unit=float(vpu),
            higher_is_better=hib, profile=profile, draws=pdraws, benefit_months=months[pid], extrapolate=extrapolate,
            effect_measurable=measurable, level=level, honest_breakdown_m=float(e.get("honest_breakdown_m", np.nan)),
            att_bound=lo if hib else -hi, overall_att=float(e.get("att", np.nan)),
        )  # fmt: skip
    intangibles = pd.DataFrame(intangible_rows, columns=["program_id", "kpi", "cost_total", "participants", "note"])
    return ROIReport(results, intangibles, not_measured, costs, months, extrapolate, dict(truth or {}), level)


def load_true_roi(data_dir: str | Path) -> dict[str, float]:
    """True ROI % by program from ``ground_truth.json`` (the sample generator's ``roi`` section); empty when absent."""
    path = Path(data_dir) / "ground_truth.json"
    if not path.is_file():
        return {}
    programs = (json.loads(path.read_text(encoding="utf-8")).get("roi") or {}).get("programs") or {}
    return {str(p): float(v["true_roi_pct"]) for p, v in programs.items() if v.get("true_roi_pct") is not None}


def _money(value: float) -> str:
    from analysis.report import fmt_money

    return fmt_money(float(value))
