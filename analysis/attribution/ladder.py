"""The method ladder: naive comparisons up to the recommended estimate.

:func:`run_ladder` runs every rung on one estimation panel: the naive rungs
(trainees' raw before/after change, trainees vs never-trained employees after
training), two-way fixed effects and the textbook Callaway–Sant'Anna estimator on
every training month as it is, then the recommended estimate (controls, the
small-cohort rule when it applied, the comparison month before a pre-training
slump). Row labels name what actually ran.

The doubly robust guard (:func:`dr_se_ratio`, :data:`DR_UNSTABLE_SE_RATIO`): when the
controlled rungs run doubly robust and their standard error is many times the textbook
rung's, a propensity model separated trainees from comparison employees and its weights
exploded; with ``fallback_method`` the controlled rungs are refitted by that method.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from analysis.attribution.panel import PSCORE_TRIM, _CONTROL_WORDS, EstimationPanel, _control_words, estimate
from analysis.diagnostics import DipCheck, detect_pre_training_dip
from analysis.did import StaggeredDiDResults, fit_callaway_santanna, twfe_did

# --------------------------------------------------------------------------- #
# Naive rungs
# --------------------------------------------------------------------------- #
def _naive_before_after(long: pd.DataFrame) -> tuple[float, float, int]:
    tr = long[long["cohort"] > 0]
    post = tr["period"] >= tr["cohort"]
    m = tr.groupby(["employee_id", post.rename("post")])["value"].mean().unstack()
    if True not in m.columns or False not in m.columns:
        return np.nan, np.nan, 0
    d = (m[True] - m[False]).dropna()
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else np.nan, int(len(d))


def _naive_after(long: pd.DataFrame, cluster: pd.Series | None) -> tuple[float, float, int]:
    # not statsmodels.api, which costs each evaluation worker 0.3 s of imports beyond what linearmodels loads
    from statsmodels.regression.linear_model import OLS
    from statsmodels.tools.tools import add_constant

    first = long.loc[long["cohort"] > 0, "cohort"].min()
    rows = long[
        ((long["cohort"] > 0) & (long["period"] >= long["cohort"]))
        | ((long["cohort"] == 0) & (long["period"] >= first))
    ]
    d = (rows["cohort"] > 0).astype(float)
    groups = rows["employee_id"] if cluster is None else rows["employee_id"].map(cluster)
    X = add_constant(d.to_numpy())
    fit = OLS(rows["value"].to_numpy(float), X).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(groups)[0]}
    )
    return float(fit.params[1]), float(fit.bse[1]), int(rows.loc[d > 0, "employee_id"].nunique())



def _fit_controls_with_fallback(
    ep: EstimationPanel, *, control: str, method: str
) -> tuple[StaggeredDiDResults, str | None]:
    """Fit with all controls; if cells are too small, drop categorical then all controls.

    The covariate set that worked is written back to ``ep.prepared`` so every later
    fit of the evaluation uses it; the returned note says what was dropped.
    """
    covs = list(ep.prepared.covariates)
    continuous = [c for c in covs if "=" not in c]
    attempts = [covs] + ([continuous] if continuous != covs and continuous else []) + ([[]] if covs else [])
    if not covs:
        attempts = [[]]
    last_exc: Exception | None = None
    for cset in attempts:
        ep.prepared = replace(ep.prepared, covariates=cset)
        try:
            res = estimate(ep, controls=bool(cset), control=control, method=method)  # type: ignore[arg-type]
        except (ValueError, np.linalg.LinAlgError) as exc:
            last_exc = exc
            continue
        if cset == covs:
            return res, None
        dropped = sorted(
            _CONTROL_WORDS.get(c, c) for c in {c.split("=")[0] for c in covs} - {c.split("=")[0] for c in cset}
        )
        note = (
            f"Too few employees per training month to adjust for every control ({last_exc}); "
            f"the estimates leave out {', '.join(dropped)}."
        )
        ep.notes.append(note)
        return res, note
    assert last_exc is not None
    raise last_exc




# --------------------------------------------------------------------------- #
# The ladder
# --------------------------------------------------------------------------- #
#: Plain words of the covariate adjustment methods.
METHOD_WORDS = {"dr": "doubly robust", "ipw": "inverse probability weighted", "reg": "outcome regression"}

#: A doubly robust fit whose overall standard error exceeds this many times the textbook rung's
#: (no controls, every training month as it is) is unstable (:func:`dr_is_unstable`).
#:
#: On normal data controls and the comparison month move the standard error by a factor near 1.
#: The criterion (:func:`dr_se_ratio`, 99 bootstrap draws) was 0.98-1.13 on the bundled sample, and
#: 0.97-2.1 over 33 of the 34 programs that ``method="auto"`` fits doubly robust in the sample and
#: in 23 generated 1,000-employee companies (``SampleConfig(n_employees=1000, n_months=24)``, seeds
#: 6000-6019, 6071, 6083, 6192). The 34th (seed 6071 P01) exploded: 81,000; seed 6041 P01: 19,000.
#: In ``benchmarks/results/montecarlo_small_rule_1000.csv`` the doubly robust pooled estimate's
#: standard error was at most 4.2 times outcome regression's in 596 of 600 program fits (99th
#: percentile 2.0) and 4,300-46,000 times in the other four (seeds 6041 and 6071 P01, 6083 P02,
#: 6192 P03): a propensity model fitted on a training month of about a dozen trainees separated
#: them from the comparison employees. 10 lies between the two, with a factor of about 5 to spare
#: on the normal side and of 400 on the other.
DR_UNSTABLE_SE_RATIO = 10.0


def dr_se_ratio(dr_ses: Sequence[float], textbook_se: float) -> float:
    """The largest standard error of the doubly robust rungs over the textbook rung's.

    Parameters
    ----------
    dr_ses : sequence of float
        Overall standard errors of the doubly robust fits (the recommended one and the one
        anchored on the month before training).
    textbook_se : float
        Overall standard error of the textbook rung (no controls, every training month as it is).

    Returns
    -------
    float
        The ratio; ``inf`` when a doubly robust standard error is infinite, NaN when any
        standard error is NaN or the textbook one is not positive (nothing to judge by).
    """
    ses = np.asarray(list(dr_ses), dtype=float)
    tb = float(textbook_se)
    if not len(ses) or np.isnan(ses).any() or not np.isfinite(tb) or tb <= 0:
        return float("nan")
    return float(ses.max() / tb)


def dr_is_unstable(ratio: float, threshold: float = DR_UNSTABLE_SE_RATIO) -> bool:
    """Whether a doubly robust fit with standard error ratio ``ratio`` (:func:`dr_se_ratio`) is unstable.

    Parameters
    ----------
    ratio : float
        From :func:`dr_se_ratio`.
    threshold : float
        :data:`DR_UNSTABLE_SE_RATIO` by default.

    Returns
    -------
    bool
        ``ratio > threshold``; False for NaN (no verdict without a textbook standard error).
    """
    return bool(ratio > threshold)


@dataclass
class Ladder:
    """The method ladder and the fits behind its Callaway–Sant'Anna rungs.

    Attributes
    ----------
    table : DataFrame
        rung, estimate, se, ci_low, ci_high, trainees, what it compares,
        recommended, true_att, bias, covers_truth. Row labels name what ran.
    textbook : StaggeredDiDResults
        Callaway–Sant'Anna without controls on every training month as it is,
        comparison month = the month before training (equals
        ``diff_diff.CallawaySantAnna`` / R ``did`` on the same panel).
    controls_fit : StaggeredDiDResults
        The recommended panel and controls, comparison month = the month before
        training.
    recommended : StaggeredDiDResults
        The recommended fit (bootstrapped when ``n_boot > 0``).
    dip : DipCheck
        The pre-training slump test, read on ``textbook`` (see :func:`run_ladder`).
    anticipation : int
        Months of anticipation of the recommended fit.
    anticipation_auto : bool
        Whether the anticipation was decided from the slump test.
    fallback_note : str or None
        What the controls fallback dropped, if anything.
    method : str
        Covariate adjustment of ``controls_fit`` and ``recommended`` (``"reg"`` after the
        doubly robust guard fell back; the ``method`` asked for otherwise).
    dr_se_ratio : float
        :func:`dr_se_ratio` of the doubly robust fits (NaN when none ran, or without controls).
    dr_fallback : bool
        Whether the doubly robust fits were unstable and refitted by ``fallback_method``.
    dr_recommended : StaggeredDiDResults or None
        The unstable doubly robust recommended fit the fallback replaced.
    """

    table: pd.DataFrame
    textbook: StaggeredDiDResults
    controls_fit: StaggeredDiDResults
    recommended: StaggeredDiDResults
    dip: DipCheck
    anticipation: int
    anticipation_auto: bool
    fallback_note: str | None
    method: str = "dr"
    dr_se_ratio: float = float("nan")
    dr_fallback: bool = False
    dr_recommended: StaggeredDiDResults | None = None


def recommended_label(ep: EstimationPanel, method: str, anticipation: int, fell_back: bool = False) -> str:
    """Ladder label of the recommended fit, naming what actually ran."""
    covs = ep.prepared.covariates
    what = (
        f"{METHOD_WORDS.get(method, method)} with {', '.join(_control_words(covs))}"
        if covs
        else "no controls (the controls could not be estimated)" if fell_back
        else "no controls (no control varies in these data)"
    )
    label = f"Callaway-Sant'Anna, {what}"
    if ep.pooled:
        label += ", small training months pooled"
    if anticipation:
        label += f", comparison month {anticipation + 1} months before training"
    return label


def run_ladder(
    ep: EstimationPanel,
    *,
    control: str,
    method: str,
    anticipation: int | str,
    n_boot: int,
    seed: int | None,
    higher_is_better: bool,
    truth: dict[str, Any] | None,
    fallback_method: str | None = None,
) -> Ladder:
    """Run every rung of the method ladder on one estimation panel.

    Parameters
    ----------
    ep : EstimationPanel
        From :func:`~analysis.attribution.panel.build_estimation_panel`; the
        controls fallback writes the covariates that worked back into it.
    control, method : str
        Comparison group and covariate adjustment of the recommended estimate.
    anticipation : int or "auto"
        ``"auto"``: the months of the pre-training slump the slump test finds
        (0 when it finds none).
    n_boot, seed
        Multiplier bootstrap of the recommended fit.
    higher_is_better : bool
        Direction of the KPI (for the slump test).
    truth : dict, optional
        Ground truth (sample data) for the bias columns.
    fallback_method : str, optional
        When ``method`` is ``"dr"`` and its fits are unstable (:func:`dr_is_unstable`), the
        controlled rungs are refitted with this covariate adjustment (same controls, same
        comparison month); ``None`` keeps the doubly robust fits (``Ladder.dr_se_ratio`` still
        says they are unstable).

    Returns
    -------
    Ladder

    Notes
    -----
    The guard compares the doubly robust rungs' standard errors with the textbook rung's,
    which the ladder fits anyway: a propensity model that separates the trainees of a
    training month from the comparison employees gives weights, and standard errors,
    thousands of times larger (:data:`DR_UNSTABLE_SE_RATIO`). The comparison month is decided
    on the textbook fit, so the fallback does not move it.
    """
    rows: list[dict[str, Any]] = []

    def rung(name: str, est: float, se: float, lo: float | None = None, hi: float | None = None,
             n: int | None = None, what: str = "") -> None:
        if lo is None or hi is None:
            lo, hi = est - 1.959964 * se, est + 1.959964 * se
        rows.append({"rung": name, "estimate": est, "se": se, "ci_low": lo, "ci_high": hi,
                     "trainees": n, "what it compares": what})

    asis = ep.prepared_asis
    frame = asis.frame
    cl_series = None
    if asis.cluster:
        cl_series = frame.drop_duplicates(asis.unit).set_index(asis.unit)[asis.cluster]
    b, s, n = _naive_before_after(frame)
    rung("Naive before/after (trainees)", b, s, n=n, what="trainees' KPI after vs before training")
    a, s, n = _naive_after(frame, cl_series)
    rung("Naive trained vs untrained (after)", a, s, n=n,
         what="trainees after training vs never-trained employees, same months")
    tw = twfe_did(frame, "value", "employee_id", "period", "cohort", cluster=asis.cluster or "unit")
    ci = tw.conf_int(0.95).loc["treated"]
    rung("Two-way fixed effects", float(tw.params["treated"]), float(tw.std_errors["treated"]),
         float(ci["lower"]), float(ci["upper"]), n=int(frame.loc[frame["cohort"] > 0, "employee_id"].nunique()),
         what="employee and month fixed effects, one post-training dummy")

    textbook = fit_callaway_santanna(replace(asis, covariates=[]), control=control, method=method,  # type: ignore[arg-type]
                                     pscore_trim=PSCORE_TRIM)
    agg = textbook.aggregate("simple")
    lo, hi = agg.conf_int()
    rung("Callaway-Sant'Anna, no controls, every training month as it is", agg.att, agg.se, lo, hi, agg.n_treated,
         "each training month vs never-trained employees, month before training as baseline (the textbook estimator)")

    cs0, fallback_note = _fit_controls_with_fallback(ep, control=control, method=method)
    if ep.prepared_asis is not ep.prepared:
        ep.prepared_asis = replace(ep.prepared_asis, covariates=list(ep.prepared.covariates))
    has_controls = bool(ep.prepared.covariates)
    # the slump is a one-month fall of the trainees' own KPI: the textbook fit shows it with the most power, while
    # controls add noise to it and, on training months of a few trainees, can make that month's estimate explode
    # (two training months of 25-45 trainees at 500 employees: missed in 14% of simulated data sets with controls)
    dip = detect_pre_training_dip(textbook, higher_is_better=higher_is_better)
    auto = anticipation == "auto"
    k = int(dip.recommended_anticipation) if auto else int(anticipation)  # type: ignore[arg-type]
    rec = estimate(ep, controls=has_controls, anticipation=k, control=control, method=method,  # type: ignore[arg-type]
                   n_boot=n_boot, seed=seed)
    ratio, fell_back, dr_rec = float("nan"), False, None
    if method == "dr" and has_controls:
        ratio = dr_se_ratio([cs0.aggregate("simple").se, rec.aggregate("simple").se], textbook.aggregate("simple").se)
        if fallback_method is not None and fallback_method != method and dr_is_unstable(ratio):
            try:
                cs0_fb = estimate(ep, controls=True, control=control, method=fallback_method)  # type: ignore[arg-type]
                rec_fb = estimate(ep, controls=True, anticipation=k, control=control,
                                  method=fallback_method, n_boot=n_boot, seed=seed)  # type: ignore[arg-type]
            except (ValueError, np.linalg.LinAlgError):
                pass  # the doubly robust fits stay, flagged by the ratio
            else:
                dr_rec, cs0, rec, method, fell_back = rec, cs0_fb, rec_fb, fallback_method, True
    adjusted = (f"as above, adjusting for {', '.join(_control_words(ep.prepared.covariates))}"
                if has_controls else "as above; no control could be estimated")
    if k:
        agg0 = cs0.aggregate("simple")
        lo, hi = agg0.conf_int()
        rung(recommended_label(ep, method, 0, fallback_note is not None), agg0.att, agg0.se, lo, hi, agg0.n_treated, adjusted)
        adjusted = f"as above, comparing with the KPI {k + 1} months before training (before the pre-training slump)"
    overall = rec.aggregate("simple")
    lo, hi = overall.conf_int()
    rung(recommended_label(ep, method, k, fallback_note is not None), overall.att, overall.se, lo, hi, overall.n_treated, adjusted)

    lad = pd.DataFrame(rows)
    lad["recommended"] = False
    lad.loc[lad.index[-1], "recommended"] = True
    true_att = (truth or {}).get("overall_att")
    lad["true_att"] = true_att if true_att is not None else np.nan
    lad["bias"] = lad["estimate"] - lad["true_att"]
    lad["covers_truth"] = (lad["ci_low"] <= lad["true_att"]) & (lad["true_att"] <= lad["ci_high"])
    if true_att is None:
        lad["covers_truth"] = pd.NA
    return Ladder(lad, textbook, cs0, rec, dip, k, auto, fallback_note, method=method, dr_se_ratio=ratio,
                  dr_fallback=fell_back, dr_recommended=dr_rec)
