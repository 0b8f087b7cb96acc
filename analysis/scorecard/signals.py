"""The plain-language summary: strongest and weakest signals, and what is not yet measured.

A signal is a computed KPI of the balanced scorecard with a target. Its strength is its
attainment (:func:`analysis.scorecard.tdrp.attainment` of the last period's value
against that period's target): the three highest are the strongest signals, the three
lowest the weakest. Each sentence gives the KPI's level (value, period, target, status)
and its trend.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.report import fmt_sig
from analysis.scorecard.balanced import ScorecardResult
from analysis.scorecard.kirkpatrick import NOT_MEASURED
from analysis.scorecard.library import PERSPECTIVE_LABELS
from analysis.scorecard.tdrp import attainment

__all__ = ["Signals", "format_value", "signals"]


def format_value(value: float, unit: str, *, bare: bool = False) -> str:
    """A KPI value for people: shares as percentages, CNY with separators, other units with 3-4 significant digits.

    ``bare`` leaves out a unit's name (not % or ¥), for the bounds of an interval.
    """
    if value is None or not np.isfinite(value):
        return "n/a"
    if unit == "share":
        return f"{100 * value:,.1f}%"
    if unit == "CNY":
        return f"¥{value:,.0f}" if value >= 0 else f"-¥{abs(value):,.0f}"
    suffix = "" if bare else f" {unit}"
    if abs(value) >= 1000:
        return f"{value:,.0f}{suffix}".rstrip()
    if abs(value) >= 10:
        return f"{value:,.1f}{suffix}".rstrip()
    if value == 0:
        value = 0.0  # no "-0.00"
    elif round(value, 2) == 0:
        # -0.004 is not "-0.00": one significant digit, as the attribution page shows it
        return f"{fmt_sig(value, 1)}{suffix}".rstrip()
    return f"{value:,.2f}{suffix}".rstrip()


@dataclass
class Signals:
    """Strongest and weakest signals, with sentences, and what is not yet measured.

    Attributes
    ----------
    strongest, weakest : DataFrame
        name, label, perspective, last_period, last_actual, target, attainment, status,
        trend, sentence.
    not_measured : list of str
        Sentences: KPIs with no data, broken KPIs, Kirkpatrick levels without results.
    """

    strongest: pd.DataFrame
    weakest: pd.DataFrame
    not_measured: list[str] = field(default_factory=list)

    @property
    def sentences(self) -> dict[str, list[str]]:
        return {"strongest": list(self.strongest["sentence"]), "weakest": list(self.weakest["sentence"]), "not yet measured": self.not_measured}


def _sentence(row: pd.Series) -> str:
    trend = row["trend"] if row["trend"] else "trend unknown"
    return (f"{row['label']} ({PERSPECTIVE_LABELS.get(row['perspective'], row['perspective'])}): {format_value(row['last_actual'], row['unit'])} in {row['last_period']} "
            f"against a target of {format_value(row['target'], row['unit'])} — {row['status']}; {trend}.")


def signals(scorecard: ScorecardResult, ladder: pd.DataFrame | None = None, *, k: int = 3) -> Signals:
    """The ``k`` strongest and weakest signals of a scorecard, and what is not yet measured.

    Parameters
    ----------
    scorecard : ScorecardResult
    ladder : DataFrame, optional
        :func:`analysis.scorecard.kirkpatrick.kirkpatrick_ladder` output; its "not yet
        measured" levels are listed too.
    k : int
        How many of each.

    Returns
    -------
    Signals
        Ties in attainment keep the library's order. A KPI is never both strongest and
        weakest (with fewer than 2k scored KPIs the weakest list is shorter).
    """
    t = scorecard.table
    scored = t[t["status"].isin(["on track", "at risk", "off track"])].copy()
    scored["attainment"] = [attainment(a, g, d == "higher") for a, g, d in zip(scored["last_actual"], scored["target"], scored["direction"])]
    scored = scored[np.isfinite(scored["attainment"])]
    order = scored.sort_values("attainment", ascending=False, kind="stable")
    cols = ["name", "label", "perspective", "last_period", "last_actual", "target", "unit", "attainment", "status", "trend"]
    strongest = order.head(k)[cols].copy()
    rest = order.iloc[len(strongest):]
    weakest = rest.sort_values("attainment", ascending=True, kind="stable").head(k)[cols].copy()
    for df in (strongest, weakest):
        df["sentence"] = [_sentence(r) for _, r in df.iterrows()]
    missing: list[str] = []
    no_data = t[t["status"] == "no data"]
    from_inputs = no_data["note"].astype(str).str.startswith("no data: scorecard_inputs")
    if from_inputs.any():
        n = int(from_inputs.sum())
        missing.append(f"{n} KPI{'s' if n != 1 else ''} of the library need figures no export of the kit holds (add them to scorecard_inputs): "
                       + ", ".join(no_data.loc[from_inputs, "label"]) + ".")
    if (~from_inputs).any():
        n = int((~from_inputs).sum())
        missing.append(f"{n} KPI{'s' if n != 1 else ''} computed from the kit's tables have no value (a table or column is missing, or too "
                       "few people in every period): " + ", ".join(no_data.loc[~from_inputs, "label"]) + ".")
    broken = t[t["status"] == "broken"]
    for _, r in broken.iterrows():
        missing.append(f"{r['label']} could not be computed: {r['note']}")
    if ladder is not None and len(ladder):
        nm = ladder[ladder["status"] == NOT_MEASURED]
        for level_name, rows in nm.groupby("level_name", sort=True):
            missing.append(f"{level_name} — {', '.join(sorted(set(rows['measure'])))} — is not yet measured for "
                           f"{', '.join(sorted(set(rows['program_id'])))}.")
    return Signals(strongest=strongest.reset_index(drop=True), weakest=weakest.reset_index(drop=True), not_measured=missing)
