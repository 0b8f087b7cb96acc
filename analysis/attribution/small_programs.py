"""Small programs: when a program counts as small, and what simulation measured for its estimate.

A program whose median training month has fewer than ``min_cohort_size`` trainees (10 by
default) is estimated differently by default (``small_cohorts="auto"``, ``method="auto"``):
every training month is kept as it is and the controls enter by outcome regression. Two
things go wrong otherwise, both measured in 200 generated 500-employee companies
(``benchmarks/results/montecarlo_small.md``):

* pooling small months within their quarter counts some trainees as trained before they
  were, which pulls the estimate towards zero (median error -12% to -14%, coverage of the 95%
  interval 89.5-92%; and 82-84% when the slump test also ran on the pooled fit, where the
  pooled trainees' slumps sit at different event months and the test missed them);
* a propensity model fitted on a handful of trainees separates, and doubly robust weights
  explode (standard errors in the millions in 7-25% of data sets).

The page says what the simulation measured for the rule that ran (:func:`small_program_sentence`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Trainees in the median training month below which a program is small (the default
#: ``min_cohort_size``); the simulations below have medians of 4-7.
SMALL_PROGRAM_TRAINEES = 10


@dataclass(frozen=True)
class SmallProgramStudy:
    """What 200 simulated small companies measured for one way of estimating a small program.

    Attributes
    ----------
    rule : str
        The estimate in words, as the page names it.
    coverage_pct : int
        Lowest share of 95% intervals that covered the true effect, over the programs with an
        effect (%, rounded down).
    false_positive_pct : int
        Share of data sets in which the program without effect came out significant at 5% (%, rounded).
    median_error_pct : tuple of int
        Lowest and highest median error over the programs with an effect (% of the true effect).
    results : str
        The committed rows (``benchmarks/results/``) the numbers come from.
    """

    rule: str
    coverage_pct: int
    false_positive_pct: int
    median_error_pct: tuple[int, int]
    results: str


#: By (small_cohorts, method) of the recommended estimate, both with the slump test on the textbook
#: fit as the kit runs it. Measured with ``benchmarks/montecarlo_scale.py --employees 500 --months 24
#: --reps 200 --first-seed 5000 --keep-reg --slump-textbook`` (the same 200 data sets for both rules);
#: ``tests/test_small_programs.py`` recomputes every number from the committed rows.
SMALL_PROGRAM_STUDIES: dict[tuple[str, str], SmallProgramStudy] = {
    ("keep", "reg"): SmallProgramStudy(
        rule="the kit's small-program estimate (every training month as it is, outcome regression)",
        coverage_pct=94,
        false_positive_pct=4,
        median_error_pct=(-4, -2),
        results="benchmarks/results/montecarlo_small_rule_500.csv",
    ),
    ("pool", "dr"): SmallProgramStudy(
        rule="the estimate with small months pooled by quarter (the choice made here)",
        coverage_pct=89,
        false_positive_pct=8,
        median_error_pct=(-14, -12),
        results="benchmarks/results/montecarlo_small_rule_500.csv",
    ),
}


#: Training months at or below which a program gets the few-months caveat (:func:`few_training_months_sentence`).
FEW_TRAINING_MONTHS = 2

#: What 200 simulated 500-employee companies with two company-wide training months (25-56 trainees each, so
#: not small programs: the doubly robust pooled rule ran) measured: ``benchmarks/montecarlo_scale.py --employees 500
#: --months 24 --reps 200 --first-seed 8000 --sample-option n_cohorts=2 --slump-textbook``. The bias is small; the
#: standard errors are a quarter to a half too small against the spread of the estimates (mean SE / SD 0.56-0.85).
FEW_MONTHS_STUDY = SmallProgramStudy(
    rule="this estimate",
    coverage_pct=89,
    false_positive_pct=9,
    median_error_pct=(-4, 5),
    results="benchmarks/results/montecarlo_two_cohorts_textbook_500.csv",
)


def few_training_months_sentence(n_training_months: int) -> str | None:
    """The page's caveat for a program whose trainees started in :data:`FEW_TRAINING_MONTHS` months or fewer.

    Parameters
    ----------
    n_training_months : int
        Training months of the program as the data has them.

    Returns
    -------
    str or None
        One sentence; ``None`` for more training months.
    """
    if n_training_months > FEW_TRAINING_MONTHS or n_training_months < 1:
        return None
    study = FEW_MONTHS_STUDY
    lo, hi = study.median_error_pct
    months = "one month" if n_training_months == 1 else f"{n_training_months} months"
    return (
        f"Few training months: every trainee started in {months}, so the 95% interval is somewhat too narrow. In 200 "
        f"simulated companies with two training months, {study.rule} covered the true effect in {study.coverage_pct}% "
        f"or more of them (median error {lo:+d}% to {hi:+d}%) and found an effect that was not there in "
        f"{study.false_positive_pct}% (kit Monte Carlo, {study.results})."
    )


def is_small_program(trainee_cohorts: pd.Series, min_cohort_size: int) -> bool:
    """Whether a program's median training month has fewer than ``min_cohort_size`` trainees.

    Parameters
    ----------
    trainee_cohorts : Series
        One entry per trainee: the training month (period) as the data has it.
    min_cohort_size : int
        The size threshold.

    Returns
    -------
    bool
        False when there are no trainees.
    """
    sizes = pd.Series(trainee_cohorts).value_counts()
    return bool(len(sizes)) and float(sizes.median()) < min_cohort_size


def small_program_sentence(trainees_per_month: float, small_cohorts: str, method: str) -> str | None:
    """The page's caveat for a program below :data:`SMALL_PROGRAM_TRAINEES` trainees per training month.

    Parameters
    ----------
    trainees_per_month : float
        Median trainees per training month of the program (as the data has them, before pooling).
    small_cohorts, method : str
        The small-cohort rule and covariate adjustment the recommended estimate ran with.

    Returns
    -------
    str or None
        One or two sentences; ``None`` when the months are large enough.
    """
    if not np.isfinite(trainees_per_month) or trainees_per_month >= SMALL_PROGRAM_TRAINEES:
        return None
    size = (
        f"Small program: a median of {trainees_per_month:.0f} trainees per training month, so read this estimate "
        "as indicative."
    )
    study = SMALL_PROGRAM_STUDIES.get((small_cohorts, method))
    if study is None:
        return (
            f"{size} No simulation of the kit covers this way of estimating a program this small "
            f"(small_cohorts={small_cohorts!r}, method={method!r}); the kit's rule for small programs is the default."
        )
    lo, hi = study.median_error_pct
    return (
        f"{size} In 200 simulated companies this small, {study.rule} covered the true effect in "
        f"{study.coverage_pct}% or more of them (median error {lo:+d}% to {hi:+d}%) and found an effect that was "
        f"not there in {study.false_positive_pct}% (kit Monte Carlo, {study.results})."
    )
