"""Diagnostics of a staggered difference-in-differences estimate, in words.

Each check returns a small results object with the numbers and a ``verdict``
sentence a reviewer can read without statistics training:

* :func:`pretrend_test` — joint Wald test that all pre-treatment event-study
  coefficients are zero.
* :func:`detect_pre_training_dip` — the dip of people sent to training after a
  bad month (Ashenfelter's dip), which biases a comparison anchored on the month
  just before training; recommends the ``anticipation`` that moves the
  comparison month before the dip.
* :func:`placebo_fake_dates` — re-estimates with training dates moved into the
  past, on pre-training data only; a real effect there means the design is
  picking up something other than training.
* :func:`twfe_weight_check` — Goodman-Bacon decomposition and de Chaisemartin &
  D'Haultfœuille negative weights of the two-way fixed-effects regression.
* :func:`honest_did_breakdown` — Rambachan & Roth relative-magnitude
  sensitivity and its breakdown value.
* :func:`overlap_check` — control-group size and propensity-score overlap.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.did import (
    PreparedPanel,
    StaggeredDiDResults,
    fit_callaway_santanna,
)
from analysis.report import fmt_estimate

__all__ = [
    "DipCheck",
    "HonestDiDCheck",
    "OverlapCheck",
    "PlaceboCheck",
    "PretrendTest",
    "TWFEWeightCheck",
    "detect_pre_training_dip",
    "honest_did_breakdown",
    "overlap_check",
    "placebo_fake_dates",
    "pretrend_test",
    "twfe_weight_check",
]


def _fmt(x: float, digits: int = 3) -> str:
    """``digits`` significant digits, but whole numbers from 10**digits on (7,530, not 7.53e+03)."""
    if x is None or not np.isfinite(x):
        return "n/a"
    if abs(x) >= 10**digits:
        return f"{x:,.0f}"
    return f"{x:,.{digits}g}"


# --------------------------------------------------------------------------- #
# Joint pre-trend test
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class PretrendTest:
    """Joint Wald test of the pre-treatment event-study coefficients.

    Attributes
    ----------
    statistic : float
        Wald chi-square statistic.
    df : int
        Number of pre-treatment coefficients tested.
    pvalue : float
        Chi-square p-value.
    event_times : tuple of int
        Event times tested.
    covariance : str
        Which covariance was used (event-study covariance or diagonal fallback).
    verdict : str
        The result in words.
    """

    statistic: float
    df: int
    pvalue: float
    event_times: tuple[int, ...]
    covariance: str
    verdict: str

    @property
    def passed(self) -> bool:
        """True when the test does not reject parallel pre-trends at 5%."""
        return not (np.isfinite(self.pvalue) and self.pvalue < 0.05)


def pretrend_test(res: StaggeredDiDResults, *, exclude: Sequence[int] = ()) -> PretrendTest:
    """Joint test that every pre-treatment event-study coefficient is zero.

    Parameters
    ----------
    res : StaggeredDiDResults
        A fitted staggered DiD.
    exclude : sequence of int
        Event times left out of the test (e.g. a documented pre-training dip).

    Returns
    -------
    PretrendTest

    Notes
    -----
    Pre-treatment coefficients are those with event time below
    ``-anticipation``. The covariance is ``diff_diff``'s event-study covariance
    (influence-function based, or from the bootstrap draws when bootstrapped);
    when it is unavailable the test falls back to a diagonal covariance and says so.
    """
    es = res.event_study_raw
    et = np.asarray(es.event_time).astype(int)
    att = np.asarray(es.att, dtype=float)
    se = np.asarray(es.se, dtype=float)
    pre = (et < -res.anticipation) & np.isfinite(att) & np.isfinite(se) & (se > 0)
    pre &= ~np.isin(et, list(exclude))
    times = tuple(int(v) for v in et[pre])
    if not times:
        return PretrendTest(np.nan, 0, np.nan, (), "none", "No pre-training months to test.")
    b = att[pre]
    cov_label = "event-study covariance"
    V = None
    if getattr(es, "vcov", None) is not None and getattr(es, "vcov_index", None) is not None:
        idx = [int(v) for v in np.asarray(es.vcov_index)]
        if all(t in idx for t in times):
            pos = [idx.index(t) for t in times]
            V = np.asarray(es.vcov)[np.ix_(pos, pos)]
    if V is None:
        V = np.diag(se[pre] ** 2)
        cov_label = "diagonal (covariance unavailable)"
    stat = float(b @ np.linalg.pinv(V) @ b)
    k = len(times)
    p = float(stats.chi2.sf(stat, k))
    if p < 0.05:
        verdict = (
            f"Trainees and the comparison group were already drifting apart before training "
            f"(joint test of {k} pre-training month{'s' if k != 1 else ''}, p = {p:.3f}); read the estimate with caution."
        )
    else:
        verdict = (
            f"Before training, trainees' KPI moved in step with the comparison group "
            f"(joint test of {k} pre-training month{'s' if k != 1 else ''}, p = {p:.2f})."
        )
    return PretrendTest(stat, k, p, times, cov_label, verdict)


# --------------------------------------------------------------------------- #
# Pre-training dip (mean reversion)
# --------------------------------------------------------------------------- #
#: An earlier month joins the slump only if its fall is significant and at least this share of the fall
#: into the month before training: see :func:`detect_pre_training_dip`.
MIN_EXTENSION_SHARE = 0.5


@dataclass(frozen=True)
class DipCheck:
    """Whether trainees had a temporary slump just before training.

    Attributes
    ----------
    detected : bool
        True when the month(s) right before training show a significant slump.
    months : int
        Length of the slump in months (the recommended ``anticipation``).
    profile : DataFrame
        Pre-training event-study rows examined.
    verdict : str
        Explanation in words.
    """

    detected: bool
    months: int
    profile: pd.DataFrame
    verdict: str

    @property
    def recommended_anticipation(self) -> int:
        """Anticipation that puts the comparison month before the slump."""
        return self.months


def detect_pre_training_dip(
    res: StaggeredDiDResults,
    *,
    higher_is_better: bool = True,
    max_months: int = 3,
    level: float = 0.95,
    min_extension_share: float = MIN_EXTENSION_SHARE,
) -> DipCheck:
    """Detect the slump of people sent to training after a bad month.

    Reads the pre-training event-study coefficients of an ``anticipation = 0``
    fit (each is the month-on-month change of trainees relative to the
    comparison group). A dip is declared when the change into the month before
    training (event time -1) goes significantly in the *bad* direction; it is
    extended backwards while each earlier month also falls significantly *and*
    by at least ``min_extension_share`` of the fall into the month before
    training.

    Parameters
    ----------
    res : StaggeredDiDResults
        Fit with ``anticipation = 0``.
    higher_is_better : bool
        Direction of a "bad" month for the KPI.
    max_months : int
        Longest slump considered.
    level : float
        Pointwise confidence level for "significant".
    min_extension_share : float
        How large an earlier month's fall must be, as a share of the fall into the
        month before training, to count as part of the slump (default one half).

    Returns
    -------
    DipCheck

    Notes
    -----
    Training that is triggered by a bad month selects people at a temporary
    low; their KPI would have recovered anyway (regression to the mean). A
    difference-in-differences anchored on that low month credits the recovery
    to training. Comparing with the month before the slump removes this bias
    (Ashenfelter 1978; Heckman & Smith 1999).

    The size condition on earlier months guards against a pre-test bias (Roth
    2022): a month moved into the slump *because* its change happened to be
    significantly bad becomes the comparison month, and every post-training cell
    inherits that bad draw. In the kit's Monte Carlo studies, whose simulated slump
    lasts one month, every extension to two months was such a draw, and the
    estimates that followed were off by 0.8-1.0 standard errors in the bad
    direction at 500-1,000 employees and by 2.5 at 100,000, where a change of 3% of
    the slump is already significant (``benchmarks/results/slump_extension.md``).

    References
    ----------
    Ashenfelter, O. (1978). Estimating the effect of training programs on
    earnings. *Review of Economics and Statistics* 60(1), 47–57.

    Roth, J. (2022). Pretest with caution: event-study estimates after testing
    for parallel trends. *American Economic Review: Insights* 4(3), 305–322.
    """
    dyn = res.aggregate("dynamic")
    pre = dyn[dyn["event_time"] < 0].set_index("event_time")
    z = float(stats.norm.ppf(0.5 + level / 2))
    sign = -1.0 if higher_is_better else 1.0
    months = 0
    small_earlier = False
    for k in range(1, max_months + 1):
        if -k not in pre.index:
            break
        row = pre.loc[-k]
        bad = sign * row["att"] > z * row["se"] if np.isfinite(row["se"]) else False
        if bad and k > 1 and sign * row["att"] < min_extension_share * sign * pre.loc[-1, "att"]:
            small_earlier = True  # significant, but too small beside the slump to be part of it
            break
        if not bad:
            break
        months = k
    shown = pre.reset_index()[["event_time", "att", "se"]]
    if months == 0:
        verdict = (
            "No slump before training: trainees' KPI did not fall relative to the comparison "
            "group in the month(s) before they were sent, so the month before training is a "
            "fair comparison point."
        )
        return DipCheck(False, 0, shown, verdict)
    r1 = pre.loc[-1]
    word = "fell" if higher_is_better else "rose (worsened)"
    verdict = (
        f"Trainees' KPI {word} by {_fmt(abs(r1['att']))} relative to the comparison group in the "
        f"month before training: people were sent to training after a bad month. Part of that "
        f"slump would have recovered without training (regression to the mean), so measuring "
        f"from the slump would overstate the effect. The estimate is therefore re-anchored on the "
        f"month before the slump ({months} month{'s' if months > 1 else ''} earlier, "
        f"anticipation = {months})."
    )
    if small_earlier:
        verdict += (
            f" The month before that also {word}, significantly but by less than "
            f"{min_extension_share:.0%} as much: too little to count as part of the slump."
        )
    return DipCheck(True, months, shown, verdict)


# --------------------------------------------------------------------------- #
# Placebo with fake training dates
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class PlaceboCheck:
    """Placebo estimate with training dates moved into the past.

    Attributes
    ----------
    shift : int
        Months the training dates were moved back.
    att, se : float
        Placebo overall ATT and standard error.
    ci : tuple of float
        95% confidence interval.
    n_treated : int
        Trainees in the placebo estimation.
    verdict : str
        The result in words.
    """

    shift: int
    att: float
    se: float
    ci: tuple[float, float]
    n_treated: int
    verdict: str

    @property
    def passed(self) -> bool:
        """True when the placebo interval covers zero."""
        return bool(self.ci[0] <= 0 <= self.ci[1]) if np.isfinite(self.att) else True


def placebo_fake_dates(
    prepared: PreparedPanel,
    *,
    shift: int = 3,
    anticipation: int = 0,
    control: str = "never",
    method: str = "dr",
    pscore_trim: float = 0.01,
) -> PlaceboCheck:
    """Placebo test: pretend training happened ``shift`` months earlier.

    Every trainee's cohort is moved back by ``shift`` periods and only the
    trainee's months before the real training (and before the anticipation
    window) are kept, so the real effect cannot enter. Never-trained employees
    keep all their months. A placebo "effect" distinguishable from zero means
    the comparison group is not a good stand-in for the trainees.

    Parameters
    ----------
    prepared : PreparedPanel
        The estimation panel of the main analysis.
    shift : int
        Months the fake training date precedes the real one (must exceed
        ``anticipation``).
    anticipation, control, method, pscore_trim
        As in the main estimate.

    Returns
    -------
    PlaceboCheck
    """
    if shift <= anticipation:
        raise ValueError("shift must exceed anticipation")
    f = prepared.frame
    g, t = prepared.cohort, prepared.time
    treated = f[g] > 0
    keep = ~treated | (f[t] < f[g] - anticipation)
    frame = f.loc[keep].copy()
    tr = frame[g] > 0
    frame.loc[tr, g] = frame.loc[tr, g] - shift
    # fake cohorts need a comparison month inside the panel
    first = frame[t].min()
    ok = ~tr | (frame[g] > first)
    frame = frame.loc[ok]
    ids = frame.loc[frame[g] > 0, prepared.unit].nunique()
    if ids == 0:
        verdict = "Placebo not computable: no trainee has enough months before training."
        return PlaceboCheck(shift, np.nan, np.nan, (np.nan, np.nan), 0, verdict)
    placebo_prep = PreparedPanel(
        frame=frame,
        outcome=prepared.outcome,
        unit=prepared.unit,
        time=t,
        cohort=g,
        covariates=prepared.covariates,
        cluster=prepared.cluster,
    )
    try:
        res = fit_callaway_santanna(
            placebo_prep, control=control, method=method, pscore_trim=pscore_trim, cells="post"  # type: ignore[arg-type]
        )
        agg = res.aggregate("simple")
    except (ValueError, np.linalg.LinAlgError) as exc:
        verdict = f"Placebo not computable ({plain_numbers(str(exc))})."
        return PlaceboCheck(shift, np.nan, np.nan, (np.nan, np.nan), int(ids), verdict)
    lo, hi = agg.conf_int(0.95)
    if not (np.isfinite(agg.att) and np.isfinite(lo) and np.isfinite(hi)):
        verdict = (
            f"Placebo not computable: with training dates moved {shift} months earlier no pair of KPI months "
            "gives a comparison (a KPI measured less often than monthly has no month in between)."
        )
        return PlaceboCheck(shift, np.nan, np.nan, (np.nan, np.nan), int(ids), verdict)
    if lo <= 0 <= hi:
        verdict = (
            f"Placebo passed: pretending training happened {shift} months earlier shows no effect "
            f"({fmt_estimate(agg.att, agg.se)}, 95% CI {fmt_estimate(lo, agg.se)} to {fmt_estimate(hi, agg.se)})."
        )
    else:
        verdict = (
            f"Placebo failed: with training dates moved {shift} months earlier the method still finds "
            f"an 'effect' of {fmt_estimate(agg.att, agg.se)} (95% CI {fmt_estimate(lo, agg.se)} to "
            f"{fmt_estimate(hi, agg.se)}) where there can be none; "
            "trainees and the comparison group differ in ways the controls do not capture."
        )
    return PlaceboCheck(shift, agg.att, agg.se, (lo, hi), agg.n_treated, verdict)


# --------------------------------------------------------------------------- #
# TWFE weights (Goodman-Bacon, de Chaisemartin & D'Haultfoeuille)
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class TWFEWeightCheck:
    """How the two-way fixed-effects estimate weights its comparisons.

    Attributes
    ----------
    twfe_estimate : float
        TWFE coefficient on the balanced subsample used by the decomposition.
    weight_later_vs_earlier : float
        Share of the TWFE weight on "forbidden" comparisons that use already
        trained employees as controls (Goodman-Bacon).
    fraction_negative : float
        Share of treated (employee, month) cells with a negative TWFE weight
        (de Chaisemartin & D'Haultfœuille).
    n_balanced_units : int
        Units in the balanced subsample the Bacon decomposition uses.
    comparisons : DataFrame
        Weight and estimate by comparison type.
    verdict : str
        The warning in words.
    """

    twfe_estimate: float
    weight_later_vs_earlier: float
    fraction_negative: float
    n_balanced_units: int
    comparisons: pd.DataFrame
    verdict: str


def _negative_weight_share(f: pd.DataFrame, u: str, t: str, g: str) -> float:
    """Share of treated (unit, period) cells with a negative TWFE weight.

    For a binary treatment the weight of treated cell (i, t) in the TWFE
    coefficient is proportional to the residual of the treatment dummy after
    unit and period fixed effects (de Chaisemartin & D'Haultfœuille 2020,
    Theorem 1); the residual comes from ``linearmodels.PanelOLS``. Equivalent to
    ``diff_diff.twowayfeweights(...).fraction_negative`` at a fraction of its
    run time on employee-level panels.
    """
    from linearmodels import PanelOLS

    d = ((f[g] > 0) & (f[t] >= f[g])).astype(float)
    if d.sum() == 0:
        return np.nan
    data = pd.DataFrame({"d": d.to_numpy(), "one": 1.0}, index=pd.MultiIndex.from_arrays([f[u], f[t]]))
    res = PanelOLS(data["d"], data[["one"]], entity_effects=True, time_effects=True).fit()
    eps = np.asarray(res.resids)
    treated = data["d"].to_numpy() > 0
    return float(np.mean(eps[treated] < 0))


def twfe_weight_check(prepared: PreparedPanel) -> TWFEWeightCheck:
    """Goodman-Bacon decomposition and negative-weight share of TWFE.

    Parameters
    ----------
    prepared : PreparedPanel
        Estimation panel.

    Returns
    -------
    TWFEWeightCheck

    Notes
    -----
    The Bacon decomposition needs a balanced panel, so it runs on the units
    observed in every period; the negative-weight share (de Chaisemartin &
    D'Haultfœuille 2020, Theorem 1) uses the full panel.

    References
    ----------
    Goodman-Bacon, A. (2021). *Journal of Econometrics* 225(2), 254–277.
    de Chaisemartin, C. & D'Haultfœuille, X. (2020). Two-way fixed effects
    estimators with heterogeneous treatment effects. *AER* 110(9), 2964–2996.
    """
    from diff_diff import BaconDecomposition

    f = prepared.frame
    u, t, g, y = prepared.unit, prepared.time, prepared.cohort, prepared.outcome
    n_periods = f[t].nunique()
    counts = f.groupby(u, sort=False)[t].transform("size")
    bal = f.loc[counts == n_periods, [u, t, y, g]]
    n_bal = int(bal[u].nunique())
    comparisons = pd.DataFrame(columns=["comparison", "weight", "estimate"])
    twfe = w_forbidden = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if n_bal > 0 and (bal[g] > 0).any() and bal[g].nunique() > 1:
            try:
                bd = BaconDecomposition().fit(bal, outcome=y, unit=u, time=t, first_treat=g)
                twfe = float(bd.twfe_estimate)
                w = bd.weight_by_type()
                e = bd.effect_by_type()
                labels = {
                    "treated_vs_never": "trained vs never trained",
                    "earlier_vs_later": "earlier vs later trained (not yet trained as controls)",
                    "later_vs_earlier": "later vs earlier trained (already trained as controls)",
                }
                comparisons = pd.DataFrame(
                    [{"comparison": labels[k], "weight": w[k], "estimate": e[k]} for k in labels]
                )
                w_forbidden = float(w["later_vs_earlier"])
            except (ValueError, np.linalg.LinAlgError):
                pass
        frac_neg = _negative_weight_share(f, u, t, g)
    staggered = (f.loc[f[g] > 0, g].nunique()) > 1
    if not staggered:
        verdict = "Training started in a single month, so TWFE makes no forbidden comparisons."
    else:
        parts = []
        if np.isfinite(w_forbidden):
            parts.append(
                f"{w_forbidden:.0%} of its weight compares later trainees with employees who were "
                "already trained"
            )
        if np.isfinite(frac_neg):
            parts.append(f"{frac_neg:.0%} of trained employee-months get a negative weight")
        detail = "; ".join(parts) if parts else "its weights could not be computed"
        verdict = (
            "Training starts are staggered, so the classic two-way fixed-effects regression is not "
            f"a clean average of training effects: {detail}. When effects grow or fade over time "
            "this biases TWFE; the kit's estimate (Callaway–Sant'Anna) avoids these comparisons."
        )
    return TWFEWeightCheck(twfe, w_forbidden, frac_neg, n_bal, comparisons, verdict)


# --------------------------------------------------------------------------- #
# HonestDiD
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class HonestDiDCheck:
    """Rambachan & Roth relative-magnitude sensitivity.

    Attributes
    ----------
    breakdown_m : float or None
        Smallest M at which the robust interval includes zero (``None`` = the
        effect stays significant over the whole grid; NaN = not computable).
    sensitivity : DataFrame
        M, lower, upper robust confidence bounds.
    verdict : str
        The breakdown value in words.
    """

    breakdown_m: float | None
    sensitivity: pd.DataFrame
    verdict: str


def plain_numbers(text: str) -> str:
    """``text`` with every number in scientific notation written out (``5.249e+06`` -> ``5,249,000``).

    Engine messages quoted on a report page follow the kit's number formats.
    """
    import re

    def fmt(m: re.Match[str]) -> str:
        x = float(m.group())
        if abs(x) >= 1:
            return f"{x:,.0f}"
        return f"{x:.8f}".rstrip("0").rstrip(".")

    return re.sub(r"[-+]?\d+(?:\.\d+)?[eE][-+]?\d+", fmt, text)


def honest_did_breakdown(
    res: StaggeredDiDResults,
    *,
    m_grid: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0),
    alpha: float = 0.05,
    horizon: int = 6,
) -> HonestDiDCheck:
    """Relative-magnitude sensitivity of the average post-training effect.

    Parameters
    ----------
    res : StaggeredDiDResults
        Fitted staggered DiD (its event study is used).
    m_grid : sequence of float
        Values of M for the sensitivity table.
    alpha : float
        1 - confidence level of the robust intervals.
    horizon : int
        The target is the average effect over the first ``horizon`` months
        after training (month 0 to ``horizon - 1``).

    Returns
    -------
    HonestDiDCheck

    Notes
    -----
    The event study is re-estimated with a common ("universal") comparison
    month, as Rambachan & Roth's restrictions assume; the target is the equal-
    weight average of the first ``horizon`` post-training months (the
    anticipation window excluded). Relative-magnitude bounds accumulate with
    every further month, so a long horizon makes any effect look fragile; the
    first half year is where the evidence is densest.
    Under the relative-magnitude restriction, post-training violations of
    parallel trends are at most M times the largest month-to-month violation
    seen before training. The breakdown value is the largest such M at which
    the robust interval still excludes zero.

    References
    ----------
    Rambachan, A. & Roth, J. (2023). A more credible approach to parallel
    trends. *Review of Economic Studies* 90(5), 2555–2591.
    """
    from diff_diff import HonestDiD

    empty = pd.DataFrame(columns=["M", "ci_low", "ci_high"])
    src = res
    if res.base_period != "universal":
        if res.prepared is None:
            return HonestDiDCheck(np.nan, empty, "HonestDiD sensitivity needs the estimation panel.")
        src = fit_callaway_santanna(
            res.prepared,
            control=res.control,  # type: ignore[arg-type]
            method=res.method,  # type: ignore[arg-type]
            anticipation=res.anticipation,
            base_period="universal",
            pscore_trim=res.pscore_trim,
        )
    es = src.event_study_raw
    et = np.asarray(es.event_time).astype(int)
    se = np.asarray(es.se, dtype=float)
    keep = ~np.asarray(es.is_reference, dtype=bool) & np.isfinite(se) & (se > 0)
    post = sorted(int(e) for e in et[keep] if e >= -res.anticipation)
    l_vec = np.array([1.0 if 0 <= e < horizon else 0.0 for e in post])
    if l_vec.sum() == 0:
        return HonestDiDCheck(np.nan, empty, "HonestDiD sensitivity not computable: no post-training month.")
    l_vec /= l_vec.sum()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            honest = HonestDiD(method="relative_magnitude", alpha=alpha, l_vec=l_vec)
            sens = honest.sensitivity_analysis(es, M_grid=list(m_grid))
            breakdown = honest.breakdown_value(es)
    except (ValueError, np.linalg.LinAlgError, KeyError, IndexError) as exc:
        if "singular" in str(exc):
            return HonestDiDCheck(np.nan, empty, "HonestDiD sensitivity not computable: the event study's covariance is "
                                  "singular or nearly so (some months are estimated from very few employees), so "
                                  "Rambachan-Roth bounds cannot be formed.")
        return HonestDiDCheck(np.nan, empty, f"HonestDiD sensitivity not computable ({plain_numbers(str(exc))}).")
    table = pd.DataFrame(
        {
            "M": np.asarray(sens.M_values, dtype=float),
            "ci_low": [c[0] for c in sens.robust_cis],
            "ci_high": [c[1] for c in sens.robust_cis],
        }
    )
    est = float(sens.original_estimate)
    direction = "positive" if est > 0 else "negative"
    n_months = int(min(horizon, sum(1 for e in post if e >= 0)))
    target = (
        "The effect in the month of training"
        if n_months == 1
        else f"The average effect over the first {n_months} months after training"
    )
    if breakdown is None:
        verdict = (
            f"{target} stays {direction} even if violations of parallel trends after "
            f"training were 10 times the largest pre-training deviation."
        )
    elif breakdown == 0:
        verdict = (
            f"{target} is not distinguishable from zero even if parallel trends hold exactly "
            "(M = 0), so there is no finding for violations to overturn."
        )
    else:
        verdict = (
            f"{target} stays {direction} unless violations of parallel trends after training "
            f"exceed {breakdown:.2g} times the largest pre-training deviation (breakdown value "
            f"M = {breakdown:.2g}; {'robust' if breakdown >= 1 else 'fragile'} by the usual M = 1 yardstick)."
        )
    return HonestDiDCheck(breakdown, table, verdict)


# --------------------------------------------------------------------------- #
# Overlap and control-group size
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class OverlapCheck:
    """Control-group size and propensity-score overlap.

    Attributes
    ----------
    n_treated, n_control : int
        Trainees and never-trained employees.
    pscore_ranges : DataFrame
        group, min, p05, median, p95, max of the estimated propensity score.
    share_treated_outside : float
        Share of trainees whose propensity score exceeds every control's.
    warnings : list of str
        Warnings in words (empty when all is well).
    """

    n_treated: int
    n_control: int
    pscore_ranges: pd.DataFrame
    share_treated_outside: float
    warnings: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """All warnings joined, or an all-clear sentence."""
        if not self.warnings:
            return (
                f"{self.n_control:,} never-trained employees serve as the comparison group for "
                f"{self.n_treated:,} trainees, and their profiles overlap."
            )
        return " ".join(self.warnings)


def overlap_check(
    prepared: PreparedPanel,
    *,
    min_controls: int = 50,
    min_cohort: int = 5,
    extreme: float = 0.99,
    n_used: tuple[int, int] | None = None,
) -> OverlapCheck:
    """Control-group size and propensity-score overlap of trainees vs never-trained.

    Parameters
    ----------
    prepared : PreparedPanel
        Estimation panel with covariates.
    min_controls : int
        Fewer never-trained employees than this triggers a warning.
    min_cohort : int
        Cohorts smaller than this trigger a warning.
    extreme : float
        Propensity scores above this (or below ``1 - extreme``) count as no overlap.
    n_used : (int, int), optional
        Trainees and comparison employees the estimate actually uses (its
        accounting); the counts the verdict states. Default: everyone in the panel.

    Returns
    -------
    OverlapCheck
    """
    f = prepared.frame
    u, g = prepared.unit, prepared.cohort
    units = f.drop_duplicates(u)
    treated = (units[g] > 0).to_numpy()
    n_t, n_c = int(treated.sum()), int((~treated).sum())
    warn: list[str] = []
    if n_c < min_controls:
        warn.append(
            f"Only {n_c} never-trained employees are left as a comparison group (fewer than "
            f"{min_controls}); estimates will be noisy."
        )
    sizes = units.loc[treated, g].value_counts()
    small = sizes[sizes < min_cohort]
    if len(small):
        warn.append(f"{len(small)} training month(s) have fewer than {min_cohort} trainees.")
    ranges = pd.DataFrame(columns=["group", "min", "p05", "median", "p95", "max"])
    outside = np.nan
    covs = prepared.covariates
    if covs and n_t > 1 and n_c > 1:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        X = StandardScaler().fit_transform(units[covs].to_numpy(float))
        model = LogisticRegression(C=1e4, max_iter=1000)
        model.fit(X, treated.astype(int))
        p = model.predict_proba(X)[:, 1]
        rows = []
        for name, mask in (("trainees", treated), ("never trained", ~treated)):
            q = np.quantile(p[mask], [0, 0.05, 0.5, 0.95, 1])
            rows.append(dict(zip(["group", "min", "p05", "median", "p95", "max"], [name, *q])))
        ranges = pd.DataFrame(rows)
        outside = float(np.mean(p[treated] > p[~treated].max()))
        n_extreme = int(np.sum((p > extreme) | (p < 1 - extreme)))
        if outside > 0.05:
            warn.append(
                f"{outside:.0%} of trainees have a profile (tenure, department, region, grade, prior "
                "KPI) that no never-trained employee shares: the comparison relies on extrapolation."
            )
        if n_extreme and n_extreme / len(p) > 0.05:
            warn.append(
                f"{n_extreme} employees have a propensity score beyond {extreme:g}: near-certain "
                "training or non-training, weights are trimmed."
            )
    if n_used is not None:
        n_t, n_c = int(n_used[0]), int(n_used[1])
    return OverlapCheck(n_t, n_c, ranges, outside, warn)


def joint_summary(checks: dict[str, Any]) -> pd.DataFrame:
    """Table check / verdict for a dict of diagnostic results."""
    rows = [{"check": k, "verdict": getattr(v, "verdict", str(v))} for k, v in checks.items()]
    return pd.DataFrame(rows)
