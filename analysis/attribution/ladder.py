"""The method ladder: naive comparisons up to the recommended estimate.

The naive rungs (trainees' raw before/after change, trainees vs never-trained
employees after training) and the controls fallback of the doubly robust rung.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from analysis.attribution.panel import _CONTROL_WORDS, EstimationPanel, estimate
from analysis.did import StaggeredDiDResults

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
    import statsmodels.api as sm

    first = long.loc[long["cohort"] > 0, "cohort"].min()
    rows = long[
        ((long["cohort"] > 0) & (long["period"] >= long["cohort"]))
        | ((long["cohort"] == 0) & (long["period"] >= first))
    ]
    d = (rows["cohort"] > 0).astype(float)
    groups = rows["employee_id"] if cluster is None else rows["employee_id"].map(cluster)
    X = sm.add_constant(d.to_numpy())
    fit = sm.OLS(rows["value"].to_numpy(float), X).fit(
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


