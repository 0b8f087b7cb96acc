"""Everything notebook 04 shows, built in one call, and the few display helpers it needs.

:func:`load_results` reads the attribution (notebook 02) and ROI (notebook 03) results of
the same run through :func:`analysis.upstream.load_upstream`; what is missing is recorded
with the reason, and the ladder says "not yet measured". :func:`build_scorecard_report`
computes the balanced scorecard, the Kirkpatrick ladder and funnel, the loop's layers,
scrap learning and the signals; :func:`truth_table` sets the values the sample generator
controls beside the computed ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.scorecard.balanced import ScorecardResult, compute_scorecard
from analysis.scorecard.kirkpatrick import funnel, kirkpatrick_ladder
from analysis.scorecard.library import KpiLibrary, load_library
from analysis.scorecard.loop import competency_change, competency_change_by_months, outcome_layer, process_layer, transfer_layer
from analysis.scorecard.scrap import scrap_learning
from analysis.scorecard.signals import Signals, format_value, signals
from analysis.scorecard.tdrp import attainment

__all__ = ["ScorecardReport", "UpstreamResults", "build_scorecard_report", "format_by_unit", "load_results", "truth_table"]

ATTRIBUTION = "02_training_attribution"
ROI = "03_roi_budget"


@dataclass
class UpstreamResults:
    """The results notebook 04 reads from notebooks 02 and 03 (None where missing, with the reason)."""

    att_by_program: pd.DataFrame | None = None
    dynamic_profile: pd.DataFrame | None = None
    roi_by_program: pd.DataFrame | None = None
    sources: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def sentences(self) -> list[str]:
        """Where each upstream result came from, or why it is missing, in words."""
        out = [f"{nb}: read from {src}." for nb, src in self.sources.items()]
        out += [f"{nb}: not available — {why}" for nb, why in self.missing.items()]
        return out


def load_results(data_dir: str | Path, output_dir: str | Path | None = None, *, compute: bool = False,
                 reports_dir: str | Path | None = None) -> UpstreamResults:
    """Read notebooks 02 and 03's exports for this run (see :func:`analysis.upstream.load_upstream`).

    Parameters
    ----------
    data_dir : str or Path
        The data folder.
    output_dir : str or Path, optional
        This run's folder (None outside a scheduled run).
    compute : bool
        Compute notebook 02's results now when no run has them (about a minute on the sample).
    reports_dir : str or Path, optional
        Where earlier runs live (default: the parent of ``output_dir``).

    Returns
    -------
    UpstreamResults
    """
    from analysis.upstream import UpstreamMissing, load_upstream

    res = UpstreamResults()
    for nb in (ATTRIBUTION, ROI):
        try:
            up = load_upstream(nb, data_dir=data_dir, output_dir=output_dir, reports_dir=reports_dir, compute=compute)
        except UpstreamMissing as exc:
            res.missing[nb] = str(exc)
            continue
        res.sources[nb] = up.source
        if nb == ATTRIBUTION:
            res.att_by_program = up.tables.get("att_by_program")
            res.dynamic_profile = up.tables.get("dynamic_profile")
        else:
            res.roi_by_program = up.tables.get("roi_by_program")
            if res.roi_by_program is None:
                res.missing[nb] = f"the {nb} results hold no roi_by_program table"
    return res


@dataclass
class ScorecardReport:
    """All parts of the scorecard page.

    Attributes
    ----------
    scorecard : ScorecardResult
        The balanced scorecard (TDRp columns, status, trend, role cards).
    ladder, funnel : DataFrame
        Kirkpatrick levels 1-5 per program; people reaching levels 1-3.
    process, outcome, transfer, competency : DataFrame
        The learn -> practice -> exam layers.
    scrap : DataFrame
        Scrap learning and its cost per program.
    signals : Signals
        Strongest and weakest signals, not yet measured.
    upstream : UpstreamResults
    """

    scorecard: ScorecardResult
    ladder: pd.DataFrame
    funnel: pd.DataFrame
    process: pd.DataFrame
    outcome: pd.DataFrame
    transfer: pd.DataFrame
    competency: pd.DataFrame
    scrap: pd.DataFrame
    signals: Signals
    upstream: UpstreamResults
    on_track: float = 1.0
    at_risk: float = 0.9

    @property
    def scored(self) -> pd.DataFrame:
        """Scorecard rows with a status against target, with their attainment."""
        t = self.scorecard.table
        s = t[t["status"].isin(["on track", "at risk", "off track"])].copy()
        s["attainment"] = [attainment(a, g, d == "higher") for a, g, d in zip(s["last_actual"], s["target"], s["direction"])]
        return s.reset_index(drop=True)

    def tdrp_report(self) -> pd.DataFrame:
        """The TDRp report of the scorecard with scrap learning (share and cost, all programs) under efficiency.

        Scrap learning has no period of its own (it is read from the follow-ups): its rows
        carry the pooled share of trainees who had not applied the training within six
        weeks and that share of the programs' cost, with Wilson-interval bounds in the
        forecast columns left blank.
        """
        base = self.scorecard.tdrp_report()
        s = self.scrap.dropna(subset=["scrap_share"])
        if s.empty:
            return base
        from analysis.scorecard.loop import wilson_interval

        n, k = float(s["n_followed"].sum()), float(s["n_applied"].sum())
        share = 1 - k / n
        cost = float((s["scrap_share"] * s["program_cost"]).sum())
        lo, hi = wilson_interval(k, n)
        extra = pd.DataFrame([
            {"tdrp": "efficiency", "label": "Scrap learning (all programs, 95% interval in the forecast columns)", "unit": "share",
             "last_period": "follow-ups", "last_actual": share, "forecast_low": 1 - hi, "forecast_high": 1 - lo, "status": ""},
            {"tdrp": "efficiency", "label": "Cost of scrap learning (all programs)", "unit": "CNY", "last_period": "follow-ups",
             "last_actual": cost, "status": ""},
        ])
        out = pd.concat([base, extra], ignore_index=True)
        out["tdrp"] = pd.Categorical(out["tdrp"].astype(str), categories=["efficiency", "effectiveness", "outcome"], ordered=True)
        return out.sort_values("tdrp", kind="stable").reset_index(drop=True)

    @property
    def headline(self) -> str:
        """The page's headline: how many KPIs are on track, and the weakest signal."""
        s = self.scored
        counts = s["status"].value_counts()
        text = (f"Of {len(s)} scorecard KPIs with data and a target, {counts.get('on track', 0)} are on track, "
                f"{counts.get('at risk', 0)} at risk and {counts.get('off track', 0)} off track")
        if len(self.signals.weakest):
            w = self.signals.weakest.iloc[0]
            text += (f"; the weakest is {w['label'].lower()} at {format_value(w['last_actual'], w['unit'])} against "
                     f"{format_value(w['target'], w['unit'])} ({w['last_period']})")
        n_missing = int((self.scorecard.table["status"] == "no data").sum())
        return text + f". {n_missing} KPIs of the library have no data yet."


