"""Hold the kit's staggered DiD to the R ``did`` package's published numbers on ``mpdta``.

Source of every number below: Callaway & Sant'Anna's R package ``did`` (the
"Introduction to DiD with multiple time periods" vignette, did >= 2.1; same numbers
in ``did`` 2.1.2 and 2.2.0):

    out <- att_gt(yname = "lemp", gname = "first.treat", idname = "countyreal",
                  tname = "year", xformla = ~1, data = mpdta,
                  control_group = "nevertreated", est_method = "dr")
    aggte(out, type = "simple")                      # ATT -0.0400
    att_gt(..., xformla = ~lpop) |> aggte("simple")  # ATT -0.0418

Event study (``aggte(mw.attgt, type = "dynamic")``, doubly robust, never treated, no
covariates, multiplier bootstrap with R's default 1,000 draws): the "Getting Started
with the did Package" vignette (``did-basics``, did 2.5.x, section "The Effect of the
Minimum Wage on Youth Employment"); its standard errors are bootstrap standard errors,
so they carry R's own simulation noise: the package README runs the same estimator
(``est_method = "reg"``, identical to "dr" without covariates) and prints standard
errors up to 12% apart from the vignette's (event time 2: 0.0356 vs 0.0402).

The data file lives outside the project (``../shared/data/mpdta.csv``) and is never
copied in; on a clone without it this module skips and says why.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from analysis.attribution import staggered_did

from tests.conftest import MPDTA, NEEDS_MPDTA

pytestmark = NEEDS_MPDTA

# R did, att_gt(..., est_method = "dr", control_group = "nevertreated"), rounded to 4 decimals.
R_DID_ATT_GT = {
    (2004, 2004): -0.0105,
    (2004, 2005): -0.0704,
    (2004, 2006): -0.1373,
    (2004, 2007): -0.1008,
    (2006, 2004): 0.0065,
    (2006, 2005): -0.0028,
    (2006, 2006): -0.0046,
    (2006, 2007): -0.0412,
    (2007, 2004): 0.0305,
    (2007, 2005): -0.0027,
    (2007, 2006): -0.0311,
    (2007, 2007): -0.0261,
}
R_DID_SIMPLE = -0.0400
R_DID_SIMPLE_LPOP = -0.0418
# did-basics vignette: event time -> (estimate, bootstrap standard error)
R_DID_DYNAMIC = {
    -3: (0.0305, 0.0157),
    -2: (-0.0006, 0.0136),
    -1: (-0.0245, 0.0144),
    0: (-0.0199, 0.0124),
    1: (-0.0510, 0.0163),
    2: (-0.1373, 0.0402),
    3: (-0.1008, 0.0354),
}


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(MPDTA)


@pytest.fixture(scope="module")
def res(mpdta):
    return staggered_did(
        mpdta,
        outcome="lemp",
        unit="countyreal",
        time="year",
        cohort="first.treat",
        control="never",
        method="dr",
    )


def test_att_gt_matches_r_did(res):
    got = res.att_gt.set_index(["cohort", "time"])["att"]
    assert set(got.index) == set(R_DID_ATT_GT)
    for cell, ref in R_DID_ATT_GT.items():
        assert round(float(got[cell]), 4) == ref, cell


def test_simple_aggregation_matches_r_did(res):
    assert round(res.aggregate("simple").att, 4) == R_DID_SIMPLE


def test_simple_aggregation_with_lpop_matches_r_did(mpdta):
    res = staggered_did(
        mpdta, "lemp", "countyreal", "year", "first.treat", covariates=["lpop"], method="dr"
    )
    assert round(res.aggregate("simple").att, 4) == R_DID_SIMPLE_LPOP


def test_bootstrap_is_seeded_and_gives_uniform_band(mpdta):
    kw = dict(covariates=["lpop"], n_boot=499, seed=11)
    a = staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat", **kw)
    b = staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat", **kw)
    np.testing.assert_array_equal(a.bootstrap_draws, b.bootstrap_draws)
    assert a.bootstrap_draws.shape == (499,)
    dyn = a.aggregate("dynamic")
    assert dyn["band"].str.startswith("uniform").all()
    # a uniform band is at least as wide as the pointwise interval at every event time
    assert (dyn["ci_high"] - dyn["ci_low"] >= dyn["ci_high_pointwise"] - dyn["ci_low_pointwise"] - 1e-12).all()
    # point estimate is the same as the analytic fit; the bootstrap SE estimates the same
    # quantity as the analytic influence-function SE of that fit (with 499 draws its own
    # simulation error is about 1 / sqrt(2 * 499) = 3%)
    analytic = staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat", covariates=["lpop"])
    assert a.aggregate("simple").att == pytest.approx(R_DID_SIMPLE_LPOP, abs=5e-5)
    assert a.aggregate("simple").att == pytest.approx(analytic.aggregate("simple").att, abs=1e-12)
    assert a.aggregate("simple").se == pytest.approx(analytic.aggregate("simple").se, rel=0.10)


def test_event_study_matches_the_did_vignette(mpdta):
    res = staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat", method="dr", n_boot=999, seed=3)
    dyn = res.aggregate("dynamic").set_index("event_time")
    assert sorted(dyn.index) == sorted(R_DID_DYNAMIC)
    for e, (att, se) in R_DID_DYNAMIC.items():
        assert round(float(dyn.loc[e, "att"]), 4) == att, e
        # both are bootstrap SEs (R's own runs differ by up to 12%, see the module docstring)
        assert float(dyn.loc[e, "se"]) == pytest.approx(se, rel=0.15), e
