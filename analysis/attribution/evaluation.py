"""evaluate_program: everything notebook 02 shows for one program, and for several."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time as _time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from analysis import did_speedups
from analysis.attribution import narrative
from analysis.attribution.accounting import Accounting, account_trainees
from analysis.attribution.ladder import METHOD_WORDS, dr_is_unstable, run_ladder
from analysis.attribution.narrative import _engine_notes
from analysis.attribution.panel import PSCORE_TRIM, Cluster, EstimationPanel, build_estimation_panel
from analysis.attribution.robustness import _heterogeneity, _robustness
from analysis.data import DataValidationError, Dataset
from analysis.diagnostics import (
    DipCheck,
    HonestDiDCheck,
    OverlapCheck,
    PlaceboCheck,
    PretrendTest,
    TWFEWeightCheck,
    honest_did_breakdown,
    overlap_check,
    placebo_fake_dates,
    pretrend_test,
    twfe_weight_check,
)
from analysis.did import AggregateEffect, ResultSummary, StaggeredDiDResults
from analysis.progress import report_progress

#: Options that change the recommended estimate (notebook parameters, printed and recorded).
ESTIMATE_OPTIONS = ("controls", "anticipation", "control", "same_kpi_trainees", "cluster", "small_cohorts",
                    "min_cohort_size", "method", "n_boot", "seed")


@dataclass(frozen=True)
class EvaluationOptions:
    """Options of :func:`evaluate_program`.

    Attributes
    ----------
    cluster : {"auto", "employee", "manager", "department", "department_region"}
        Clustering of every standard error. ``auto``: by team (``manager_id``)
        when the data has at least 20 teams (training is delivered to teams),
        else department × region, else employee. Employee clustering is shown as
        a robustness row.
    control : {"never", "not_yet"}
        Comparison employees of the recommended estimate.
    method : {"auto", "dr", "ipw", "reg"}
        Covariate adjustment of the recommended estimate. ``auto``: doubly robust,
        except outcome regression for a small program whose training months are kept
        as they are (``small_cohorts`` below), where a propensity model fitted on a
        handful of trainees separates and its weights explode; and outcome regression
        when the doubly robust estimate turns out unstable (standard error more than
        :data:`~analysis.attribution.ladder.DR_UNSTABLE_SE_RATIO` times the textbook
        estimate's; ``ProgramEvaluation.dr_fallback``). ``dr`` keeps an unstable doubly
        robust estimate, and the page says it is unstable.
    controls : tuple of str, optional
        Confound controls (see :func:`~analysis.attribution.panel.build_estimation_panel`).
    anticipation : int or "auto"
        Months before training already affected. ``auto``: the length of the
        pre-training slump the slump test finds on the textbook fit (every training
        month as it is, no controls, anchored on the month before training; 0 when
        none is significant); the other choice is a robustness row.
    same_kpi_trainees : {"exclude", "keep"}
        Employees trained in another program aimed at the same KPI: left out of
        the comparison group (default) or kept as "never trained" (a robustness row
        shows the other choice).
    small_cohorts : {"auto", "pool", "set_aside", "keep"}
        What the recommended estimate does with training months of fewer than
        ``min_cohort_size`` trainees. ``auto``: a small program (median training
        month below ``min_cohort_size`` trainees) keeps every month as it is, a
        larger one pools its small months within their quarter. The textbook rung
        always keeps every month as it is; a robustness row shows the other choice.
    min_cohort_size : int
        Threshold of the small-cohort rule.
    n_boot : int
        Multiplier-bootstrap draws of the recommended estimate. 0 = analytic.
    seed : int, optional
        Bootstrap seed.
    min_group_size : int
        Heterogeneity groups with fewer trainees are suppressed.
    subgroup_intervals : {"simultaneous", "pointwise"}
        Intervals of the subgroup table (simultaneous over all subgroups by default).
    placebo_shift : int
        Months the placebo training dates are moved back.
    allow_unbalanced_panel : bool
        Also show R ``did``'s repeated-cross-section handling as a robustness row.
    heterogeneity, diagnostics, robustness : bool
        Skip these parts (faster, e.g. in a Monte Carlo) when False.
    heterogeneity_method : {"dr", "ipw", "reg"}
        Covariate adjustment of the subgroup estimates (outcome regression: a
        propensity model on a handful of trainees per month separates).
    """

    cluster: Cluster = "auto"
    control: Literal["never", "not_yet"] = "never"
    method: Literal["auto", "dr", "ipw", "reg"] = "auto"
    controls: tuple[str, ...] | None = None
    anticipation: int | Literal["auto"] = "auto"
    same_kpi_trainees: Literal["exclude", "keep"] = "exclude"
    small_cohorts: Literal["auto", "pool", "set_aside", "keep"] = "auto"
    min_cohort_size: int = 10
    n_boot: int = 999
    seed: int | None = 0
    min_group_size: int = 5
    subgroup_intervals: Literal["simultaneous", "pointwise"] = "simultaneous"
    placebo_shift: int = 3
    allow_unbalanced_panel: bool = False
    heterogeneity: bool = True
    diagnostics: bool = True
    robustness: bool = True
    heterogeneity_method: Literal["dr", "ipw", "reg"] = "reg"

    def __post_init__(self) -> None:
        if self.controls is not None and not isinstance(self.controls, tuple):
            object.__setattr__(self, "controls", tuple(self.controls))

    @classmethod
    def build(cls, options: EvaluationOptions | None = None, **overrides: Any) -> EvaluationOptions:
        """Options with ``overrides`` applied; unknown names raise a TypeError naming them."""
        base = options or cls()
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise TypeError(f"unknown evaluate_program option(s) {unknown}; known: {sorted(known)}")
        return replace(base, **overrides) if overrides else base

    def as_dict(self) -> dict[str, Any]:
        """Every option (for printing and ``run.json``)."""
        out = asdict(self)
        if out["controls"] is not None:
            out["controls"] = list(out["controls"])
        return out

    def table(self) -> pd.DataFrame:
        """option, value, changes_estimate: the options as a table for the report and the run folder."""
        rows = [{"option": k, "value": str(v), "changes_estimate": k in ESTIMATE_OPTIONS} for k, v in self.as_dict().items()]
        return pd.DataFrame(rows)


@dataclass
class ProgramEvaluation:
    """Everything notebook ``02_training_attribution`` shows for one program and KPI.

    Holds numbers; every sentence about them is built in
    :mod:`analysis.attribution.narrative`.

    Attributes
    ----------
    program_id, program_name, kpi, unit : str
        What was evaluated and the KPI's unit.
    higher_is_better : bool
        Direction of the KPI.
    cluster, cluster_reason : str
        Clustering level used and why.
    method : str
        Covariate adjustment of the recommended estimate and of every fit that follows it
        (``options.method`` resolved, after the doubly robust guard).
    small_cohorts : str
        Small-cohort rule of the recommended estimate (``options.small_cohorts`` resolved).
    small_program : bool
        Whether the program's median training month has fewer than ``min_cohort_size`` trainees.
    options : EvaluationOptions
        The options the evaluation ran with.
    overall : AggregateEffect
        The recommended overall ATT (per trainee per month).
    recommended : StaggeredDiDResults
        The recommended fit.
    textbook : StaggeredDiDResults
        Callaway–Sant'Anna without controls on every training month as it is.
    accounting : Accounting
        Who is in the recommended estimate (every trainee, used or set aside and why).
    ladder : DataFrame
        rung, estimate, se, ci_low, ci_high, trainees, recommended, true_att, bias.
    event_study : DataFrame
        Dynamic profile of the recommended fit (uniform band when bootstrapped).
    event_study_unadjusted : DataFrame
        Dynamic profile anchored on the month before training (anticipation 0).
    anticipation_auto : bool
        Whether the comparison month was decided from the slump test.
    dip, pretrend, placebo, twfe_weights, honest, overlap
        Diagnostics.
    heterogeneity : DataFrame
        dimension, group, trainees, att, se, ci_low, ci_high (simultaneous by
        default), ci_low_pointwise, ci_high_pointwise, p_value, p_holm, note.
    robustness : DataFrame
        Variants of the recommended estimate with the trainees and comparison
        employees each uses.
    cohort_table : DataFrame
        Training months, trainees, small-cohort rule applied.
    truth : dict or None
        Ground truth of the program when the dataset ships one.
    notes : list of str
        Data handling notes in words.
    timings : dict of str to float
        Seconds of each part.
    dr_se_ratio : float
        Largest overall standard error of the doubly robust controlled fits over the textbook
        estimate's (:func:`~analysis.attribution.ladder.dr_se_ratio`); NaN when no doubly robust
        fit with controls ran.
    dr_fallback : bool
        Whether ``method="auto"`` fell back from an unstable doubly robust estimate to outcome
        regression (then ``method`` is ``"reg"``).
    """

    program_id: str
    program_name: str
    kpi: str
    unit: str
    higher_is_better: bool
    cluster: str
    cluster_reason: str
    method: str
    small_cohorts: str
    small_program: bool
    options: EvaluationOptions
    overall: AggregateEffect
    recommended: StaggeredDiDResults
    textbook: StaggeredDiDResults
    accounting: Accounting
    ladder: pd.DataFrame
    event_study: pd.DataFrame
    event_study_unadjusted: pd.DataFrame
    anticipation_auto: bool
    dip: DipCheck
    pretrend: PretrendTest
    placebo: PlaceboCheck | None
    twfe_weights: TWFEWeightCheck | None
    honest: HonestDiDCheck | None
    overlap: OverlapCheck
    heterogeneity: pd.DataFrame
    robustness: pd.DataFrame
    cohort_table: pd.DataFrame
    truth: dict[str, Any] | None
    notes: list[str]
    timings: dict[str, float]
    dr_se_ratio: float = np.nan
    dr_fallback: bool = False

    @property
    def dr_unstable(self) -> bool:
        """Whether the doubly robust estimate was unstable (``dr_se_ratio`` above
        :data:`~analysis.attribution.ladder.DR_UNSTABLE_SE_RATIO`), whether or not it was replaced."""
        return dr_is_unstable(self.dr_se_ratio)

    @property
    def n_trainees(self) -> int:
        """Trainees in the recommended estimate (``accounting.n_used``)."""
        return self.accounting.n_used

    @property
    def n_controls(self) -> int:
        """Comparison employees in the recommended estimate."""
        return self.accounting.n_controls_used

    @property
    def event_study_verdict(self) -> str:
        """The event study in words (which test it is about, numbers the chart draws)."""
        return narrative.event_verdict(self)

    @property
    def anticipation_rule(self) -> str:
        """How the comparison month was chosen, and the result, in words."""
        return narrative.anticipation_rule(self)

    # ---- words ----------------------------------------------------------------
    @property
    def naive_before_after(self) -> float:
        """The raw before/after change of trainees."""
        row = self.ladder[self.ladder["rung"].str.startswith("Naive before/after")]
        return float(row["estimate"].iloc[0]) if len(row) else np.nan

    @property
    def share_not_caused(self) -> float:
        """Share of the raw before/after change not caused by training."""
        raw = self.naive_before_after
        if not np.isfinite(raw) or raw == 0:
            return np.nan
        return float((raw - self.overall.att) / raw)


    # ---- words (built in analysis.attribution.narrative) -------------------------
    @property
    def headline(self) -> str:
        """The plain-language summary sentence."""
        return narrative.headline(self)

    @property
    def ladder_title(self) -> str:
        """Finding-style title of the method-ladder figure."""
        return narrative.ladder_title(self)

    @property
    def event_study_title(self) -> str:
        """Finding-style title of the event-study figure."""
        return narrative.event_study_title(self)

    @property
    def heterogeneity_title(self) -> str:
        """Finding-style title of the heterogeneity figure (the exam-score link)."""
        return narrative.heterogeneity_title(self)

    @property
    def truth_sentence(self) -> str | None:
        """Estimate beside the known truth (sample data only)."""
        return narrative.truth_sentence(self)

    @property
    def methods_note(self) -> str:
        """Method and caveats in words."""
        return narrative.methods_note(self)

    # ---- tables -----------------------------------------------------------------
    def exports(self) -> dict[str, pd.DataFrame]:
        """Tables for the ROI analysis: overall ATT, dynamic profile, bootstrap draws."""
        lo, hi = self.overall.conf_int(0.95)
        overall = pd.DataFrame(
            [
                {
                    "program_id": self.program_id,
                    "kpi": self.kpi,
                    "unit": self.unit,
                    "att": self.overall.att,
                    "se": self.overall.se,
                    "ci_low": lo,
                    "ci_high": hi,
                    "p_value": self.overall.pvalue,
                    "n_trainees": self.accounting.n_used,
                    "n_controls": self.overall.n_control,
                    "n_trainees_all": self.accounting.n_trainees,
                    "estimator": str(self.ladder.loc[self.ladder["recommended"], "rung"].iloc[0]),
                    "method": self.method,
                    "dr_se_ratio": self.dr_se_ratio,
                    "dr_fallback": self.dr_fallback,
                    "anticipation": self.recommended.anticipation,
                    "cluster": self.cluster,
                    "inference": self.overall.inference,
                    "true_att": (self.truth or {}).get("overall_att", np.nan),
                    "honest_breakdown_m": self.honest_breakdown_m,
                }
            ]
        )
        dyn = self.event_study[["event_time", "att", "se", "ci_low", "ci_high", "band"]].copy()
        dyn.insert(0, "kpi", self.kpi)
        dyn.insert(0, "program_id", self.program_id)
        draws = self.overall.draws
        boot = pd.DataFrame(
            {
                "program_id": self.program_id,
                "kpi": self.kpi,
                "draw": np.arange(1, len(draws) + 1) if draws is not None else [],
                "att": draws if draws is not None else [],
            }
        )
        return {
            "att_by_program": overall,
            "dynamic_profile": dyn,
            "att_bootstrap_draws": boot,
            "event_bootstrap_draws": self.event_bootstrap_draws(),
            "accounting": self.accounting.table.assign(program_id=self.program_id, kpi=self.kpi)[
                ["program_id", "kpi", *self.accounting.table.columns]
            ],
        }

    @property
    def honest_breakdown_m(self) -> float:
        """HonestDiD relative-magnitude M at which the 95% interval first includes zero.

        NaN when not computed (diagnostics off, or not computable); ``inf`` when the
        interval excludes zero over the whole search range (``diff_diff`` searches up
        to M = 10).
        """
        if self.honest is None:
            return np.nan
        b = self.honest.breakdown_m
        return float("inf") if b is None else float(b)

    def event_bootstrap_draws(self) -> pd.DataFrame:
        """Joint bootstrap draws of every post-training event-time effect, long format.

        Columns program_id, kpi, draw (1-based, the same numbering and the same
        multiplier weights as ``att_bootstrap_draws``), event_time (>= 0), att.
        Empty when the fit was analytic.
        """
        cols = ["program_id", "kpi", "draw", "event_time", "att"]
        wide = self.recommended.event_study_draws(post_only=True)
        if wide is None or wide.empty:
            return pd.DataFrame(columns=cols)
        long = wide.rename_axis(index="draw", columns="event_time").stack().rename("att").reset_index()
        long["draw"] = long["draw"].astype(int) + 1
        long["event_time"] = long["event_time"].astype(int)
        long.insert(0, "kpi", self.kpi)
        long.insert(0, "program_id", self.program_id)
        return long[cols]


    @property
    def diagnostics_table(self) -> pd.DataFrame:
        """check, result, verdict for every diagnostic."""
        return narrative.diagnostics_table(self)

    @property
    def summary(self) -> ResultSummary:
        """Headline, ladder, diagnostics."""
        return ResultSummary(
            f"Program {self.program_id}: effect on monthly {self.kpi}",
            [
                ("Method ladder", self.ladder.set_index("rung")),
                ("Diagnostics", self.diagnostics_table.set_index("check")),
            ],
            [self.headline, *([self.truth_sentence] if self.truth_sentence else []), self.methods_note, *self.notes],
        )



def _load_truth(dataset: Any, program_id: str, kpi: str) -> dict[str, Any] | None:
    path = getattr(dataset, "path", None)
    if path is None:
        return None
    gt_file = Path(path) / "ground_truth.json"
    if not gt_file.exists():
        return None
    gt = json.loads(gt_file.read_text(encoding="utf-8"))
    prog = gt.get("programs", {}).get(str(program_id))
    if not prog or prog.get("kpi", kpi) != kpi:
        return None
    return prog



# --------------------------------------------------------------------------- #
# evaluate_program
# --------------------------------------------------------------------------- #
def evaluate_program(
    dataset: Any,
    program_id: str,
    kpi: str | None = None,
    options: EvaluationOptions | None = None,
    *,
    truth: dict[str, Any] | None = None,
    **overrides: Any,
) -> ProgramEvaluation:
    """Did program P cause the change in KPI K, and by how much?

    Parameters
    ----------
    dataset : analysis.data.Dataset
        Loaded dataset.
    program_id : str
        Program to evaluate.
    kpi : str, optional
        KPI (default: the program's ``kpi``).
    options : EvaluationOptions, optional
        Every choice of the evaluation; default :class:`EvaluationOptions()`.
    truth : dict, optional
        Ground truth of the program; default read from ``ground_truth.json`` in
        the dataset folder when present.
    **overrides
        Single options by name (``n_boot=0``, ``cluster="employee"``, ...),
        applied on top of ``options``.

    Returns
    -------
    ProgramEvaluation

    Notes
    -----
    Method ladder: (1) trainees' raw before/after change; (2) trainees after
    training vs never-trained employees in the same months; (3) two-way fixed
    effects; (4) Callaway–Sant'Anna without controls on every training month as
    it is (the textbook estimator; equals ``diff_diff.CallawaySantAnna`` and R
    ``did`` on the same panel); (5) the recommended panel (small-cohort rule)
    with the confound controls; (6) the same with the comparison month moved
    before a pre-training slump when the slump test finds one. The last rung is
    the recommended estimate. :attr:`ProgramEvaluation.accounting` says who is in
    it.

    With ``method="auto"`` resolved to doubly robust, an unstable doubly robust estimate
    (overall standard error more than
    :data:`~analysis.attribution.ladder.DR_UNSTABLE_SE_RATIO` times the textbook rung's: a
    propensity model separated the trainees of a training month from the comparison
    employees) is replaced by outcome regression with the same controls, in rungs (5)-(6)
    and in every later fit (event study, placebo, robustness rows); the robustness table
    keeps the doubly robust estimate as a row and the headline says so
    (:attr:`ProgramEvaluation.dr_fallback`, :attr:`ProgramEvaluation.dr_se_ratio`).
    An explicit ``method="dr"`` is kept, and the headline says it is unstable.

    References
    ----------
    Callaway, B. & Sant'Anna, P. H. C. (2021). *Journal of Econometrics* 225(2).
    Sant'Anna, P. H. C. & Zhao, J. (2020). *Journal of Econometrics* 219(1).
    Rambachan, A. & Roth, J. (2023). *Review of Economic Studies* 90(5).
    Goodman-Bacon, A. (2021). *Journal of Econometrics* 225(2).
    """
    opt = EvaluationOptions.build(options, **overrides)
    # the fits of one evaluation repeat many per-cell regressions: computed once (exact, analysis/did_speedups.py)
    with _one_blas_thread(), did_speedups.shared_regressions():
        ev, handoff, ep = _evaluate_main(dataset, program_id, kpi, opt, truth)
        ev.heterogeneity, ev.timings["heterogeneity"] = _evaluate_heterogeneity(ep, handoff, opt)
        ev.robustness, ev.timings["robustness"] = _evaluate_robustness(dataset, ep, handoff, opt)
    return ev


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """One BLAS / OpenMP thread for the duration (as in every worker of :func:`evaluate_programs`).

    The matrices of an evaluation are small, where one thread is also the faster; and a
    multithreaded BLAS sums in an order that depends on the thread count, so the bootstrap
    draws and the pre-trend test moved in the 15th digit with the machine's cores. With one
    thread the results do not depend on the number of cores or of worker processes.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@dataclass(frozen=True)
class _Handoff:
    """What the heterogeneity and robustness parts need from the main part of one evaluation.

    Small (no frames), so a worker process can receive it and rebuild the panel from
    the dataset (:func:`_panel_for`) instead of being sent the panel.
    """

    program_id: str
    kpi: str | None  # as the caller gave it (None = the program's KPI), so the rebuilt panel is the same
    covariates: tuple[str, ...]  # the controls the ladder's fallback settled on
    method: str  # the recommended estimate's covariate adjustment (options.method resolved, after the guard)
    anticipation: int
    truth: dict[str, Any] | None
    main: AggregateEffect  # the recommended estimate's overall ATT
    reuse: dict[int, AggregateEffect] | None  # overall ATT of fits already run, by anticipation
    comparison_left_out: bool
    dr_se_ratio: float = np.nan
    dr_replaced: AggregateEffect | None = None  # the unstable doubly robust estimate the guard replaced
    pool_anticipation: int = 0  # the anticipation the panel's small-cohort pooling was built for


def resolve_method(method: str, ep: EstimationPanel) -> str:
    """The recommended estimate's covariate adjustment: ``auto`` resolved on the built panel.

    Parameters
    ----------
    method : {"auto", "dr", "ipw", "reg"}
        :attr:`EvaluationOptions.method`.
    ep : EstimationPanel
        The program's panel (its :attr:`~EstimationPanel.small_program` and
        :attr:`~EstimationPanel.small_cohorts`).

    Returns
    -------
    str
        ``method`` unless ``auto``; then ``reg`` for a small program whose training months
        are kept as they are, else ``dr``.

    Notes
    -----
    This is the method the ladder starts with. With ``auto`` resolved to ``dr`` the ladder
    also guards it: an unstable doubly robust estimate is refitted by outcome regression
    (:func:`~analysis.attribution.ladder.run_ladder`, ``fallback_method``), and
    :attr:`ProgramEvaluation.method` is the method that ran.
    """
    if method != "auto":
        return method
    return "reg" if ep.small_program and ep.small_cohorts == "keep" else "dr"


def _panel_kw(opt: EvaluationOptions, anticipation: int = 0) -> dict[str, Any]:
    return dict(controls=opt.controls, cluster=opt.cluster, min_cohort_size=opt.min_cohort_size,
                small_cohorts=opt.small_cohorts, anticipation=anticipation)


def _pools_without_comparison_month(ep: EstimationPanel, anticipation: int) -> bool:
    """Whether a pool of small training months is counted from a month that has no comparison month.

    The estimate compares with the KPI ``anticipation + 1`` months before training, so a pool counted
    from one of the panel's first ``1 + anticipation`` months loses every trainee pooled into it.
    """
    tr = ep.trainees
    pool_month = tr.loc[(tr["cohort"] > 0) & (tr["cohort"] != tr["original_cohort"]), "cohort"]  # -1: set aside
    return bool(anticipation and (pool_month <= 1 + anticipation).any())


def _panel_for(dataset: Any, handoff: _Handoff, opt: EvaluationOptions) -> EstimationPanel:
    """The estimation panel as the main part left it: built again, with the ladder's controls.

    The ladder's controls fallback replaces ``prepared`` (and ``prepared_asis``) by copies
    with the covariates that could be estimated; the same replacement here gives the
    panel the heterogeneity and robustness parts saw in-process.
    """
    ep = build_estimation_panel(dataset, handoff.program_id, handoff.kpi, same_kpi_trainees=opt.same_kpi_trainees,
                                **_panel_kw(opt, handoff.pool_anticipation))
    covs = list(handoff.covariates)
    asis = ep.prepared_asis
    ep.prepared = replace(ep.prepared, covariates=covs)
    ep.prepared_asis = replace(asis, covariates=list(covs))
    return ep


def _evaluate_main(
    dataset: Any, program_id: str, kpi: str | None, opt: EvaluationOptions, truth: dict[str, Any] | None
) -> tuple[ProgramEvaluation, _Handoff, EstimationPanel]:
    """Panel, ladder, event study and diagnostics; heterogeneity and robustness left empty."""
    kpi_arg = kpi
    timings: dict[str, float] = {}
    t0 = _time.perf_counter()
    pool_k = 0 if opt.anticipation == "auto" else int(opt.anticipation)
    ep = build_estimation_panel(dataset, program_id, kpi, same_kpi_trainees=opt.same_kpi_trainees,
                                **_panel_kw(opt, pool_k))
    timings["build panel"] = _time.perf_counter() - t0
    kpi = ep.kpi
    programs = dataset.programs
    prow = programs[programs["program_id"].astype(str) == str(program_id)].iloc[0]
    program_name = str(prow.get("name", program_id))
    kdefs = dataset.kpi_definitions
    krow = kdefs[kdefs["kpi"].astype(str) == kpi]
    unit = str(krow["unit"].iloc[0]) if len(krow) else ""
    higher_is_better = bool(krow["higher_is_better"].iloc[0]) if len(krow) else True
    if truth is None:
        truth = _load_truth(dataset, program_id, kpi)

    t0 = _time.perf_counter()
    method = resolve_method(opt.method, ep)
    ladder_kw = dict(control=opt.control, anticipation=opt.anticipation, n_boot=opt.n_boot, seed=opt.seed,
                     higher_is_better=higher_is_better, truth=truth, fallback_method="reg" if opt.method == "auto" else None)
    lad = run_ladder(ep, method=method, **ladder_kw)
    if _pools_without_comparison_month(ep, lad.anticipation):
        # the data chose a comparison month further back than the pooling was built for: a pool counted from a month
        # without one would lose its trainees, so the small months are pooled again for it (the choice is made on the
        # textbook fit, every month as it is, which pooling does not touch: the ladder makes the same choice)
        pool_k = lad.anticipation
        ep = build_estimation_panel(dataset, program_id, kpi, same_kpi_trainees=opt.same_kpi_trainees,
                                    **_panel_kw(opt, pool_k))
        ep.notes.append(
            f"The comparison month is {pool_k + 1} months before training, so the panel's first {pool_k + 1} months "
            "have none and take no part in pooling small training months (a pool counted from one of them would "
            "lose every trainee in it)."
        )
        method = resolve_method(opt.method, ep)
        lad = run_ladder(ep, method=method, **ladder_kw)
    method = lad.method  # outcome regression when the doubly robust guard fell back: every later fit uses it
    timings["ladder (incl. bootstrap)"] = _time.perf_counter() - t0
    rec, k = lad.recommended, lad.anticipation
    overall = rec.aggregate("simple")
    accounting = account_trainees(ep, rec)

    # ---- event study and diagnostics ------------------------------------------
    t0 = _time.perf_counter()
    dyn = rec.aggregate("dynamic")
    if truth and truth.get("att_event_time"):
        true_path = {int(r["event_time"]): r["att"] for r in truth["att_event_time"]}
        dyn["true_att"] = dyn["event_time"].map(true_path).where(dyn["event_time"] >= 0, 0.0)
    dyn0 = lad.controls_fit.aggregate("dynamic") if k else dyn
    pre = pretrend_test(rec)
    timings["event study"] = _time.perf_counter() - t0
    placebo = twcheck = honest = None
    if opt.diagnostics:
        t0 = _time.perf_counter()
        placebo = placebo_fake_dates(ep.prepared, shift=max(opt.placebo_shift, k + 1),
                                     anticipation=k, control=opt.control, method=method,
                                     pscore_trim=PSCORE_TRIM)
        twcheck = twfe_weight_check(ep.prepared)
        honest = honest_did_breakdown(rec)
        timings["diagnostics"] = _time.perf_counter() - t0
    ov = overlap_check(ep.prepared, min_cohort=opt.min_group_size,
                       n_used=(accounting.n_used, accounting.n_controls_used))

    notes = list(ep.notes)
    notes += _engine_notes(rec)
    handoff = _Handoff(
        program_id=str(program_id),
        kpi=kpi_arg,
        covariates=tuple(ep.prepared.covariates),
        method=method,
        anticipation=k,
        truth=truth,
        main=overall,
        reuse={0: lad.controls_fit.aggregate("simple")} if k else None,
        comparison_left_out=bool(ep.comparison_left_out),
        dr_se_ratio=lad.dr_se_ratio,
        dr_replaced=lad.dr_recommended.aggregate("simple") if lad.dr_recommended is not None else None,
        pool_anticipation=pool_k,
    )
    ev = ProgramEvaluation(
        program_id=str(program_id),
        program_name=program_name,
        kpi=kpi,
        unit=unit,
        higher_is_better=higher_is_better,
        cluster=ep.cluster,
        cluster_reason=ep.cluster_reason,
        method=method,
        small_cohorts=ep.small_cohorts,
        small_program=ep.small_program,
        options=opt,
        overall=overall,
        recommended=rec,
        textbook=lad.textbook,
        accounting=accounting,
        ladder=lad.table,
        event_study=dyn,
        event_study_unadjusted=dyn0,
        anticipation_auto=lad.anticipation_auto,
        dip=lad.dip,
        pretrend=pre,
        placebo=placebo,
        twfe_weights=twcheck,
        honest=honest,
        overlap=ov,
        heterogeneity=_EMPTY_HETEROGENEITY.copy(),
        robustness=_EMPTY_ROBUSTNESS.copy(),
        cohort_table=ep.cohort_table,
        truth=truth,
        notes=notes,
        timings=timings,
        dr_se_ratio=lad.dr_se_ratio,
        dr_fallback=lad.dr_fallback,
    )
    return ev, handoff, ep


_EMPTY_HETEROGENEITY = pd.DataFrame(columns=["dimension", "group", "trainees", "att", "se", "ci_low", "ci_high", "note"])
_EMPTY_ROBUSTNESS = pd.DataFrame(columns=["variant", "att", "se", "ci_low", "ci_high", "trainees_used", "controls_used", "note"])


def _evaluate_heterogeneity(ep: EstimationPanel, handoff: _Handoff, opt: EvaluationOptions) -> tuple[pd.DataFrame, float]:
    """Subgroup table of one evaluation, and its seconds."""
    t0 = _time.perf_counter()
    if not opt.heterogeneity:
        return _EMPTY_HETEROGENEITY.copy(), _time.perf_counter() - t0
    method = opt.heterogeneity_method
    guarded = method in ("dr", "ipw") and handoff.dr_replaced is not None
    if guarded:
        # the guard found this program's doubly robust fits unstable (a propensity model separated): its subgroups,
        # a fraction of the same trainees, would separate too (weighting by that propensity model, dr or ipw), so
        # they follow the recommended estimate's adjustment
        asked = METHOD_WORDS.get(method, method)
        method = handoff.method
    het = _heterogeneity(ep, handoff.anticipation, opt.control, method, opt.min_group_size, handoff.truth,
                         intervals=opt.subgroup_intervals)
    if guarded:
        said = f"{METHOD_WORDS.get(method, method)}, as the recommended estimate: {asked} was unstable here"
        het["note"] = [f"{n}; {said}" if n else said for n in het["note"].fillna("")]
    return het, _time.perf_counter() - t0


def _evaluate_robustness(dataset: Any, ep: EstimationPanel, handoff: _Handoff, opt: EvaluationOptions) -> tuple[pd.DataFrame, float]:
    """Robustness table of one evaluation, and its seconds."""
    t0 = _time.perf_counter()
    if not opt.robustness:
        return _EMPTY_ROBUSTNESS.copy(), _time.perf_counter() - t0
    k = handoff.anticipation
    same_kpi_panel = None
    if handoff.comparison_left_out and opt.same_kpi_trainees == "exclude":
        same_kpi_panel = build_estimation_panel(dataset, handoff.program_id, ep.kpi, same_kpi_trainees="keep",
                                                **_panel_kw(opt, handoff.pool_anticipation))
    pooled_panel = None
    if ep.small_program and ep.small_cohorts == "keep" and opt.small_cohorts == "auto":
        pooled_panel = build_estimation_panel(dataset, handoff.program_id, ep.kpi, same_kpi_trainees=opt.same_kpi_trainees,
                                              **{**_panel_kw(opt, handoff.pool_anticipation), "small_cohorts": "pool"})
    rob = _robustness(ep, handoff.main, k, handoff.method, opt.allow_unbalanced_panel, control=opt.control,
                      other_anticipation=(1 if k == 0 else 0), employee_clusters=ep.cluster != "employee",
                      same_kpi_panel=same_kpi_panel, pooled_panel=pooled_panel, reuse=handoff.reuse)
    if handoff.dr_replaced is not None:
        rob = pd.concat([rob.iloc[:1], _dr_replaced_row(handoff), rob.iloc[1:]], ignore_index=True)
    return rob, _time.perf_counter() - t0


def _dr_replaced_row(handoff: _Handoff) -> pd.DataFrame:
    """The robustness row of the unstable doubly robust estimate that outcome regression replaced."""
    agg = handoff.dr_replaced
    assert agg is not None
    lo, hi = agg.conf_int(0.95)
    return pd.DataFrame([{
        "variant": "Doubly robust (the default adjustment; unstable here, not used)",
        "att": agg.att, "se": agg.se, "ci_low": lo, "ci_high": hi,
        "trainees_used": agg.n_treated, "controls_used": agg.n_control,
        "note": narrative.dr_replaced_note(handoff.dr_se_ratio),
    }])


@dataclass
class AttributionReport:
    """Evaluations of several programs (what notebook 02 shows).

    Attributes
    ----------
    results : dict of str to ProgramEvaluation
        One evaluation per program that could be estimated.
    skipped : dict of str to str
        Programs that could not be estimated, with the reason in words.
    """

    results: dict[str, ProgramEvaluation]
    skipped: dict[str, str]
    options: EvaluationOptions | None = None

    @property
    def overview(self) -> pd.DataFrame:
        """One row per program: effect, SE, 95% CI, who is in it, raw change, share not caused, truth."""
        rows = []
        for pid, ev in self.results.items():
            lo, hi = ev.overall.conf_int(0.95)
            rows.append(
                {
                    "program_id": pid,
                    "program": ev.program_name,
                    "kpi": ev.kpi,
                    "unit": ev.unit,
                    "trainees": ev.accounting.n_used,
                    "trainees_in_program": ev.accounting.n_trainees,
                    "att": ev.overall.att,
                    "se": ev.overall.se,
                    "ci_low": lo,
                    "ci_high": hi,
                    "raw_change": ev.naive_before_after,
                    # a share of the raw change is read only when the effect is distinguishable from zero
                    "share_not_caused": ev.share_not_caused if not (lo <= 0 <= hi) else np.nan,
                    "true_att": (ev.truth or {}).get("overall_att", np.nan),
                }
            )
        for pid, why in self.skipped.items():
            rows.append({"program_id": pid, "program": why})
        return pd.DataFrame(rows)

    def exports(self) -> dict[str, pd.DataFrame]:
        """The exported tables stacked over programs (att_by_program, dynamic_profile, draws, accounting)."""
        out: dict[str, list[pd.DataFrame]] = {}
        for ev in self.results.values():
            for name, df in ev.exports().items():
                out.setdefault(name, []).append(df)
        return {name: pd.concat(dfs, ignore_index=True) for name, dfs in out.items()}


def evaluate_programs(
    dataset: Any,
    programs: Sequence[str] | None = None,
    options: EvaluationOptions | None = None,
    *,
    n_jobs: int | None = None,
    **overrides: Any,
) -> AttributionReport:
    """Run :func:`evaluate_program` on several programs (default: all).

    A program that cannot be estimated (no trainee with KPI rows, no comparison
    group, ...) is listed in ``skipped`` with the reason instead of stopping the
    report.

    Parameters
    ----------
    dataset : analysis.data.Dataset
    programs : sequence of str, optional
        Program ids; ``None`` = every program in the dataset.
    options : EvaluationOptions, optional
        Options of every evaluation.
    n_jobs : int, optional
        Worker processes (default: every core, ``os.cpu_count()``); never more than
        there are programs. ``1`` evaluates in this process, one program after the other.
    **overrides
        Single options by name, on top of ``options``.

    Returns
    -------
    AttributionReport

    Notes
    -----
    With more than one worker, the programs are evaluated in worker processes forked
    by a ``forkserver`` that imported this module first (on Linux; spawned elsewhere),
    each limited to one BLAS thread. A forked child of a process whose BLAS / OpenMP
    threads have run can deadlock; the fork server has only imported, and its workers
    skip the imports a spawned interpreter repeats (in a kernel of the kit's pipeline the
    fork server is a fork of the kernel made at its start, with the notebooks' imports done:
    :func:`analysis.kernel_forker.fork_multiprocessing_server`; its workers import the
    estimation engines themselves). Each evaluation is split in three
    tasks: the panel, method ladder, event study and diagnostics first, then
    the heterogeneity and the robustness tables, which need the ladder's comparison
    month and controls and so start once it is done; the pool runs whichever task is
    ready, so both cores stay busy. Every worker receives the dataset once, its
    ``kpi_monthly`` cut to the KPIs of the programs evaluated, and rebuilds a
    program's panel rather than being sent it. Every fit is the same computation on
    the same data as in-process (the bootstrap is seeded), so the results equal
    those of ``n_jobs=1``. Progress ("program P02 (2/3) started", "... finished in
    12.3 s") goes to :func:`analysis.progress.report_progress`, never to the output.
    The fork server imports the calling script again, so a script (not a notebook or
    a test) must call this under ``if __name__ == "__main__":``, as every spawn- or
    forkserver-based pool requires; Jupyter and papermill kernels need nothing.
    """
    opt = EvaluationOptions.build(options, **overrides)
    ids = list(programs) if programs is not None else [str(p) for p in dataset.programs["program_id"]]
    workers = min(len(ids), n_jobs if n_jobs is not None else (os.cpu_count() or 1))
    if workers > 1:
        outcome = _evaluate_in_workers(dataset, ids, opt, workers)
    else:
        outcome = {}
        for i, pid in enumerate(ids, 1):
            t0 = _time.perf_counter()
            report_progress(f"attribution: program {pid} ({i}/{len(ids)}) started")
            outcome[pid] = _evaluate_one(dataset, pid, opt)
            report_progress(_finished(pid, i, len(ids), _time.perf_counter() - t0, outcome[pid][1]))
    results: dict[str, ProgramEvaluation] = {}
    skipped: dict[str, str] = {}
    for pid in ids:
        ev, why = outcome[pid]
        if ev is not None:
            results[pid] = ev
        else:
            skipped[pid] = str(why)
    return AttributionReport(results, skipped, opt)


def _evaluate_one(dataset: Any, pid: str, opt: EvaluationOptions) -> tuple[ProgramEvaluation | None, str | None]:
    try:
        return evaluate_program(dataset, pid, options=opt), None
    except DataValidationError as exc:
        return None, f"not evaluated: {exc}"


def _finished(pid: str, i: int, n: int, seconds: float, why: str | None) -> str:
    what = "finished" if why is None else "not evaluated"
    return f"attribution: program {pid} ({i}/{n}) {what} in {seconds:.1f} s"


# --------------------------------------------------------------------------- #
# Worker processes
# --------------------------------------------------------------------------- #
#: The dataset of this worker process (set once by :func:`_init_worker`).
_WORKER_DATASET: Any = None
#: Panels this worker built, by program (the heterogeneity and robustness tasks of a
#: program often land on the worker that ran its ladder); the last two are kept.
_WORKER_PANELS: dict[tuple[str, tuple[str, ...]], EstimationPanel] = {}
_WORKER_LIMITS: Any = None
_WORKER_SHARED: Any = None


def _init_worker(dataset: Any, environ: dict[str, str]) -> None:
    """Worker start: the caller's environment, keep the dataset, import the engines, one BLAS thread.

    The fork server that forks the workers keeps the environment of its own start, an earlier
    call's perhaps; each worker takes the one of the call it serves.
    """
    global _WORKER_DATASET, _WORKER_LIMITS
    os.environ.clear()
    os.environ.update(environ)
    _WORKER_DATASET = dataset
    import diff_diff  # noqa: F401 - imported before the thread limit, so its libraries are covered
    import linearmodels  # noqa: F401
    import statsmodels.regression.linear_model  # noqa: F401
    from threadpoolctl import threadpool_limits

    _WORKER_LIMITS = threadpool_limits(limits=1)
    # per-cell regressions repeated by the fits of this worker's tasks are computed once (exact, bounded
    # memory; analysis/did_speedups.py); open for the worker's life, which ends with the pool
    global _WORKER_SHARED
    _WORKER_SHARED = did_speedups.shared_regressions()
    _WORKER_SHARED.__enter__()


def _keep_panel(handoff: _Handoff, ep: EstimationPanel) -> None:
    _WORKER_PANELS[(handoff.program_id, handoff.covariates)] = ep
    while len(_WORKER_PANELS) > 2:
        del _WORKER_PANELS[next(iter(_WORKER_PANELS))]


def _task_main(pid: str, opt: EvaluationOptions) -> tuple[ProgramEvaluation | None, _Handoff | None, str | None, int]:
    try:
        ev, handoff, ep = _evaluate_main(_WORKER_DATASET, pid, None, opt, None)
    except DataValidationError as exc:
        return None, None, f"not evaluated: {exc}", os.getpid()
    _keep_panel(handoff, ep)
    return ev, handoff, None, os.getpid()


def _task_part(part: str, handoff: _Handoff, opt: EvaluationOptions) -> tuple[pd.DataFrame | None, float, str | None, int]:
    dataset = _WORKER_DATASET
    try:
        ep = _WORKER_PANELS.get((handoff.program_id, handoff.covariates))
        if ep is None:
            ep = _panel_for(dataset, handoff, opt)
            _keep_panel(handoff, ep)
        if part == "heterogeneity":
            table, seconds = _evaluate_heterogeneity(ep, handoff, opt)
        else:
            table, seconds = _evaluate_robustness(dataset, ep, handoff, opt)
    except DataValidationError as exc:
        return None, 0.0, f"not evaluated: {exc}", os.getpid()
    return table, seconds, None, os.getpid()


def _for_workers(dataset: Any, ids: Sequence[str]) -> Any:
    """The dataset as sent to each worker: ``kpi_monthly`` cut to the KPIs of the programs.

    Kept whole when the cut would move the panel window (first to last KPI month of any
    KPI), which numbers the months of every panel.
    """
    if not isinstance(dataset, Dataset) or "kpi_monthly" not in dataset.tables:
        return dataset
    progs = dataset.programs
    if progs is None or "kpi" not in progs:
        return dataset
    kpis = set(progs.loc[progs["program_id"].astype(str).isin([str(p) for p in ids]), "kpi"].astype(str))
    rows = dataset.tables["kpi_monthly"]
    cut = rows.loc[rows["kpi"].astype(str).isin(kpis)]
    if len(cut) == len(rows) or cut.empty or cut["month"].min() != rows["month"].min() or cut["month"].max() != rows["month"].max():
        return dataset
    return Dataset(path=dataset.path, tables={**dataset.tables, "kpi_monthly": cut}, warnings=[],
                   fingerprints=dict(dataset.fingerprints))


def _evaluate_in_workers(
    dataset: Any, ids: list[str], opt: EvaluationOptions, workers: int
) -> dict[str, tuple[ProgramEvaluation | None, str | None]]:
    """Evaluate ``ids`` in ``workers`` processes forked by a fork server (see :func:`evaluate_programs`)."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

    n = len(ids)
    order = {pid: i for i, pid in enumerate(ids, 1)}
    # ready tasks: every ladder first (the other parts wait for one), then robustness (the longer) before heterogeneity;
    # among the parts, a worker that just finished a task takes one of a program whose ladder it ran: its store of
    # per-cell regressions (did_speedups.shared_regressions) holds much of what that part refits. With every other
    # worker busy, the task submitted next starts on the worker that just became free.
    ready: list[tuple[str, str]] = [("main", pid) for pid in ids]
    rank = {"main": 0, "robustness": 1, "heterogeneity": 2}
    ran_main: dict[str, int] = {}  # program -> the worker process that ran its ladder
    freed: list[int] = []  # workers that finished a task since the last submission, in order
    evs: dict[str, ProgramEvaluation] = {}
    handoffs: dict[str, _Handoff] = {}
    open_parts: dict[str, int] = {}
    started: dict[str, float] = {}
    outcome: dict[str, tuple[ProgramEvaluation | None, str | None]] = {}

    def finish(pid: str, ev: ProgramEvaluation | None, why: str | None) -> None:
        outcome[pid] = (ev, why)
        report_progress(_finished(pid, order[pid], n, _time.perf_counter() - started[pid], why))

    if sys.platform.startswith("linux"):
        ctx = multiprocessing.get_context("forkserver")
        # the server, started once per process, imports what every worker needs (_init_worker's engines too)
        ctx.set_forkserver_preload([__name__, "diff_diff", "linearmodels", "statsmodels.regression.linear_model"])
    else:  # macOS: a fork without exec is unsafe with its system frameworks (Python's own default there is spawn)
        ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(_for_workers(dataset, ids), dict(os.environ))) as pool:
        running: dict[Future, tuple[str, str]] = {}
        try:
            while ready or running:
                ready.sort(key=lambda task: rank[task[0]])
                while ready and len(running) < workers:  # no queue in the pool: a submitted task starts now
                    free = freed.pop(0) if freed else None
                    own = [i for i, (part, pid) in enumerate(ready) if part != "main" and ran_main.get(pid) == free]
                    part, pid = ready.pop(own[0] if own and ready[0][0] != "main" else 0)
                    if part == "main":
                        started[pid] = _time.perf_counter()
                        report_progress(f"attribution: program {pid} ({order[pid]}/{n}) started")
                        running[pool.submit(_task_main, pid, opt)] = (part, pid)
                    else:
                        running[pool.submit(_task_part, part, handoffs[pid], opt)] = (part, pid)
                freed.clear()  # a worker left idle (nothing was ready) takes whatever comes next
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    part, pid = running.pop(future)
                    if pid in outcome:  # a part of an evaluation that already failed
                        continue
                    if part == "main":
                        ev, handoff, why, worker = future.result()
                        freed.append(worker)
                        ran_main[pid] = worker
                        if ev is None or handoff is None:
                            finish(pid, None, why)
                            continue
                        evs[pid], handoffs[pid] = ev, handoff
                        open_parts[pid] = 2
                        ready += [("robustness", pid), ("heterogeneity", pid)]
                        continue
                    table, seconds, why, worker = future.result()
                    freed.append(worker)
                    if table is None:
                        ready = [task for task in ready if task[1] != pid]
                        finish(pid, None, why)
                        continue
                    ev = evs[pid]
                    setattr(ev, part, table)
                    ev.timings[part] = seconds
                    open_parts[pid] -= 1
                    if open_parts[pid] == 0:
                        # the in-process order of the timings: main parts, heterogeneity, robustness
                        ev.timings = {**{k: v for k, v in ev.timings.items() if k not in ("heterogeneity", "robustness")},
                                      "heterogeneity": ev.timings["heterogeneity"], "robustness": ev.timings["robustness"]}
                        finish(pid, ev, None)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return outcome
