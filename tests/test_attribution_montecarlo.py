"""A small Monte Carlo of the recommended estimator (the full study is benchmarks/montecarlo.py).

20 generated data sets of 2,000 employees (the size of benchmarks/montecarlo.py's committed run) with every confound on (seeds 500-519; deterministic, so the test
cannot flicker), every program: the recommended estimate must be unbiased within 10% of the
true effect (P01, P02) and its 95% CIs must cover the truth in at least 17 of 20 data sets
(under exact 95% coverage, 16 or fewer would happen with probability 0.016) — for P03, whose
true effect is zero, that is at most 3 false positives; the naive before/after rung must be
biased away from the truth and rarely cover.
"""

from __future__ import annotations

import multiprocessing
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.attribution import evaluate_program
from analysis.data import load_dataset
from analysis.sample import SampleConfig, write_sample

SEEDS = range(500, 520)
PROGRAMS = ("P01", "P02", "P03")


#: Processes of the replications: the fixture is the suite's largest cost (60 analytic evaluations), and in one
#: process it would outlast everything else on the other pytest-xdist worker; each replication is independent and seeded.
PROCESSES = 2


def _replicate(seed: int, folder: str) -> list[dict]:
    dataset = load_dataset(write_sample(Path(folder), SampleConfig(n_employees=2000, seed=seed)))
    rows = []
    for program_id in PROGRAMS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ev = evaluate_program(dataset, program_id, n_boot=0, diagnostics=False, heterogeneity=False,
                                  robustness=False)
        lad = ev.ladder
        rec = lad[lad["recommended"]].iloc[0]
        naive = lad[lad["rung"] == "Naive before/after (trainees)"].iloc[0]
        rows.append({"seed": seed, "program": program_id, "anticipation": ev.recommended.anticipation,
                     "truth": rec["true_att"], "rec": rec["estimate"], "rec_covers": rec["covers_truth"],
                     "naive": naive["estimate"], "naive_covers": naive["covers_truth"]})  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def replications(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    folders = [str(tmp_path_factory.mktemp(f"mc{seed}")) for seed in SEEDS]
    with ProcessPoolExecutor(max_workers=PROCESSES, mp_context=multiprocessing.get_context("spawn")) as pool:
        rows = [row for reps in pool.map(_replicate, SEEDS, folders) for row in reps]  # in seed order
    return pd.DataFrame(rows)


@pytest.mark.parametrize("program_id", ["P01", "P02"])
def test_recommended_estimator_is_unbiased_and_covers(replications: pd.DataFrame, program_id: str) -> None:
    reps = replications[replications["program"] == program_id]
    bias = (reps["rec"] - reps["truth"]).mean()
    assert abs(bias) < 0.10 * reps["truth"].mean()
    assert reps["rec_covers"].sum() >= 17


def test_no_effect_program_has_few_false_positives(replications: pd.DataFrame) -> None:
    reps = replications[replications["program"] == "P03"]
    assert (reps["truth"] == 0).all()
    assert reps["rec_covers"].sum() >= 17


@pytest.mark.parametrize("program_id", ["P01", "P02"])
def test_naive_before_after_is_biased(replications: pd.DataFrame, program_id: str) -> None:
    reps = replications[replications["program"] == program_id]
    rel_bias = ((reps["naive"] - reps["truth"]) / reps["truth"]).mean()
    assert rel_bias > 0.5
    assert reps["naive_covers"].sum() <= 2
    assert np.all(reps["naive"] > reps["truth"])


def test_report(replications: pd.DataFrame, capsys: pytest.CaptureFixture[str]) -> None:
    """Print the measured bias and coverage (seen with pytest -s; asserts the table is complete)."""
    with capsys.disabled():
        for program_id, reps in replications.groupby("program"):
            err = (reps["rec"] - reps["truth"]).mean()
            size = f"{err / reps['truth'].mean():+.1%}" if (reps["truth"] != 0).all() else f"{err:+.4f}"
            print(f"\nMonte Carlo (20 x 2,000 employees, {program_id}): recommended bias {size}, coverage "
                  f"{reps['rec_covers'].mean():.2f}; naive before/after coverage {reps['naive_covers'].mean():.2f}")
    assert len(replications) == len(SEEDS) * len(PROGRAMS) and replications["anticipation"].ge(1).all()
