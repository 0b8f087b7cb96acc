"""Synthetic employee x month panels for the benchmarks (vectorized, seeded)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def staggered_panel(n_units: int, n_periods: int = 24, *, n_cohorts: int = 4, seed: int = 0, effect: float = 2.0) -> pd.DataFrame:
    """A balanced panel with staggered adoption and three time-invariant covariates.

    Columns: unit, period (1..n_periods), cohort (0 = never treated, else first treated
    period), y, x1 (continuous), x2 (binary), x3 (continuous). About 40% never treated;
    the rest spread over ``n_cohorts`` adoption periods; the effect grows with event time;
    treatment probability depends on x1 so covariates matter.
    """
    rng = np.random.default_rng(seed)
    x1 = rng.normal(0, 1, n_units)
    x2 = (rng.random(n_units) < 0.5).astype(float)
    x3 = rng.normal(0, 1, n_units)
    cohorts = np.linspace(6, n_periods - 6, n_cohorts).round().astype(int)
    treated = rng.random(n_units) < 1 / (1 + np.exp(-(0.4 + 0.5 * x1)))
    cohort = np.where(treated, rng.choice(cohorts, n_units), 0)
    periods = np.arange(1, n_periods + 1)
    alpha = rng.normal(0, 1, n_units) + 0.5 * x1
    trend = 0.05 * periods[None, :] * (1 + 0.3 * x1[:, None])
    event = periods[None, :] - cohort[:, None]
    tau = np.where((cohort[:, None] > 0) & (event >= 0), effect * (1 + 0.1 * np.minimum(event, 6)), 0.0)
    y = alpha[:, None] + trend + tau + rng.normal(0, 1, (n_units, n_periods))
    return pd.DataFrame({
        "unit": np.repeat(np.arange(n_units), n_periods),
        "period": np.tile(periods, n_units),
        "cohort": np.repeat(cohort, n_periods),
        "y": y.ravel(),
        "x1": np.repeat(x1, n_periods),
        "x2": np.repeat(x2, n_periods),
        "x3": np.repeat(x3, n_periods),
    })  # fmt: skip
