"""The results vocabulary of :class:`analysis.did.StaggeredDiDResults` on R ``did``'s mpdta.

Every check compares with an independent computation: the engine's own
bootstrap standard errors and sup-t critical value, the cohort-size weights of
the overall ATT (hand-computed from the cohort sizes), or R ``did``'s published
numbers (see ``tests/test_did_reference.py`` for their source).
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from analysis.did import staggered_did

from tests.conftest import MPDTA, NEEDS_MPDTA

pytestmark = NEEDS_MPDTA


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(MPDTA)


@pytest.fixture(scope="module")
def boot(mpdta):
    return staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat", n_boot=499, seed=11)


@pytest.fixture(scope="module")
def boot_antic(mpdta):
    return staggered_did(
        mpdta, "lemp", "countyreal", "year", "first.treat", anticipation=1, n_boot=499, seed=11
    )


@pytest.mark.parametrize("which", ["boot", "boot_antic"])
def test_event_study_draws_are_the_draws_behind_the_band(which, request):
    res = request.getfixturevalue(which)
    draws = res.event_study_draws()
    dyn = res.aggregate("dynamic").set_index("event_time")
    assert draws.shape == (499, len(dyn))
    assert list(draws.columns) == list(dyn.index)
    # their standard deviation is the engine's bootstrap SE at every event time ...
    np.testing.assert_allclose(draws.std(ddof=1).to_numpy(), dyn["se"].to_numpy(), rtol=1e-9)
    # ... and their sup-t statistic reproduces the uniform band's critical value
    sup_t = ((draws - dyn["att"]).abs() / dyn["se"]).max(axis=1)
    crit = float(np.quantile(sup_t, 0.95))
    np.testing.assert_allclose((dyn["ci_high"] - dyn["att"]) / dyn["se"], crit, rtol=1e-9)


def test_event_study_draws_share_the_overall_atts_multiplier_weights(boot, mpdta):
    # The overall ATT is the cohort-size-weighted mean of the post cells, i.e. a weighted
    # mean of the post event-time effects with weights = cohort mass present at each e.
    draws = boot.event_study_draws(post_only=True)
    sizes = mpdta.drop_duplicates("countyreal")["first.treat"].value_counts()
    cells = boot.att_gt[boot.att_gt["event_time"] >= 0]
    w = cells.assign(n=cells["cohort"].map(sizes)).groupby("event_time")["n"].sum()
    w = w / w.sum()
    assert float((boot.aggregate("dynamic").set_index("event_time")["att"][w.index] * w).sum()) == (
        pytest.approx(boot.att, abs=1e-12)
    )
    combo = (draws[w.index] * w.to_numpy()).sum(axis=1).to_numpy()
    # same weights -> near-perfect correlation (not exactly 1: the overall ATT's influence
    # function also carries the estimated-weights term); independent weights would give ~0
    assert np.corrcoef(combo, boot.bootstrap_draws)[0, 1] > 0.95
    assert list(draws.columns) == [0, 1, 2, 3]


def test_event_study_draws_none_when_analytic(mpdta):
    res = staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat")
    assert res.event_study_draws() is None


# --------------------------------------------------------------------------- #
# tstats, pvalues, cov, nobs, conf_int
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def clustered(mpdta):
    m = mpdta.assign(cl=mpdta["countyreal"] // 7)  # 396 clusters of 1-2 counties (ids are FIPS-like codes)
    return staggered_did(m, "lemp", "countyreal", "year", "first.treat", cluster="cl")


@pytest.fixture(scope="module")
def analytic(mpdta):
    return staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat")


@pytest.mark.parametrize("which", ["analytic", "clustered", "boot"])
def test_cov_reproduces_the_engines_cohort_standard_errors(which, request):
    # diag = se^2, and the off-diagonal terms are right: the SE of a cohort's mean over its
    # post months (fixed weights) from cov equals diff_diff's own group aggregation.
    res = request.getfixturevalue(which)
    cov = res.cov
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), res.std_errors.to_numpy(), rtol=1e-9)
    groups = res.aggregate("group").set_index("cohort")["se"]
    for g in res.cohorts:
        idx = [(c, t) for c, t in cov.index if c == g and t >= c]
        w = np.full(len(idx), 1 / len(idx))
        assert float(np.sqrt(w @ cov.loc[idx, idx].to_numpy() @ w)) == pytest.approx(groups[g], rel=1e-9)
    assert (np.linalg.eigvalsh(cov.to_numpy()) > -1e-12).all()


def test_tstats_pvalues_nobs(analytic, clustered, mpdta):
    from scipy import stats

    assert analytic.nobs == 2500  # 500 counties x 5 years, balanced
    t = analytic.params / analytic.std_errors
    np.testing.assert_allclose(analytic.tstats, t)
    np.testing.assert_allclose(analytic.pvalues, 2 * stats.norm.sf(np.abs(t)), rtol=1e-9)
    # clustered: t reference with clusters - 1 degrees of freedom, as diff_diff / R did
    tc = clustered.tstats
    n_clusters = (mpdta["countyreal"] // 7).nunique()
    assert n_clusters == 396
    np.testing.assert_allclose(clustered.pvalues, 2 * stats.t.sf(np.abs(tc), n_clusters - 1), rtol=1e-9)
    assert list(analytic.pvalues.index) == list(analytic.params.index)


def test_conf_int_is_the_bootstrap_interval_when_bootstrapped(boot):
    ci = boot.conf_int()
    engine = boot.att_gt.set_index(["cohort", "time"])[["ci_low", "ci_high"]]
    np.testing.assert_allclose(ci.to_numpy(), engine.to_numpy(), rtol=1e-12)
    # percentile interval, not att +- z se: asymmetric around the estimate in general
    sym = (boot.params - boot.std_errors * 1.959964, boot.params + boot.std_errors * 1.959964)
    assert np.abs(ci["lower"] - sym[0]).max() > 1e-4
    narrower = boot.conf_int(0.80)
    assert ((narrower["upper"] - narrower["lower"]) < (ci["upper"] - ci["lower"])).all()


def test_analytic_intervals_equal_the_engines(clustered):
    engine = clustered.att_gt.set_index(["cohort", "time"])[["ci_low", "ci_high"]]
    np.testing.assert_allclose(clustered.conf_int().to_numpy(), engine.to_numpy(), rtol=1e-12)
    lo, hi = clustered.aggregate("simple").conf_int()
    assert (lo, hi) == pytest.approx(tuple(clustered.raw.overall_conf_int), rel=1e-12)
    assert clustered.aggregate("simple").pvalue == pytest.approx(clustered.raw.overall_p_value, rel=1e-9)


def test_default_level_follows_alpha(mpdta):
    res = staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat", alpha=0.10)
    overall = res.aggregate("simple")
    assert overall.conf_int() == pytest.approx(overall.conf_int(0.90))
    lo90, hi90 = overall.conf_int()
    lo95, hi95 = overall.conf_int(0.95)
    assert lo95 < lo90 < hi90 < hi95
    assert (hi90 - lo90) / (hi95 - lo95) == pytest.approx(1.644854 / 1.959964, rel=1e-5)
    np.testing.assert_allclose(res.conf_int().to_numpy(), res.conf_int(0.90).to_numpy())
    tidy = overall.tidy()
    assert (tidy["ci_low"].iloc[0], tidy["ci_high"].iloc[0]) == pytest.approx((lo90, hi90))


# ---- cells="post": a fit read only through its overall ATT estimates only the cells it averages ---------------------
@pytest.mark.parametrize(("method", "anticipation", "cluster"), [("dr", 0, None), ("reg", 1, "state"), ("ipw", 1, None)])
def test_a_post_cells_fit_gives_the_overall_att_of_the_full_fit_bit_for_bit(mpdta, method, anticipation, cluster) -> None:
    from analysis.did import fit_callaway_santanna, prepare_did_panel

    df = mpdta.assign(state=mpdta["countyreal"] // 1000)
    prep = prepare_did_panel(df, "lemp", "countyreal", "year", "first.treat", covariates=["lpop"], cluster=cluster)
    full = fit_callaway_santanna(prep, method=method, anticipation=anticipation)
    post = fit_callaway_santanna(prep, method=method, anticipation=anticipation, cells="post")
    # only the cells t >= g - anticipation were estimated, and each is the full fit's number
    assert all(t >= g - anticipation for g, t in post.raw.group_time_effects)
    pre = [gt for gt in full.raw.group_time_effects if gt[1] < gt[0] - anticipation]
    assert len(pre) >= 3 and not set(pre) & set(post.raw.group_time_effects)
    for gt, cell in post.raw.group_time_effects.items():
        assert (cell["effect"], cell["se"]) == (full.raw.group_time_effects[gt]["effect"], full.raw.group_time_effects[gt]["se"])
    a, b = full.aggregate("simple"), post.aggregate("simple")
    assert (a.att, a.se, a.n_treated, a.n_control) == (b.att, b.se, b.n_treated, b.n_control)
    with pytest.raises(ValueError, match="post-treatment cells"):
        post.aggregate("dynamic")


def test_cells_must_be_all_or_post(mpdta) -> None:
    from analysis.did import fit_callaway_santanna, prepare_did_panel

    prep = prepare_did_panel(mpdta, "lemp", "countyreal", "year", "first.treat")
    with pytest.raises(ValueError, match="cells must be 'all' or 'post'"):
        fit_callaway_santanna(prep, cells="pre")  # type: ignore[arg-type]