def build_scorecard_report(dataset: Any, upstream: UpstreamResults | None = None, library: KpiLibrary | str | Path | None = None, *,
                           on_track: float = 1.0, at_risk: float = 0.9, level: float = 0.90, min_group_size: int = 5) -> ScorecardReport:
    """Compute every part of the scorecard page.

    Parameters
    ----------
    dataset : Dataset
    upstream : UpstreamResults, optional
        Notebooks 02/03's results (default: none — levels 4 and 5 not yet measured).
    library : KpiLibrary, path or None
        The KPI library (default: the kit's own).
    on_track, at_risk : float
        Status thresholds on attainment.
    level : float
        Coverage of the scorecard's trend and forecast intervals (the ladder's intervals are 95%).
    min_group_size : int
        Smallest group shown.

    Returns
    -------
    ScorecardReport
    """
    up = upstream or UpstreamResults()
    lib = library if isinstance(library, KpiLibrary) else load_library(library)
    card = compute_scorecard(dataset, lib, on_track=on_track, at_risk=at_risk, level=level, min_group_size=min_group_size)
    ladder = kirkpatrick_ladder(dataset, att_by_program=up.att_by_program, roi_by_program=up.roi_by_program, dynamic_profile=up.dynamic_profile,
                                min_group_size=min_group_size)
    t = dataset.tables if hasattr(dataset, "tables") else dataset
    defs = t.get("kpi_definitions")
    units = dict(zip(defs["kpi"].astype(str), defs["unit"].astype(str))) if defs is not None else None
    return ScorecardReport(
        scorecard=card, ladder=ladder, funnel=funnel(dataset, min_group_size=min_group_size),
        process=process_layer(dataset, min_group_size=min_group_size), outcome=outcome_layer(dataset, min_group_size=min_group_size),
        transfer=transfer_layer(up.dynamic_profile, t.get("followups"), min_group_size=min_group_size, units=units,
                                competency=competency_change_by_months(dataset, min_group_size=min_group_size)),
        competency=competency_change(dataset, min_group_size=min_group_size),
        scrap=scrap_learning(t.get("followups"), t.get("costs"), min_group_size=min_group_size),
        signals=signals(card, ladder), upstream=up, on_track=on_track, at_risk=at_risk,
    )


