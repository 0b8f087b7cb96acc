"""The pre-training slump rule: when an earlier month joins the slump (``detect_pre_training_dip``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.diagnostics import MIN_EXTENSION_SHARE, detect_pre_training_dip
from analysis.did import staggered_did


def slump_panel(n: int, fall_2: float, fall_1: float, seed: int = 0, periods: int = 10) -> pd.DataFrame:
    """Staggered panel (cohorts 5 and 7, half never trained, effect 2) whose trainees' KPI falls by
    ``fall_2`` into event month -2 and by a further ``fall_1`` into event month -1, then recovers."""
    rng = np.random.default_rng(seed)
    g = np.where(rng.random(n) < 0.5, 0, rng.choice([5, 7], n))
    uu, tt = np.meshgrid(np.arange(n), np.arange(1, periods + 1), indexing="ij")
    uu, tt = uu.ravel(), tt.ravel()
    gg = g[uu]
    e = np.where(gg > 0, tt - gg, -99)
    y = rng.normal(10, 2, n)[uu] + 0.3 * tt + rng.normal(0, 1, uu.size)
    y += np.where((gg > 0) & (e >= 0), 2.0, 0.0)
    y -= np.where((gg > 0) & (e == -2), fall_2, 0.0)
    y -= np.where((gg > 0) & (e == -1), fall_2 + fall_1, 0.0)
    return pd.DataFrame({"unit": uu, "t": tt, "y": y, "g": gg})


def _fit(df: pd.DataFrame):
    return staggered_did(df, "y", "unit", "t", "g")


def test_a_two_month_slump_of_two_equal_steps_moves_the_comparison_two_months_back():
    fit = _fit(slump_panel(2000, fall_2=1.5, fall_1=1.5, seed=1))
    dip = detect_pre_training_dip(fit)
    assert dip.detected and dip.months == 2
    fixed = staggered_did(slump_panel(2000, 1.5, 1.5, seed=1), "y", "unit", "t", "g", anticipation=2).aggregate("simple")
    one_back = staggered_did(slump_panel(2000, 1.5, 1.5, seed=1), "y", "unit", "t", "g", anticipation=1).aggregate("simple")
    assert abs(fixed.att - 2.0) < 3.3 * fixed.se  # anchored before the whole slump: unbiased
    assert one_back.att - 2.0 > 3.3 * one_back.se  # anchored inside it: credits half the rebound to training


def test_a_small_but_significant_earlier_fall_does_not_join_the_slump():
    """At scale a change of a few percent of the slump is significant: it must not move the comparison month."""
    fit = _fit(slump_panel(20000, fall_2=0.25, fall_1=3.0, seed=2))
    pre = fit.aggregate("dynamic").set_index("event_time")
    assert -pre.loc[-2, "att"] > 3.3 * pre.loc[-2, "se"]  # significant on its own ...
    assert -pre.loc[-2, "att"] < MIN_EXTENSION_SHARE * -pre.loc[-1, "att"]  # ... but small beside the slump
    assert detect_pre_training_dip(fit, min_extension_share=0.0).months == 2  # the significance-only rule extends
    dip = detect_pre_training_dip(fit)
    assert dip.detected and dip.months == 1
    assert "too little to count as part of the slump" in dip.verdict


@pytest.mark.parametrize("share, months", [(0.45, 2), (0.55, 1)])
def test_the_size_condition_is_a_share_of_the_fall_into_the_month_before_training(share, months):
    # fall into -2 is exactly half the fall into -1 in expectation; a large panel puts the estimate close to it
    fit = _fit(slump_panel(40000, fall_2=1.0, fall_1=2.0, seed=3))
    pre = fit.aggregate("dynamic").set_index("event_time")
    ratio = pre.loc[-2, "att"] / pre.loc[-1, "att"]
    assert 0.46 < ratio < 0.54
    assert detect_pre_training_dip(fit, min_extension_share=share).months == months
