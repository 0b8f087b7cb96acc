"""``SampleConfig.n_cohorts``: a company that runs a program a few times only (Monte Carlo option)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.sample import SampleConfig, generate, rollout_schedule


@pytest.fixture(scope="module")
def two() -> object:
    return generate(SampleConfig(n_employees=1500, seed=5, n_cohorts=2))


def test_two_cohorts_train_in_the_two_documented_months(two):
    opens, window = rollout_schedule(24)
    first, last = int(opens.min()), int(opens.max() + window - 1)
    assert (first, last) == (4, 18)
    g = two.latent["cohort"]
    assert sorted(np.unique(g[g > 0])) == [first, last]
    for program in ("P01", "P02", "P03"):
        months = {c["cohort"] for c in two.ground_truth["programs"][program]["att_cohort"]}
        assert months == {first, last}, program
    assert two.ground_truth["config"]["n_cohorts"] == 2


def test_two_cohorts_keep_the_share_trained():
    # the same total probability of being sent as the regional roll-out (same seed, same people)
    base = generate(SampleConfig(n_employees=1500, seed=5))
    two = generate(SampleConfig(n_employees=1500, seed=5, n_cohorts=2))
    staff = base.latent["cohort"].size
    share_base = (base.latent["cohort"] > 0).mean()
    share_two = (two.latent["cohort"] > 0).mean()
    assert share_two == pytest.approx(share_base, abs=0.05), (share_base, share_two, staff)
    assert "n_cohorts" not in base.ground_truth["config"], "default ground truth unchanged"


def test_n_cohorts_must_be_positive():
    with pytest.raises(ValueError, match="n_cohorts"):
        generate(SampleConfig(n_employees=200, seed=1, n_cohorts=0))
