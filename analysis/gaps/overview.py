"""The whole gap analysis of a dataset in one results object, and the sentences its report states.

:func:`analyse_gaps` runs every step of notebook 01 — competency gaps, KPI gaps, shortfall
drivers per KPI, segments per program, the training-needs list — and says which steps are not
available (and why) instead of failing: without ``assessments`` or ``role_requirements`` only
the KPI gaps can be computed. The sentences (findings, truth comparisons) are built from the
results' numbers here, so the notebook only shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from analysis.data import Dataset
from analysis.gaps.drivers import DriverResults, shortfall_drivers
from analysis.gaps.kpi import DEFAULT_WINDOW_MONTHS, KpiGapResults, kpi_gaps
from analysis.gaps.levels import GapResults, GapsUnavailable, competency_gaps, require_tables
from analysis.gaps.needs import DEFAULT_THRESHOLD, NeedsResults, training_needs
from analysis.gaps.segments import SegmentResults, gap_segments
from analysis.gaps.truth import gap_truth, label
from analysis.privacy import pseudonymize

__all__ = ["LABELS", "GapAnalysis", "analyse_gaps", "person_level_table"]

#: Column labels in words for the gap tables (passed to the report's formatting layer).
LABELS: dict[str, str] = {
    "competency": "Competency", "required_level": "Required level", "weight": "Weight in role", "n_assessed": "Assessed",
    "share_below_required": "Below required", "share_unknown": "Never assessed", "mean_gap": "Mean gap (levels)",
    "median_gap": "Median gap (levels)", "mean_level": "Mean level", "n_complete": "People (all assessed)",
    "p10": "10th percentile", "p90": "90th percentile", "n_under_target": "Under target", "share_under_target": "Under target",
    "mean_value": "Mean value", "target": "Target", "mean_shortfall": "Mean shortfall", "slope_per_year": "Change of share per year",
    "feature": "Feature", "kind": "Kind", "share_gap_under_target": "Below required: under-target staff",
    "share_gap_on_target": "Below required: on-target staff", "difference": "Difference", "n_on_target": "On target",
    "importance_logit": "Importance, logistic", "importance_logit_sd": "± sd over folds (logistic)",
    "importance_gbm": "Importance, boosted trees", "importance_gbm_sd": "± sd over folds (trees)", "importance": "Importance (mean)",
    "rank": "Rank", "true_rank": "True rank (sample data)", "true_kpi_units_lost": "True KPI loss per person (sample data)",
    "model": "Model", "auc": "Out-of-fold AUC", "auc_sd": "± sd over folds", "rule": "Who", "n_below": "Below required",
    "lift": "Times the overall share", "eligible_low": "Range low", "eligible_high": "Range high", "noise_shift": "Noise shift",
    "at_threshold": "Recorded at the threshold", "true_eligible": "True count (sample data)",
    "true_eligible_now": "True count at panel end (sample data)", "assessed": "Assessed", "source": "Source",
    "n_pairs": "Pairs with a test", "offset": "Offset vs test", "spread": "Spread (sd)", "share_above_test": "Above the test",
    "share_below_test": "Below the test", "median_days_apart": "Median days apart", "mean_difference": "Self minus manager",
    "share_self_higher": "Self higher", "share_self_lower": "Self lower", "share_equal": "Equal",
    "n_smaller_group": "Smaller group",
}  # fmt: skip


def _ordinal(k: int) -> str:
    return f"{k}{'th' if 10 <= k % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(k % 10, 'th')}"


@dataclass
class GapAnalysis:
    """Every result of notebook 01 (from :func:`analyse_gaps`).

    Attributes
    ----------
    kpi : KpiGapResults
        Always computed (needs only the required tables).
    gaps : GapResults or None
        None when ``assessments`` or ``role_requirements`` is missing.
    drivers : dict of str to DriverResults
        Per KPI with a target.
    segments : dict of str to SegmentResults
        Per program, on its target competency.
    needs : NeedsResults or None
    missing : list of str
        Tables the competency part needs and the dataset lacks.
    min_group_size : int
    has_truth : bool
        Generated data with a ``ground_truth.json``.
    """

    kpi: KpiGapResults
    gaps: GapResults | None = None
    drivers: dict[str, DriverResults] = field(default_factory=dict)
    segments: dict[str, SegmentResults] = field(default_factory=dict)
    needs: NeedsResults | None = None
    missing: list[str] = field(default_factory=list)
    min_group_size: int = 5
    has_truth: bool = False
    programs: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def available(self) -> bool:
        """Whether the competency part (gaps, drivers, segments, needs) was computed."""
        return self.gaps is not None

    @property
    def unavailable_text(self) -> str:
        """The "not available" page's sentence."""
        return (f"Not available: the competency gap analysis needs tables {', '.join(self.missing)}, which this dataset does not "
                "have. Only the KPI gaps against target are shown; add the assessments and the competency model "
                "(role_requirements) to get the rest.")

    # ------------------------------------------------------------------ findings in words
    def gap_finding(self) -> str:
        """Where the gaps are: the largest role × competency shortfall and how widespread they are."""
        g = self.gaps
        top = g.largest_gaps(3, min_group_size=self.min_group_size)
        if top.empty:
            return "No role × competency group is large enough to report."
        r = top.iloc[0]
        s = g.summary[g.summary["n_assessed"] >= self.min_group_size]
        many = int((s["share_below_required"] > 0.5).sum())
        unknown = float(g.by_employee["status"].eq("unknown").mean())
        return (f"The widest gap: {r['share_below_required']:.0%} of {r['role']} staff are below the required level in "
                f"{label(r['competency'])} (n = {int(r['n_assessed']):,}, mean gap {r['mean_gap']:.2f} level points); "
                f"in {many} of {len(s)} role × competency pairs more than half are below. "
                f"{unknown:.1%} of required competencies were never assessed (unknown, not counted as met).")

    def driver_finding(self, kpi: str) -> str:
        """Which competency explains a KPI shortfall, in words."""
        d = self.drivers[kpi]
        share = self.kpi.by_person[self.kpi.by_person["kpi"] == kpi]["under_target"].mean()
        return f"{share:.0%} of people are under the {label(kpi)} target now. " + d.summary

    def needs_finding(self) -> str:
        """Who needs which program, highest priority first."""
        n = self.needs
        parts = []
        for r in n.by_program.itertuples():
            parts.append(f"{r.program_id} {r.name}: {r.eligible:,} people have a {label(r.competency)} gap above {n.threshold:g} "
                         f"(about {max(0, r.eligible_low):,.0f}-{r.eligible_high:,.0f} given assessment noise), {r.unknown:,} never "
                         f"assessed; priority {r.priority_score:.0f} of 100")
        return "Training needs, highest priority first — " + "; ".join(parts) + "."

    def driver_truth(self, kpi: str) -> str | None:
        """The generator's top driver beside the estimate (sample data only)."""
        d = self.drivers[kpi]
        if "true_rank" not in d.table.columns or d.top is None:
            return None
        comp = d.competencies
        true_top = comp.loc[comp["true_rank"] == 1, "feature"]
        if true_top.empty:
            return None
        t = str(true_top.iloc[0])
        rank = int(comp.index[comp["feature"] == t][0]) + 1
        agree = "all three" if (comp["rank"].rank().astype(int).to_numpy() == comp["true_rank"].to_numpy()).all() else None
        return (f"On this sample the generator's true top driver of {label(kpi)} is {label(t)}; the analysis ranks it "
                f"{_ordinal(rank)}" + (f" and orders {agree} competencies as the truth does." if agree and len(comp) == 3 else "."))

    def needs_truth(self) -> str | None:
        """True eligible counts beside the estimates (sample data only)."""
        bp = self.needs.by_program if self.needs is not None else None
        if bp is None or "true_eligible" not in bp.columns:
            return None
        parts = []
        for r in bp.itertuples():
            inside = r.eligible_low <= r.true_eligible <= r.eligible_high
            parts.append(f"{r.program_id} {r.eligible:,} measured vs {int(r.true_eligible):,} true "
                         f"({'inside' if inside else 'outside'} the stated range)")
        low = bool(((bp["eligible"] < bp["true_eligible"]) & (bp["eligible_low"] <= bp["true_eligible"]) & (bp["true_eligible"] <= bp["eligible_high"])).all())
        return ("On this sample, eligible head counts against the generator's true counts (true gap above the threshold at the "
                "latest assessment): " + "; ".join(parts) + "."
                + (" Every measured count is below the truth: scores are recorded to 0.1, and people recorded exactly at the "
                   "threshold are not counted although some are truly above it." if low else ""))

    @property
    def value_labels(self) -> dict[str, dict[str, str]]:
        """Display names of competency codes and model features, for the formatting layer."""
        from analysis.report import readable

        comps = set(self.gaps.by_employee["competency"]) if self.gaps is not None else set()
        names = {c: readable(c) for c in comps}
        return {"competency": names, "feature": {**names, "tenure_years": "Tenure (years)", "department": "Department"}}

    @property
    def target_competencies(self) -> list[str]:
        """The programs' target competencies (sorted)."""
        return sorted(set(self.programs["target_competency"]))

    # ------------------------------------------------------------------ figure titles (findings)
    def heatmap_title(self) -> str:
        top = self.gaps.largest_gaps(1, min_group_size=self.min_group_size)
        if top.empty:
            return "Share below the required level by role and competency"
        r = top.iloc[0]
        return f"{label(r['competency']).capitalize()} ({r['role']}) has the widest gap: {r['share_below_required']:.0%} below the required level"

    def index_title(self) -> str:
        d = self.gaps.index_by_group("department")
        d = d[d["n_complete"] >= self.min_group_size]
        if d.empty:
            return "Weighted gap index by department"
        r = d.sort_values("median", ascending=False).iloc[0]
        return (f"{r['department']} carries the largest weighted gap (median {r['median']:.2f} level points); "
                f"a tenth of its staff are above {r['p90']:.2f}")

    def trend_title(self) -> str:
        t = self.kpi.trend.dropna(subset=["slope_per_year"])
        if t.empty:
            return "Share of people under target per month"
        moving = t[(t["ci_low"] > 0) | (t["ci_high"] < 0)]
        if moving.empty:
            return "The share of people under target has no clear trend for any KPI"
        words = [f"{label(r.kpi)} {'falling' if r.slope_per_year < 0 else 'rising'} {100 * abs(r.slope_per_year):.0f} percentage points a year"
                 for r in moving.itertuples()]
        return "Share of people under target: " + ", ".join(words)

    def importance_title(self, kpi: str) -> str:
        d = self.drivers[kpi]
        if d.top is None or d.auc.empty:
            return f"What goes with the {label(kpi)} shortfall"
        return f"{label(d.top).capitalize()} is the strongest signal of the {label(kpi)} shortfall (association, not effect)"

    def needs_title(self) -> str:
        r = self.needs.by_program.iloc[0]
        return f"{r['program_id']} comes first: {r['eligible']:,} people with a {label(r['competency'])} gap above {self.needs.threshold:g}"

    @property
    def monthly_under_target(self) -> pd.DataFrame:
        """Share under target per KPI and month (people-weighted over groups), with n."""
        m = self.kpi.by_month
        g = m.assign(under=m["share_under_target"] * m["n"]).groupby(["kpi", "month"], sort=True)
        out = pd.DataFrame({"n": g["n"].sum(), "under": g["under"].sum()}).reset_index()
        out["share_under_target"] = out["under"] / out["n"]
        return out[["kpi", "month", "n", "share_under_target"]]