def format_by_unit(df: pd.DataFrame, columns: list[str], unit_col: str = "unit", *, bare: tuple[str, ...] = ("ci_low", "ci_high")) -> pd.DataFrame:
    """Write mixed-unit value columns as text, each row in its own unit (shares as %, CNY with separators).

    For tables whose rows carry different units (the scorecard, the ladder), which a
    column-wise format cannot show; blanks stay blank. Columns in ``bare`` (interval
    bounds) are written without the unit's name, so an interval reads ``4.06 to 4.14``.
    """
    out = df.copy()
    for col in columns:
        texts = []
        for v, u in zip(df[col], df[unit_col]):
            if v is None or (isinstance(v, float) and not np.isfinite(v)):
                texts.append("")
                continue
            texts.append(format_value(float(v), str(u), bare=col in bare))
        out[col] = texts
    return out


def truth_table(dataset: Any, report: ScorecardReport) -> pd.DataFrame | None:
    """Computed values beside the sample generator's truth (None when the data carry no ground truth).

    Rows: completion and exam pass rates per program (the generator's record), the share
    of trainees applying the training at 1, 3 and 6 months (against the true
    probability), and the KPI change at 1, 3 and 6 months (the attribution engine's
    event-time effect against the true effect) where measured.
    """
    path = getattr(dataset, "path", None)
    gt = Path(path) / "ground_truth.json" if path is not None else None
    if gt is None or not gt.exists():
        return None
    truth = json.loads(gt.read_text(encoding="utf-8")).get("scorecard", {}).get("programs")
    if not truth:
        return None
    proc = report.process.set_index(["program_id", "metric"])
    rows = []
    for p, t in truth.items():
        if (p, "completion_rate") in proc.index:
            rows.append({"program_id": p, "metric": "completion rate", "computed": proc.loc[(p, "completion_rate"), "value"],
                         "ci_low": np.nan, "ci_high": np.nan, "true_value": t["completion_rate"], "unit": "share"})
        dept = report.outcome[(report.outcome["program_id"] == p) & (report.outcome["metric"] == "exam_pass_rate")]
        if len(dept):
            k = float((dept["value"] * dept["runs"]).sum() / dept["runs"].sum())
            rows.append({"program_id": p, "metric": "exam pass rate", "computed": k, "ci_low": np.nan, "ci_high": np.nan,
                         "true_value": t["exam_pass_rate"], "unit": "share"})
        tr = report.transfer[report.transfer["program_id"] == p].set_index(["months_after", "measure"])
        for m, f in t.get("followups", {}).items():
            key = (int(m), "applied_share")
            if key in tr.index:
                r = tr.loc[key]
                rows.append({"program_id": p, "metric": f"applied at {m} month{'s' if str(m) != '1' else ''}", "computed": r["value"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
                             "true_value": f["true_apply_probability"], "unit": "share"})
        for m, v in t.get("kpi_change", {}).items():
            key = (int(m), "kpi_change_vs_comparison")
            if key in tr.index and tr.loc[key, "status"] == "measured" and v is not None:
                r = tr.loc[key]
                rows.append({"program_id": p, "metric": f"KPI change at {m} month{'s' if str(m) != '1' else ''}", "computed": r["value"], "ci_low": r["ci_low"],
                             "ci_high": r["ci_high"], "true_value": v, "unit": str(r["unit"])})
    return pd.DataFrame(rows, columns=["program_id", "metric", "computed", "ci_low", "ci_high", "true_value", "unit"])
