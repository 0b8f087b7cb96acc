"""A small Monte Carlo of the recommended estimator (the full study is benchmarks/montecarlo.py).

20 generated data sets of 1,000 employees with every confound on (seeds 500-519; deterministic, so the test
cannot flicker): the recommended estimate of P01 must be unbiased within 10% of the true
effect and its 95% CIs must cover the truth in at least 17 of 20 data sets (under exact 95%
coverage, 16 or fewer would happen with probability 0.016); the naive before/after rung must
be biased upward and rarely cover.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.attribution import evaluate_program
from analysis.data import load_dataset
from analysis.sample import SampleConfig, write_sample

SEEDS = range(500, 520)


@pytest.fixture(scope="module")
def replications(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    rows = []
    for seed in SEEDS:
        folder = write_sample(tmp_path_factory.mktemp(f"mc{seed}"), SampleConfig(n_employees=1000, seed=seed))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ev = evaluate_program(load_dataset(folder), "P01", n_boot=0, diagnostics=False, heterogeneity=False,
                                  robustness=False)
        lad = ev.ladder
        rec = lad[lad["recommended"]].iloc[0]
        naive = lad[lad["rung"] == "Naive before/after (trainees)"].iloc[0]
        rows.append({"seed": seed, "anticipation": ev.recommended.anticipation, "truth": rec["true_att"], "rec": rec["estimate"], "rec_covers": rec["covers_truth"],
                     "naive": naive["estimate"], "naive_covers": naive["covers_truth"]})  # fmt: skip
    return pd.DataFrame(rows)


def test_recommended_estimator_is_unbiased_and_covers(replications: pd.DataFrame) -> None:
    bias = (replications["rec"] - replications["truth"]).mean()
    assert abs(bias) < 0.10 * replications["truth"].mean()
    assert replications["rec_covers"].sum() >= 17


def test_naive_before_after_is_biased(replications: pd.DataFrame) -> None:
    rel_bias = ((replications["naive"] - replications["truth"]) / replications["truth"]).mean()
    assert rel_bias > 0.5
    assert replications["naive_covers"].sum() <= 2
    assert np.all(replications["naive"] > replications["truth"])


def test_report(replications: pd.DataFrame, capsys: pytest.CaptureFixture[str]) -> None:
    """Print the measured bias and coverage (seen with pytest -s; asserts the table is complete)."""
    rel = ((replications["rec"] - replications["truth"]) / replications["truth"]).mean()
    with capsys.disabled():
        print(f"\nMonte Carlo (20 x 1,000 employees, P01): recommended relative bias {rel:+.1%}, "
              f"coverage {replications['rec_covers'].mean():.2f}; naive before/after coverage {replications['naive_covers'].mean():.2f}")
    assert len(replications) == len(SEEDS) and replications["anticipation"].ge(1).all()
