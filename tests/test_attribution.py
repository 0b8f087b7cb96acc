"""Tests of the attribution engines, diagnostics and evaluate_program.

References used here:
* generated panels with a known effect (the truth is computed from the generating
  process, so estimates are held to it within their own stated uncertainty);
* ``diff_diff`` itself where the kit re-derives a number (TWFE negative-weight share
  vs ``diff_diff.twowayfeweights``; static TWFE vs ``BaconDecomposition``'s TWFE);
* the sample data's ``ground_truth.json`` for ``evaluate_program``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.attribution import staggered_did, twfe_event_study
from analysis.data import DataValidationError
from analysis.did import prepare_did_panel, twfe_did
from analysis.diagnostics import (
    _negative_weight_share,
    detect_pre_training_dip,
    honest_did_breakdown,
    placebo_fake_dates,
    pretrend_test,
)

Z999 = float(stats.norm.ppf(0.9995))  # two-sided 99.9%: a fixed-seed check that fails 1 in 1000


# --------------------------------------------------------------------------- #
# A small staggered panel with known effects
# --------------------------------------------------------------------------- #
def make_panel(
    n: int = 400,
    periods: int = 10,
    cohorts: tuple[int, ...] = (4, 6, 8),
    share_never: float = 0.5,
    effect: float = 2.0,
    growth: float = 0.5,
    dip: float = 0.0,
    pretrend: float = 0.0,
    drop_share: float = 0.0,
    seed: int = 0,
) -> tuple[pd.DataFrame, float]:
    """Staggered panel; returns (panel, true overall ATT over observed post cells)."""
    rng = np.random.default_rng(seed)
    g = np.where(rng.random(n) < share_never, 0, rng.choice(cohorts, n))
    unit_fe = rng.normal(10, 2, n)
    time_fe = np.cumsum(rng.normal(0.3, 0.5, periods + 1))
    dept = rng.choice(["A", "B", "C"], n)
    uu, tt = np.meshgrid(np.arange(n), np.arange(1, periods + 1), indexing="ij")
    uu, tt = uu.ravel(), tt.ravel()
    gg = g[uu]
    e = np.where(gg > 0, tt - gg, -99)
    tau = np.where((gg > 0) & (e >= 0), effect + growth * e, 0.0)
    y = unit_fe[uu] + time_fe[tt] + tau + rng.normal(0, 1, uu.size)
    y -= np.where((gg > 0) & (e == -1), dip, 0.0)
    y += np.where(gg > 0, pretrend * tt, 0.0)
    df = pd.DataFrame({"unit": uu, "t": tt, "y": y, "g": gg, "dept": dept[uu], "tau": tau, "e": e})
    if drop_share:
        df = df[rng.random(len(df)) > drop_share]
    post = df[(df["g"] > 0) & (df["e"] >= 0)]
    # truth = CS simple aggregation of the true ATT(g,t): cell means weighted by cohort size
    cells = post.groupby(["g", "t"])["tau"].mean().reset_index()
    size = pd.Series(g[g > 0]).value_counts()
    w = cells["g"].map(size)
    truth = float((cells["tau"] * w).sum() / w.sum())
    return df.drop(columns=["tau", "e"]), truth


@pytest.fixture(scope="module")
def clean():
    return make_panel(seed=1)


@pytest.fixture(scope="module")
def clean_fit(clean):
    df, _ = clean
    return staggered_did(df, "y", "unit", "t", "g", covariates=["dept"])


# --------------------------------------------------------------------------- #
# Engines
# --------------------------------------------------------------------------- #
def test_recovers_known_effect_within_its_uncertainty(clean, clean_fit):
    _, truth = clean
    agg = clean_fit.aggregate("simple")
    assert abs(agg.att - truth) < Z999 * agg.se
    lo, hi = agg.conf_int(0.999)
    assert lo < truth < hi


def test_recovers_known_effect_on_unbalanced_panel():
    df, truth = make_panel(seed=2, drop_share=0.15)
    res = staggered_did(df, "y", "unit", "t", "g")
    agg = res.aggregate("simple")
    assert abs(agg.att - truth) < Z999 * agg.se
    assert any("nbalanced" in m for m in res.engine_messages)


def test_att_gt_table_shape_and_intervals(clean_fit):
    gt = clean_fit.att_gt
    assert list(gt.columns[:7]) == ["cohort", "time", "event_time", "att", "se", "ci_low", "ci_high"]
    assert set(gt["cohort"]) == {4, 6, 8}
    assert (gt["event_time"] == gt["time"] - gt["cohort"]).all()
    ok = gt["se"].notna()
    z95 = stats.norm.ppf(0.975)
    np.testing.assert_allclose(gt.loc[ok, "ci_low"], gt.loc[ok, "att"] - z95 * gt.loc[ok, "se"], rtol=1e-6)
    np.testing.assert_allclose(gt.loc[ok, "ci_high"], gt.loc[ok, "att"] + z95 * gt.loc[ok, "se"], rtol=1e-6)
    pd.testing.assert_series_equal(clean_fit.params, gt.set_index(["cohort", "time"])["att"])
    ci = clean_fit.conf_int(0.9)
    z90 = stats.norm.ppf(0.95)
    np.testing.assert_allclose(ci["lower"], clean_fit.params - z90 * clean_fit.std_errors, rtol=1e-12)
    np.testing.assert_allclose(ci["upper"], clean_fit.params + z90 * clean_fit.std_errors, rtol=1e-12)


def test_row_order_does_not_matter(clean, clean_fit):
    df, _ = clean
    shuffled = df.sample(frac=1.0, random_state=3)
    res = staggered_did(shuffled, "y", "unit", "t", "g", covariates=["dept"])
    np.testing.assert_allclose(res.att_gt["att"], clean_fit.att_gt["att"], rtol=1e-10, atol=1e-12)
    assert res.aggregate("simple").att == pytest.approx(clean_fit.aggregate("simple").att, rel=1e-12)


def test_nan_cohort_means_never_treated(clean, clean_fit):
    df, _ = clean
    nan_coded = df.assign(g=df["g"].where(df["g"] > 0, np.nan))
    res = staggered_did(nan_coded, "y", "unit", "t", "g", covariates=["dept"])
    assert res.aggregate("simple").att == pytest.approx(clean_fit.aggregate("simple").att, rel=1e-12)
    assert res.n_control_units == clean_fit.n_control_units


def test_scaling_outcome_scales_effect_and_se(clean, clean_fit):
    df, _ = clean
    res = staggered_did(df.assign(y=df["y"] * 7.0), "y", "unit", "t", "g", covariates=["dept"])
    a, b = res.aggregate("simple"), clean_fit.aggregate("simple")
    assert a.att == pytest.approx(7 * b.att, rel=1e-8)
    assert a.se == pytest.approx(7 * b.se, rel=1e-8)


def test_simple_is_cohort_size_weighted_mean_of_post_cells(clean, clean_fit):
    df, _ = clean
    sizes = df.drop_duplicates("unit")["g"].value_counts()
    gt = clean_fit.att_gt
    post = gt[gt["time"] >= gt["cohort"]]
    w = post["cohort"].map(sizes)
    assert clean_fit.aggregate("simple").att == pytest.approx(float((post["att"] * w).sum() / w.sum()), rel=1e-10)


def test_anticipation_overall_excludes_anticipation_window(clean):
    df, _ = clean
    res = staggered_did(df, "y", "unit", "t", "g", anticipation=1)
    sizes = df.drop_duplicates("unit")["g"].value_counts()
    gt = res.att_gt.dropna(subset=["att"])
    post = gt[gt["time"] >= gt["cohort"]]
    w = post["cohort"].map(sizes)
    expected = float((post["att"] * w).sum() / w.sum())
    assert res.aggregate("simple").att == pytest.approx(expected, rel=1e-10)
    # diff_diff's own overall also averages the anticipation cell t = g - 1
    assert abs(res.raw.overall_att - expected) > 1e-6
    assert res.aggregate("simple").se > 0


def test_anticipation_bootstrap_draws_centre_on_estimate(clean):
    df, _ = clean
    res = staggered_did(df, "y", "unit", "t", "g", anticipation=1, n_boot=299, seed=5)
    agg = res.aggregate("simple")
    assert agg.draws.shape == (299,)
    assert np.mean(agg.draws) == pytest.approx(agg.att, abs=0.5 * agg.se)
    assert np.std(agg.draws, ddof=1) == pytest.approx(agg.se, rel=1e-6)


def test_calendar_and_group_aggregations(clean, clean_fit):
    df, _ = clean
    sizes = df.drop_duplicates("unit")["g"].value_counts()
    cal = clean_fit.aggregate("calendar")
    gt = clean_fit.att_gt
    for _, row in cal.iterrows():
        cells = gt[(gt["time"] == row["time"]) & (gt["time"] >= gt["cohort"])]
        w = cells["cohort"].map(sizes)
        assert row["att"] == pytest.approx(float((cells["att"] * w).sum() / w.sum()), rel=1e-10)
        assert row["se"] > 0
    grp = clean_fit.aggregate("group")
    assert list(grp["cohort"]) == [4, 6, 8]
    for _, row in grp.iterrows():
        cells = gt[(gt["cohort"] == row["cohort"]) & (gt["time"] >= gt["cohort"])]
        assert row["att"] == pytest.approx(cells["att"].mean(), rel=1e-10)


def test_dynamic_aggregation_pointwise_without_bootstrap(clean_fit):
    dyn = clean_fit.aggregate("dynamic")
    assert dyn["band"].str.startswith("pointwise").all()
    assert dyn["event_time"].is_monotonic_increasing
    assert set(dyn["period"]) == {"pre", "post"}
    with pytest.raises(ValueError, match="kind must be"):
        clean_fit.aggregate("weekly")


def test_summary_renders(clean_fit):
    text = str(clean_fit.summary)
    assert "Staggered difference-in-differences" in text and "ATT(g, t)" in text
    assert "<table" in clean_fit.summary._repr_html_()


# --------------------------------------------------------------------------- #
# Bad input
# --------------------------------------------------------------------------- #
def test_missing_column_is_a_data_validation_error(clean):
    df, _ = clean
    with pytest.raises(DataValidationError, match="missing column") as err:
        staggered_did(df.drop(columns="g"), "y", "unit", "t", "g")
    assert err.value.column == "g"


def test_cohort_changing_within_unit_is_rejected(clean):
    df, _ = clean
    bad = df.copy()
    bad.loc[(bad["unit"] == bad["unit"].iloc[0]) & (bad["t"] == 3), "g"] = 5
    with pytest.raises(DataValidationError, match="constant within"):
        staggered_did(bad, "y", "unit", "t", "g")


def test_duplicate_rows_are_rejected(clean):
    df, _ = clean
    with pytest.raises(DataValidationError, match="more than one row"):
        staggered_did(pd.concat([df, df.head(3)]), "y", "unit", "t", "g")


def test_units_treated_in_first_period_are_set_aside_with_a_note(clean):
    df, _ = clean
    early = df.assign(g=np.where(df["unit"] < 5, 1, df["g"]))
    res = staggered_did(early, "y", "unit", "t", "g")
    assert len(res.set_aside) == 5
    assert any("set aside" in n for n in res.notes)


def test_repeated_cross_section_option_fails_with_clear_message_on_tiny_cells():
    # the failure the issue measured: "Fewer observations (..) than parameters (7)"
    df, _ = make_panel(n=60, periods=6, cohorts=(3, 4, 5), share_never=0.6, drop_share=0.3, seed=4)
    rng = np.random.default_rng(0)
    covs = [f"x{k}" for k in range(6)]
    for c in covs:
        df[c] = rng.normal(size=len(df))
    with pytest.raises(ValueError, match="too small for the covariate model") as err:
        staggered_did(df, "y", "unit", "t", "g", covariates=covs, allow_unbalanced_panel=True)
    assert "within-cell panel differencing" in str(err.value)
    assert "than parameters" in str(err.value)
    # the default (within-cell differencing) runs on the same data
    res = staggered_did(df, "y", "unit", "t", "g", covariates=covs)
    assert np.isfinite(res.aggregate("simple").att)


# --------------------------------------------------------------------------- #
# TWFE
# --------------------------------------------------------------------------- #
def test_static_twfe_matches_diff_diff_bacon_twfe(clean):
    from diff_diff import BaconDecomposition

    df, _ = clean
    tw = twfe_did(df, "y", "unit", "t", "g")
    bd = BaconDecomposition().fit(df, outcome="y", unit="unit", time="t", first_treat="g")
    assert tw.params["treated"] == pytest.approx(bd.twfe_estimate, rel=1e-8)
    assert tw.n_clusters == df["unit"].nunique()


def test_twfe_static_is_biased_when_effects_grow_but_cs_is_not():
    df, truth = make_panel(seed=6, effect=1.0, growth=1.5, share_never=0.2)
    tw = twfe_did(df, "y", "unit", "t", "g")
    cs = staggered_did(df, "y", "unit", "t", "g").aggregate("simple")
    assert abs(cs.att - truth) < Z999 * cs.se
    assert abs(tw.params["treated"] - truth) > Z999 * tw.std_errors["treated"]


def test_twfe_event_study_recovers_dynamic_path(clean):
    df, _ = clean
    # effects identical across cohorts: a fully dynamic TWFE event study is unbiased
    es = twfe_event_study(df, "y", "unit", "t", "g")
    assert list(es.params.index) == [e for e in range(-7, 7) if e != -1]
    true_path = {e: 2.0 + 0.5 * e for e in range(7)}
    for e, v in true_path.items():
        assert abs(es.params[e] - v) < Z999 * es.std_errors[e]
    assert es.conf_int().shape == (13, 2)
    # binned end points: event times beyond 2 are pooled into the e = 2 bin
    binned = twfe_event_study(df, "y", "unit", "t", "g", event_times=list(range(-3, 3)))
    assert list(binned.params.index) == [-3, -2, 0, 1, 2]
    assert binned.params[2] > true_path[2] + Z999 * binned.std_errors[2]
    es_dept = twfe_event_study(df, "y", "unit", "t", "g", event_times=[0, 1], cluster="dept")
    assert es_dept.n_clusters == 3


def test_negative_weight_share_matches_diff_diff(clean):
    from diff_diff import twowayfeweights

    df, _ = clean
    sub = df[df["unit"] < 150]
    d = sub.assign(d=((sub["g"] > 0) & (sub["t"] >= sub["g"])).astype(float))
    ref = twowayfeweights(d, outcome="y", unit="unit", time="t", treatment="d").fraction_negative
    assert _negative_weight_share(sub, "unit", "t", "g") == pytest.approx(ref, abs=1e-12)


# --------------------------------------------------------------------------- #
# Diagnostics
# --------------------------------------------------------------------------- #
def test_dip_is_detected_and_anticipation_removes_its_bias():
    df, truth = make_panel(seed=7, dip=3.0)
    naive = staggered_did(df, "y", "unit", "t", "g")
    dip = detect_pre_training_dip(naive)
    assert dip.detected and dip.recommended_anticipation == 1
    assert "bad month" in dip.verdict
    biased = naive.aggregate("simple")
    assert biased.att - truth > Z999 * biased.se  # the slump inflates the estimate
    fixed = staggered_did(df, "y", "unit", "t", "g", anticipation=1).aggregate("simple")
    assert abs(fixed.att - truth) < Z999 * fixed.se
    # the same dip in a lower-is-better KPI is a spike, not a slump
    assert not detect_pre_training_dip(naive, higher_is_better=False).detected


def test_no_dip_on_clean_panel(clean_fit):
    assert not detect_pre_training_dip(clean_fit).detected


def test_pretrend_test_rejects_diverging_trends_and_counts_pre_periods():
    df, _ = make_panel(seed=8, pretrend=0.6)
    res = staggered_did(df, "y", "unit", "t", "g")
    pt = pretrend_test(res)
    assert pt.pvalue < 1e-6 and not pt.passed
    pre = res.aggregate("dynamic").query("event_time < 0")
    assert pt.df == len(pre)


def test_placebo_passes_on_clean_data_and_fails_on_unhandled_dip(clean):
    df, _ = clean
    prep = prepare_did_panel(df, "y", "unit", "t", "g")
    ok = placebo_fake_dates(prep, shift=2)
    assert ok.n_treated > 0 and ok.passed and "passed" in ok.verdict
    assert ok.ci[0] <= 0 <= ok.ci[1] and abs(ok.att) < Z999 * ok.se
    # the sentence quotes its numbers to the precision the standard error supports, as every table does
    from analysis.report import fmt_estimate

    quoted = f"({fmt_estimate(ok.att, ok.se)}, 95% CI {fmt_estimate(ok.ci[0], ok.se)} to {fmt_estimate(ok.ci[1], ok.se)})"
    assert quoted in ok.verdict
    dipped, _ = make_panel(seed=9, dip=3.0)
    prep_d = prepare_did_panel(dipped, "y", "unit", "t", "g")
    bad = placebo_fake_dates(prep_d, shift=2, anticipation=0)
    assert not bad.passed and "failed" in bad.verdict
    fixed = placebo_fake_dates(prep_d, shift=2, anticipation=1)
    assert abs(fixed.att) < Z999 * fixed.se


def test_placebo_on_a_yearly_kpi_is_not_computable_rather_than_failed(clean):
    """A KPI measured once a year (every 12th month): dates moved 3 months earlier leave nothing to compare."""
    df, _ = clean
    yearly = df.assign(t=df["t"] * 12, g=np.where(df["g"] > 0, df["g"] * 12, 0))
    prep = prepare_did_panel(yearly, "y", "unit", "t", "g")
    check = placebo_fake_dates(prep, shift=3)
    assert not np.isfinite(check.att)
    assert check.verdict.startswith("Placebo not computable") and "failed" not in check.verdict


def test_honest_did_breakdown_in_words(clean_fit):
    h = honest_did_breakdown(clean_fit)
    assert h.breakdown_m is None or h.breakdown_m > 0
    assert "parallel trends" in h.verdict
    assert (h.sensitivity["ci_high"] - h.sensitivity["ci_low"]).is_monotonic_increasing
