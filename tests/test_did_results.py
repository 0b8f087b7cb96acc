"""The results vocabulary of :class:`analysis.did.StaggeredDiDResults` on R ``did``'s mpdta.

Every check compares with an independent computation: the engine's own
bootstrap standard errors and sup-t critical value, the cohort-size weights of
the overall ATT (hand-computed from the cohort sizes), or R ``did``'s published
numbers (see ``tests/test_did_reference.py`` for their source).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.did import staggered_did

MPDTA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mpdta.csv"

pytestmark = pytest.mark.skipif(
    not MPDTA.exists(),
    reason=f"mpdta reference data not found at {MPDTA} (shared/ is not part of the kit's repository)",
)


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