def analyse_gaps(dataset: Dataset, *, threshold: float = DEFAULT_THRESHOLD, source_weights: Mapping[str, float] | None = None,
                 calibrate: bool = False, weights: Mapping[str, float] | None = None, window_months: int = DEFAULT_WINDOW_MONTHS,
                 seed: int = 7, min_group_size: int = 5) -> GapAnalysis:
    """Every step of the gap analysis, with the steps a dataset cannot support said, not crashed.

    Parameters
    ----------
    dataset : Dataset
    threshold, weights
        Of :func:`analysis.gaps.training_needs`.
    source_weights, calibrate
        Of :func:`analysis.gaps.competency_gaps`.
    window_months, seed
        Of :func:`analysis.gaps.shortfall_drivers`.
    min_group_size : int
        Smallest group a finding may describe (segments' leaves, the widest-gap sentence).

    Returns
    -------
    GapAnalysis
    """
    kpi = kpi_gaps(dataset, window_months=window_months)
    programs = dataset.tables["programs"]
    out = GapAnalysis(kpi=kpi, min_group_size=min_group_size, has_truth=gap_truth(dataset) is not None, programs=programs)
    try:
        require_tables(dataset)
    except GapsUnavailable as exc:
        out.missing = exc.missing
        return out
    out.gaps = competency_gaps(dataset, source_weights=source_weights, calibrate=calibrate)
    with_target = sorted(set(kpi.by_person["kpi"]))
    out.drivers = {k: shortfall_drivers(dataset, k, window_months=window_months, seed=seed) for k in with_target}
    grades = dataset.tables["employees"].set_index("employee_id")["grade"] if "grade" in dataset.tables["employees"] else None
    for p in programs.sort_values("program_id").itertuples():
        if (out.gaps.by_employee["competency"] == p.target_competency).any():
            try:
                out.segments[p.program_id] = gap_segments(out.gaps, p.target_competency, min_group_size=min_group_size, grades=grades, seed=seed)
            except ValueError:
                pass  # nobody assessed in it: the needs list says so (all unknown)
    out.needs = training_needs(dataset, threshold=threshold, weights=weights, gaps=out.gaps, drivers=out.drivers)
    return out


def person_level_table(gaps: GapResults, salt: str) -> pd.DataFrame:
    """The optional person-level export: one row per employee × required competency, pseudonymous keys only.

    Parameters
    ----------
    gaps : GapResults
    salt : str
        Secret salt of the keys (:func:`analysis.privacy.pseudonymize`); required, non-empty.

    Returns
    -------
    DataFrame
        person_key, role, department, competency, required_level, current_level, gap, status.
    """
    if not salt:
        raise ValueError("person_level_table: a non-empty secret salt is required for pseudonymous keys")
    be = gaps.by_employee
    out = be[["role", "department", "competency", "required_level", "current_level", "gap", "status"]].copy()
    out.insert(0, "person_key", pseudonymize(be["employee_id"], salt).to_numpy())
    return out.sort_values(["person_key", "competency"], kind="stable").reset_index(drop=True)
