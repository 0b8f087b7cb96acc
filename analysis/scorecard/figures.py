"""The scorecard's figures, in the kit's one visual style (:mod:`analysis.plots`).

Titles state the finding, axes carry units, intervals are drawn. Functions take the tidy
tables of the scorecard modules and never compute a number the report states.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.plots import PALETTE, apply_style, finish
from analysis.scorecard.library import PERSPECTIVE_LABELS
from analysis.scorecard.signals import format_value

__all__ = ["attainment_chart", "kirkpatrick_funnel", "transfer_profile"]

STATUS_COLORS = {"on track": "#3a9a5b", "at risk": "#e0a339", "off track": "#c4483e"}


def kirkpatrick_funnel(funnel: pd.DataFrame, ladder: pd.DataFrame | None = None, *, title: str | None = None) -> Figure:
    """Share of each program's trainees reaching Kirkpatrick levels 1-3, with levels 4-5 written beside.

    Parameters
    ----------
    funnel : DataFrame
        :func:`analysis.scorecard.kirkpatrick.funnel` output.
    ladder : DataFrame, optional
        :func:`analysis.scorecard.kirkpatrick.kirkpatrick_ladder` output; its level 4 and 5
        rows are written at the right of each program's bars ("not yet measured" when so).
    title : str, optional
    """
    apply_style()
    programs = sorted(funnel["program_id"].unique())
    stages = list(dict.fromkeys(funnel.sort_values("level", kind="stable")["stage"]))
    fig, ax = plt.subplots(figsize=(10, 1.2 + 1.1 * len(programs)))
    height = 0.8 / max(1, len(stages))
    for j, stage in enumerate(stages):
        sub = funnel[funnel["stage"] == stage].set_index("program_id").reindex(programs)
        ypos = np.arange(len(programs)) + j * height
        ax.barh(ypos, sub["share"].fillna(0).to_numpy() * 100, height=height * 0.9, color=PALETTE[j % len(PALETTE)], label=stage)
        for y, v, n in zip(ypos, sub["share"], sub["people"]):
            if np.isfinite(v):
                ax.text(v * 100 + 1, y, f"{100 * v:.0f}% (n={n:,.0f})", va="center", fontsize=8)
    ax.set_yticks(np.arange(len(programs)) + height * (len(stages) - 1) / 2, programs)
    ax.invert_yaxis()
    ax.set_xlim(0, 165)
    ax.set_xticks([0, 20, 40, 60, 80, 100])
    ax.set_xlabel("share of the program's trainees (%)")
    if ladder is not None and len(ladder):
        for i, p in enumerate(programs):
            words = []
            for lvl in (4, 5):
                r = ladder[(ladder["program_id"] == p) & (ladder["level"] == lvl)]
                if not len(r):
                    continue
                r0 = r.iloc[0]
                if r0["status"] != "measured":
                    words.append(f"L{lvl}: not yet measured")
                elif lvl == 5:
                    words.append(f"L5 ROI {100 * r0['value']:,.0f}% ({100 * r0['ci_low']:,.0f}% to {100 * r0['ci_high']:,.0f}%)")
                else:
                    unit = str(r0["unit"])
                    sign = "+" if r0["value"] > 0 else ""
                    words.append(f"L4 {sign}{format_value(r0['value'], unit)} per month\n({format_value(r0['ci_low'], unit, bare=True)} to {format_value(r0['ci_high'], unit, bare=True)})")
            ax.text(112, i + height * (len(stages) - 1) / 2, "\n".join(words), va="center", ha="left", fontsize=8, color="#333333")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=len(stages), fontsize=8, frameon=False)
    ax.set_title(title or "How far each program's trainees got: reaction, learning, application on the job")
    return finish(fig)


def attainment_chart(table: pd.DataFrame, *, on_track: float = 1.0, at_risk: float = 0.9, title: str | None = None) -> Figure:
    """Attainment (1 = on target) of every scored KPI, coloured by status, grouped by perspective.

    Parameters
    ----------
    table : DataFrame
        Rows of the scorecard table with ``label``, ``perspective``, ``status`` and an
        ``attainment`` column (see :func:`analysis.scorecard.tdrp.attainment`).
    """
    apply_style()
    t = table.dropna(subset=["attainment"]).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(9, 0.8 + 0.28 * max(len(t), 1)))
    y = np.arange(len(t))
    ax.scatter(t["attainment"] * 100, y, c=[STATUS_COLORS.get(s, "#6f6f6f") for s in t["status"]], s=40, zorder=3)
    ax.hlines(y, 100, t["attainment"] * 100, color="#bbbbbb", lw=1, zorder=2)
    ax.axvline(on_track * 100, color="#222222", lw=1)
    ax.axvline(at_risk * 100, color="#888888", lw=1, ls="--")
    ax.set_yticks(y, [f"{lab} · {PERSPECTIVE_LABELS.get(p, p)}" for lab, p in zip(t["label"], t["perspective"])], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("attainment of target, last period (%; 100 = on target, dashed = at-risk threshold)")
    counts = t["status"].value_counts()
    ax.set_title(title or f"{counts.get('on track', 0)} of {len(t)} scored KPIs are on track, {counts.get('off track', 0)} off track")
    for s, c in STATUS_COLORS.items():
        ax.scatter([], [], color=c, label=s)
    ax.legend(loc="lower right", fontsize=8, frameon=True)
    return finish(fig)


def transfer_profile(transfer: pd.DataFrame, units: dict[str, str] | None = None, *, title: str | None = None) -> Figure:
    """KPI change against the comparison group 1, 3 and 6 months after training, one panel per program.

    Parameters
    ----------
    transfer : DataFrame
        :func:`analysis.scorecard.loop.transfer_layer` output.
    units : dict, optional
        program_id -> KPI unit for the axis labels.
    """
    apply_style()
    k = transfer[transfer["measure"] == "kpi_change_vs_comparison"]
    programs = sorted(k["program_id"].unique())
    fig, axes = plt.subplots(1, max(1, len(programs)), figsize=(3.4 * max(1, len(programs)), 3.4), squeeze=False)
    for ax, p in zip(axes[0], programs):
        sub = k[(k["program_id"] == p) & (k["status"] == "measured")]
        if not len(sub):
            ax.text(0.5, 0.5, "not yet measured", ha="center", va="center", transform=ax.transAxes)
        else:
            ax.errorbar(sub["months_after"], sub["value"], yerr=[sub["value"] - sub["ci_low"], sub["ci_high"] - sub["value"]],
                        fmt="o-", color=PALETTE[0], capsize=3)
        ax.axhline(0, color="#222222", lw=0.8)
        ax.set_xticks([1, 3, 6])
        ax.set_xlabel("months after training")
        unit = (units or {}).get(p) or (sub["unit"].iloc[0] if len(sub) else "")
        ax.set_ylabel(f"change vs comparison ({unit})" if unit else "change vs comparison")
        ax.set_title(p, fontsize=10)
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _pos: f"{v:,.3g}"))
    fig.suptitle(title or "KPI change against the comparison group after training (95% intervals)", fontsize=12, fontweight="bold")
    return finish(fig)
