r"""The training-needs list: who needs which program, how many, and which comes first.

For each program, the eligible people are those whose gap in the program's target competency
exceeds a threshold (people never assessed in it are counted apart as *unknown*, never as
eligible or not), with head counts by department and role — the figures the budget
multiplies by per-capita cost (export ``needs_by_program_group``).

Priority score of a program in a group (department × role), on a 0–100 scale when the weights
sum to 1:

.. math::

    \text{priority} = 100\,N\,(w_g\,G + w_c\,C + w_k\,K + w_s\,S + w_b\,B + w_e\,E)

* :math:`N` the share of the group's assessed people who are eligible (a group nobody in
  needs the program scores 0, however strategic the program);
* :math:`G` gap size: the eligible people's mean gap in the target competency ÷ the width of
  the scale;
* :math:`C` the competency's weight in the eligible people's roles (role weights normalized
  to sum to 1);
* :math:`K` the share of the KPI shortfall the competency explains: its share of the positive
  permutation importance among the competencies in :func:`analysis.gaps.shortfall_drivers`
  (the positive plain differences when the models could not be fitted; 0 for a KPI
  without a target);
* :math:`S, B, E` the program's strategic, business and employee weights in
  ``budget_priorities`` (divided by the column's largest value when any exceeds 1).

Default weights give the budget priorities 40% of the score, split 40 / 30 / 30 as in seed
``001`` (strategic / business / employee), and the measured need the other 60%.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.data import DataValidationError, Dataset
from analysis.gaps.drivers import DriverResults, shortfall_drivers
from analysis.gaps.levels import GapResults, competency_gaps
from analysis.gaps.truth import gap_truth

__all__ = ["DEFAULT_NEEDS_WEIGHTS", "DEFAULT_THRESHOLD", "NeedsResults", "measurement_band", "resolution", "training_needs"]

#: Gap (level points) above which a person needs the program (matches the sample's ground truth).
DEFAULT_THRESHOLD = 0.5
#: Weights of the priority score's components (sum 1: a score of 0-100).
DEFAULT_NEEDS_WEIGHTS: dict[str, float] = {
    "gap": 0.25, "competency_weight": 0.15, "kpi_explained": 0.20, "strategic": 0.16, "business": 0.12, "employee": 0.12,
}
COMPONENTS = {"gap": "G", "competency_weight": "C", "kpi_explained": "K", "strategic": "S", "business": "B", "employee": "E"}
BUDGET_PARTS = ("strategic", "business", "employee")


@dataclass
class NeedsResults:
    """The prioritized training-needs list (from :func:`training_needs`).

    Attributes
    ----------
    by_program : DataFrame
        One row per program, highest priority first: program_id, name, competency, kpi, n
        (people whose role requires the competency), assessed, unknown, eligible, eligible_low /
        eligible_high (the range assessment noise leaves, :func:`measurement_band`),
        noise_shift, mean_gap, the components G, C, K, S, B, E, priority_score, and on generated
        data true_eligible and true_eligible_now.
    by_group : DataFrame
        One row per program × department × role: program_id, department, role, n, assessed,
        unknown, eligible, mean_gap, N, G, C, K, S, B, E, priority_score.
    weights : dict
        The weights used (after any redistribution).
    threshold : float
    noise_sd : float
        Assessment noise assumed by the measurement band.
    notes : list of str
    """

    by_program: pd.DataFrame
    by_group: pd.DataFrame
    weights: dict[str, float]
    threshold: float
    noise_sd: float
    notes: list[str] = field(default_factory=list)

    @property
    def needs_by_program_group(self) -> pd.DataFrame:
        """The export the budget reads: program_id, department, role, eligible, unknown, priority_score, n."""
        return self.by_group[["program_id", "department", "role", "eligible", "unknown", "priority_score", "n"]].copy()

    @property
    def formula(self) -> str:
        """The priority formula with the weights in use, in words."""
        terms = " + ".join(f"{w:.2f}·{COMPONENTS[k]}" for k, w in self.weights.items() if w > 0)
        return (f"priority = 100 × N × ({terms}), where N = share of the assessed people whose gap exceeds the threshold "
                f"({self.threshold:g}), G = their mean gap in the target competency ÷ scale width, C = the competency's weight "
                "in their role, K = share of the KPI shortfall the competency explains (shortfall drivers), S / B / E = the program's "
                "strategic / business / employee weights in budget_priorities. With weights summing to 1 the score runs from 0 to 100.")

    @property
    def summary(self) -> pd.DataFrame:
        """Per program: eligible (range), unknown, priority score (and truth where known)."""
        cols = ["program_id", "name", "competency", "n", "eligible", "eligible_low", "eligible_high", "unknown", "priority_score"]
        return self.by_program[[c for c in [*cols, "true_eligible"] if c in self.by_program.columns]]


def _weights(weights: Mapping[str, float] | None, have_budget: bool, notes: list[str]) -> dict[str, float]:
    w = dict(DEFAULT_NEEDS_WEIGHTS if weights is None else weights)
    unknown = sorted(set(w) - set(COMPONENTS))
    if unknown:
        raise ValueError(f"training_needs: unknown weight(s) {unknown}; known: {list(COMPONENTS)}")
    w = {k: float(w.get(k, 0.0)) for k in COMPONENTS}
    if any(not np.isfinite(v) or v < 0 for v in w.values()):
        raise ValueError(f"training_needs: weights must be finite and >= 0, got {w}")
    if not have_budget and any(w[k] > 0 for k in BUDGET_PARTS):
        moved = sum(w[k] for k in BUDGET_PARTS)
        rest = sum(v for k, v in w.items() if k not in BUDGET_PARTS)
        for k in BUDGET_PARTS:
            w[k] = 0.0
        if rest > 0:
            w = {k: (v * (rest + moved) / rest if k not in BUDGET_PARTS else 0.0) for k, v in w.items()}
        notes.append(f"No budget_priorities table: its weight ({moved:.2f}) is shared out over the measured-need components.")
    return w


def _explained(driver: DriverResults | None) -> dict[str, float]:
    """Share of the shortfall each competency explains: positive importance shares (plain differences as fallback)."""
    if driver is None:
        return {}
    comp = driver.competencies
    if comp.empty:
        return {}
    val = comp["importance"] if comp["importance"].notna().any() else comp["difference"]
    val = val.fillna(0.0).clip(lower=0.0)
    total = float(val.sum())
    return dict(zip(comp["feature"], (val / total).to_numpy() if total > 0 else np.zeros(len(val))))


def resolution(scores: pd.Series) -> float:
    """The step scores are recorded in (0.1 for ``3.4, 3.5``; 0 when they look continuous)."""
    vals = np.unique(np.round(scores.dropna().to_numpy(float), 9))
    if len(vals) < 2:
        return 0.0
    step = float(np.min(np.diff(vals)))
    return step if step >= 0.01 else 0.0


def measurement_band(required: np.ndarray, level: np.ndarray, threshold: float, noise_sd: float, *, step: float = 0.0,
                     draws: int = 200, seed: int = 7) -> dict[str, float]:
    """How assessment noise and the recording step move an eligible count.

    Adds one more round of noise (sd ``noise_sd``) to the measured levels, re-records them on
    the ``step`` grid and recounts, ``draws`` times. The mean change estimates how far the noise
    already in the data has moved the count (SIMEX, Cook & Stefanski 1994: one more unit of the
    same noise moves it about as far again), the spread how much another set of assessments
    could differ. People recorded exactly at the threshold (within half a step) are not
    counted, though their true gap may exceed it: they widen the range upward.

    Returns
    -------
    dict
        shift (mean recount − count), sd (of the recounts), at_threshold (people recorded at
        the threshold), low and high (count − shift ∓ 2 sd, high + at_threshold).
    """
    gap = required - level
    count = float((gap > threshold).sum())
    at = float(((gap <= threshold) & (gap >= threshold - step / 2 - 1e-9)).sum()) if step > 0 else 0.0
    if len(level) == 0 or noise_sd <= 0:
        return {"shift": 0.0, "sd": 0.0, "at_threshold": at, "low": count, "high": count + at}
    rng = np.random.default_rng(seed)
    noisy = level[None, :] + rng.normal(0.0, noise_sd, size=(draws, len(level)))
    if step > 0:
        noisy = np.round(noisy / step) * step
    sims = ((required[None, :] - noisy) > threshold + 1e-9).sum(axis=1)
    shift, sd = float(sims.mean() - count), float(sims.std(ddof=1))
    return {"shift": shift, "sd": sd, "at_threshold": at, "low": count - shift - 2 * sd, "high": count - shift + 2 * sd + at}


def _noise_sd(gaps: GapResults, notes: list[str]) -> float:
    cal = gaps.calibration
    row = cal[(cal["source"] == "manager") & (cal["competency"] == "all")] if len(cal) else cal
    if len(row) and row["n_pairs"].iloc[0] >= 20 and np.isfinite(row["spread"].iloc[0]):
        return float(row["spread"].iloc[0] / np.sqrt(2))
    notes.append("No manager-vs-test pairs to estimate assessment noise from: the measurement band assumes an sd of 0.3 level points.")
    return 0.3


def training_needs(dataset: Dataset, *, threshold: float = DEFAULT_THRESHOLD, weights: Mapping[str, float] | None = None,
                   gaps: GapResults | None = None, drivers: Mapping[str, DriverResults] | None = None,
                   noise_sd: float | None = None) -> NeedsResults:
    """Eligible people per program and group, and a priority score.

    Parameters
    ----------
    dataset : Dataset
        Needs ``assessments`` and ``role_requirements``; ``budget_priorities`` optional.
    threshold : float
        A person is eligible when their gap in the program's target competency exceeds it.
    weights : mapping, optional
        Weights of the score's components (keys of :data:`DEFAULT_NEEDS_WEIGHTS`; missing keys
        are 0). Without ``budget_priorities`` its three weights are shared out over the rest.
    gaps : GapResults, optional
        Current gaps (:func:`analysis.gaps.competency_gaps`; computed when not given).
    drivers : mapping of KPI to DriverResults, optional
        Shortfall drivers per KPI; computed for every program's KPI with a target when not given
        (a KPI missing from a given mapping scores K = 0).
    noise_sd : float, optional
        Assessment noise for the measurement band; default estimated from manager-vs-test pairs
        (sd of the difference ÷ √2), else 0.3.

    Returns
    -------
    NeedsResults

    Raises
    ------
    DataValidationError
        A ``programs.target_competency`` that no role requires (naming the programs).
    """
    gaps = gaps if gaps is not None else competency_gaps(dataset)
    notes: list[str] = []
    programs = dataset.tables["programs"].drop(columns="_line", errors="ignore")
    req = dataset.tables["role_requirements"]
    bad = programs[~programs["target_competency"].isin(req["competency"])]
    if len(bad):
        lines = "\n".join(f"  program_id={r.program_id!r}, target_competency={r.target_competency!r}" for r in bad.head(5).itertuples())
        raise DataValidationError(
            f"table programs, column 'target_competency': expected a competency some role requires in role_requirements; "
            f"{len(bad)} program(s) target one no role requires:\n{lines}", table="programs", column="target_competency",
            rows=bad[["program_id", "target_competency"]].head(5))
    budget = dataset.tables.get("budget_priorities")
    w = _weights(weights, budget is not None, notes)
    if budget is not None:
        b = budget.set_index("program_id")[["strategic_weight", "business_weight", "employee_weight"]].astype(float)
        b = b / b.max().clip(lower=1.0)
        missing = sorted(set(programs["program_id"]) - set(b.index))
        if missing:
            notes.append(f"Program(s) {', '.join(missing)} not in budget_priorities: their strategic, business and employee parts score 0.")
    else:
        b = pd.DataFrame(columns=["strategic_weight", "business_weight", "employee_weight"], dtype=float)
    kd = dataset.tables["kpi_definitions"]
    with_target = set(kd.loc[kd["target"].notna(), "kpi"]) if "target" in kd.columns else set()
    if drivers is None:
        drivers = {k: shortfall_drivers(dataset, k) for k in sorted(set(programs["kpi"]) & with_target)}
    no_k = sorted(set(programs["kpi"]) - set(drivers))
    if no_k and w["kpi_explained"] > 0:
        notes.append(f"No shortfall drivers for KPI(s) {', '.join(no_k)} (no target): the shortfall part K scores 0 there.")
    width = gaps.scale[1] - gaps.scale[0]
    sd = float(noise_sd) if noise_sd is not None else _noise_sd(gaps, notes)
    truth = (gap_truth(dataset) or {}).get("needs", {})
    step = resolution(dataset.tables["assessments"]["score"])
    be = gaps.by_employee
    group_rows, prog_rows = [], []
    for p in programs.sort_values("program_id").itertuples():
        mine = be[be["competency"] == p.target_competency]
        explained = _explained(drivers.get(p.kpi)).get(p.target_competency, 0.0)
        s_, b_, e_ = (b.loc[p.program_id].to_numpy() if p.program_id in b.index else np.zeros(3))

        def score(part: pd.DataFrame) -> dict[str, float]:
            known = part["status"] != "unknown"
            elig = part["gap"] > threshold
            comp = {"N": float(elig.sum() / known.sum()) if known.any() else 0.0,
                    "G": float(part.loc[elig, "gap"].mean() / width) if elig.any() else 0.0,
                    "C": float(part.loc[elig, "weight"].mean()) if elig.any() else float(part["weight"].mean()) if len(part) else 0.0,
                    "K": float(explained), "S": float(s_), "B": float(b_), "E": float(e_)}
            comp["priority_score"] = 100.0 * comp["N"] * sum(w[k] * comp[c] for k, c in COMPONENTS.items())
            return {"n": len(part), "assessed": int(known.sum()), "unknown": int((~known).sum()), "eligible": int(elig.sum()),
                    "mean_gap": float(part.loc[known, "gap"].mean()) if known.any() else np.nan, **comp}

        for (dept, role), part in mine.groupby(["department", "role"], sort=True):
            group_rows.append({"program_id": p.program_id, "department": dept, "role": role, **score(part)})
        row = {"program_id": p.program_id, "name": p.name, "competency": p.target_competency, "kpi": p.kpi, **score(mine)}
        known = mine[mine["status"] != "unknown"]
        band = measurement_band(known["required_level"].to_numpy(float), known["current_level"].to_numpy(float), threshold, sd, step=step)
        row.update(eligible_low=band["low"], eligible_high=band["high"], noise_shift=band["shift"], at_threshold=int(band["at_threshold"]))
        t = truth.get(p.program_id)
        if t and float(t.get("threshold", np.nan)) == float(threshold):
            row.update(true_eligible=t.get("true_eligible"), true_eligible_now=t.get("true_eligible_now"))
        prog_rows.append(row)
    lead = ["program_id", "name", "competency", "kpi", "n", "assessed", "unknown", "eligible", "eligible_low", "eligible_high", "noise_shift",
            "at_threshold", "mean_gap", "N", "G", "C", "K", "S", "B", "E", "priority_score"]
    by_program = pd.DataFrame(prog_rows)
    by_program = by_program[[c for c in [*lead, "true_eligible", "true_eligible_now"] if c in by_program.columns]]
    by_program = by_program.sort_values(["priority_score", "program_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    gcols = ["program_id", "department", "role", "n", "assessed", "unknown", "eligible", "mean_gap", "N", "G", "C", "K", "S", "B", "E", "priority_score"]
    by_group = pd.DataFrame(group_rows, columns=gcols)
    by_group = by_group.sort_values(["program_id", "priority_score", "department", "role"], ascending=[True, False, True, True], kind="stable")
    return NeedsResults(by_program=by_program, by_group=by_group.reset_index(drop=True), weights=w, threshold=float(threshold),
                        noise_sd=sd, notes=notes)
