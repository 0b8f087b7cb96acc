"""Every figure of the kit, in one visual style.

Titles state the finding, axes carry units, uncertainty is drawn. Functions take tidy
tables from the analysis modules and return a matplotlib ``Figure``; they never compute
a number the report states.
"""

from __future__ import annotations

import textwrap
import warnings
from collections.abc import Mapping

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analysis.report import MONTH_FORMAT, kpi_words, readable  # noqa: F401 - kpi_words: plots.kpi_words as before

PALETTE = ["#1f5c99", "#e07b39", "#3a9a5b", "#8e5ea2", "#c4483e", "#6f6f6f"]
TRUTH_COLOR = "#222222"


def fit_title(text: str, width: int | Figure = 80) -> str:
    """Wrap a long title at word boundaries, never inside ``p = 0.940`` or ``95% CI`` (non-breaking spaces).

    ``width`` is characters per line, or a figure, whose width sets it (a bold 12 pt character is
    about 10.5 px wide), so the title never runs past the figure's edge.
    """
    if isinstance(width, Figure):
        width = max(40, int(width.get_figwidth() * width.dpi / 10.5))
    text = text.replace(" = ", "\u00a0=\u00a0").replace("% CI", "%\u00a0CI")
    return textwrap.fill(text, width, break_on_hyphens=False, break_long_words=False)


def month_axis(ax: Axes, first: pd.Timestamp, last: pd.Timestamp, *, centred: bool = False) -> None:
    """A month axis that ends at the data, labelled ``YYYY-MM`` at most ~9 times.

    With ``centred`` (bars drawn across their month) labels sit in the middle of their month
    (the 15th) and faint minor ticks mark month boundaries, so April never reads as May.
    """
    first, last = pd.Timestamp(first).to_period("M").to_timestamp(), pd.Timestamp(last).to_period("M").to_timestamp()
    n_months = (last.year - first.year) * 12 + last.month - first.month + 1
    step = max(1, -(-n_months // 9))
    if centred:
        ax.set_xlim(first, last + pd.offsets.MonthBegin(1))
        ax.xaxis.set_major_locator(mdates.MonthLocator(bymonthday=15, interval=step))
        ax.xaxis.set_minor_locator(mdates.MonthLocator(bymonthday=1))
        ax.tick_params(axis="x", which="minor", length=3)
        ax.grid(False, axis="x")
    else:
        pad = pd.Timedelta(days=10)
        ax.set_xlim(first - pad, last + pad)
        ax.xaxis.set_major_locator(mdates.MonthLocator(bymonthday=1, interval=step))
    ax.xaxis.set_major_formatter(mdates.DateFormatter(MONTH_FORMAT))


def finish(fig: Figure) -> Figure:
    """Lay out a figure and detach it from pyplot, so a notebook shows it exactly once.

    When long labels leave tight_layout no room it keeps the default margins; its warning
    (a source path and line) would otherwise print on the reader's page.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Tight layout not applied", category=UserWarning)
        fig.tight_layout()
    plt.close(fig)
    return fig


def apply_style() -> None:
    """Set the kit's one look (seaborn whitegrid, muted palette, readable sizes)."""
    sns.set_theme(style="whitegrid", palette=PALETTE, rc={
        "figure.figsize": (9, 4.5),
        "figure.dpi": 100,
        "savefig.dpi": 100,
        "axes.titlesize": 12,
        "axes.titleweight": "bold",
        "axes.labelsize": 10,
        "legend.fontsize": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    })  # fmt: skip


def rollout_timeline(cohorts: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Trainees starting each month, by program (from :func:`analysis.quality.cohort_sizes`).

    Each month's bars sit inside that month, labels in the middle of it; the axis spans the
    first to the last cohort month.

    Parameters
    ----------
    cohorts : DataFrame
        program_id, cohort_month, n (suppressed rows have n missing and are not drawn).
    title : str, optional
        Finding-style title; default states the roll-out span and the peak month.
    """
    apply_style()
    fig, ax = plt.subplots()
    data = cohorts.dropna(subset=["n"])
    programs = sorted(data["program_id"].unique())
    width = 24 / max(1, len(programs))
    for k, program in enumerate(programs):
        part = data[data["program_id"] == program]
        x = pd.to_datetime(part["cohort_month"]) + pd.to_timedelta(15 + (k - (len(programs) - 1) / 2) * width, unit="D")
        ax.bar(x, part["n"], width=width, label=program, color=PALETTE[k % len(PALETTE)])
    if len(data):
        months = pd.to_datetime(data["cohort_month"])
        peak = data.groupby(months)["n"].sum().idxmax()
        title = title or (
            f"Training starts are staggered from {months.min():{MONTH_FORMAT}} to {months.max():{MONTH_FORMAT}}, "
            f"peaking in {peak:{MONTH_FORMAT}}"
        )
        month_axis(ax, months.min(), months.max(), centred=True)
    ax.set_title(fit_title(title or "No training starts to show", fig))
    ax.set_xlabel("first training month")
    ax.set_ylabel("trainees starting (people)")
    thousands(ax)
    ax.legend(title="program", frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return finish(fig)


def thousands(ax: Axes, axis: str = "y") -> None:
    """Tick labels with thousands separators (``175,000``)."""
    fmt = mticker.FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 1000 or float(v).is_integer() else f"{v:,.3g}")
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(mticker.MaxNLocator(6))
    target.set_major_formatter(fmt)


def panel_balance(balance: pd.DataFrame, labels: Mapping[str, str] | None = None) -> Figure:
    """Employees observed per month and KPI, and the joiners and leavers behind the change.

    Parameters
    ----------
    balance : DataFrame
        kpi, month, employees, joined, left (from :func:`analysis.quality.panel_balance`;
        rows suppressed for small counts are left out).
    labels : mapping, optional
        KPI display names (:func:`analysis.report.kpi_labels`); default the ids made readable.
    """
    apply_style()
    balance = balance.dropna(subset=["employees"])
    fig, (ax, flow) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    for k, (kpi, part) in enumerate(balance.groupby("kpi")):
        ax.plot(pd.to_datetime(part["month"]), part["employees"], marker="o", ms=3, label=(labels or {}).get(kpi) or readable(kpi),
                color=PALETTE[k % len(PALETTE)])  # fmt: skip
    joined, left = int(balance["joined"].sum()), int(balance["left"].sum())
    ax.set_title(f"The panel is unbalanced: {joined:,} people joined and {left:,} left during the window")
    ax.set_ylabel("employees with a KPI value")
    ax.set_ylim(bottom=0)
    thousands(ax)
    ax.legend(frameon=False, loc="lower left", ncols=min(3, balance["kpi"].nunique()))
    flows = balance.groupby("month")[["joined", "left"]].sum()
    months = pd.to_datetime(flows.index)
    flow.bar(months, flows["joined"], width=20, color=PALETTE[2])
    flow.bar(months, -flows["left"], width=20, color=PALETTE[4])
    flow.axhline(0, color="#999999", lw=0.8)
    flow.set_title("joined (green, first KPI month) and left (red, last KPI month)", fontsize=9, fontweight="normal", loc="left")
    flow.set_ylabel("people per month")
    flow.set_xlabel("month")
    flow.yaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{abs(v):,.0f}"))
    if len(months):
        month_axis(flow, months.min(), months.max())
    return finish(fig)


def kpi_distributions(
    values: pd.DataFrame, units: dict[str, str] | None = None, *, title: str | None = None, labels: Mapping[str, str] | None = None
) -> Figure:
    """Box plots of each KPI's monthly values by department.

    Parameters
    ----------
    values : DataFrame
        kpi, department, value (from :func:`analysis.quality.kpi_by_department`).
    units : dict of str to str, optional
        Unit of each KPI, for the axis.
    title : str, optional
        Finding-style title (:func:`analysis.quality.kpi_spread_finding`).
    labels : mapping, optional
        KPI display names; default the ids made readable.
    """
    apply_style()
    kpis = sorted(values["kpi"].unique())
    fig, axes = plt.subplots(1, len(kpis), figsize=(4.2 * max(1, len(kpis)), 4), squeeze=False)
    for ax, kpi in zip(axes[0], kpis, strict=True):
        part = values[values["kpi"] == kpi]
        sns.boxplot(data=part, x="department", y="value", ax=ax, color=PALETTE[0], fliersize=1.5)
        ax.set_title((labels or {}).get(kpi) or readable(kpi))
        ax.set_xlabel("")
        ax.set_ylabel(textwrap.fill(f"{(units or {}).get(kpi, 'units')} per person and month", 32))
        ax.set_xticks(ax.get_xticks(), [textwrap.fill(t.get_text(), 14) for t in ax.get_xticklabels()])
        thousands(ax)
    fig.suptitle(fit_title(title or "Monthly KPI values by department", fig), fontweight="bold")
    return finish(fig)


# --------------------------------------------------------------------------- attribution


def method_ladder(ladder: pd.DataFrame, *, unit: str, kpi: str, title: str) -> Figure:
    """Each rung's estimate with its 95% CI, the recommended rung highlighted, the truth as a line.

    Parameters
    ----------
    ladder : DataFrame
        rung, estimate, ci_low, ci_high, recommended, true_att (NaN when unknown).
    unit, kpi : str
        KPI unit and name for the axis.
    title : str
        Finding-style title.
    """
    apply_style()
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(ladder) + 1.6))
    y = range(len(ladder))[::-1]
    for yi, (_, row) in zip(y, ladder.iterrows(), strict=True):
        color = PALETTE[0] if row["recommended"] else PALETTE[5]
        ax.errorbar(row["estimate"], yi, xerr=[[row["estimate"] - row["ci_low"]], [row["ci_high"] - row["estimate"]]],
                    fmt="o", color=color, capsize=3, lw=2 if row["recommended"] else 1.2)  # fmt: skip
    truth = ladder["true_att"].dropna()
    if len(truth):
        ax.axvline(float(truth.iloc[0]), color=TRUTH_COLOR, ls="--", lw=1, label="true effect (sample data)")
        ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / len(ladder)))
    ax.axvline(0, color="#999999", lw=0.8)
    ax.set_yticks(list(y))
    ax.set_yticklabels(ladder["rung"])
    thousands(ax, "x")
    ax.set_xlabel(f"effect on monthly {kpi_words(kpi)} per trainee ({unit}), 95% CI")
    ax.set_title(fit_title(title, fig))
    return finish(fig)


def event_study(dynamic: pd.DataFrame, *, unit: str, kpi: str, title: str, unadjusted: pd.DataFrame | None = None) -> Figure:
    """Effect by months since training with its confidence band (uniform when bootstrapped).

    Parameters
    ----------
    dynamic : DataFrame
        event_time, att, ci_low, ci_high (the recommended fit).
    unadjusted : DataFrame, optional
        The same profile anchored on the month just before training, drawn faintly.
    """
    apply_style()
    fig, ax = plt.subplots()
    d = dynamic.sort_values("event_time")
    ax.fill_between(d["event_time"], d["ci_low"], d["ci_high"], color=PALETTE[0], alpha=0.2, label="95% band")
    ax.plot(d["event_time"], d["att"], "o-", color=PALETTE[0], ms=4, label="estimate")
    if unadjusted is not None and len(unadjusted):
        u = unadjusted.sort_values("event_time")
        ax.plot(u["event_time"], u["att"], "o:", color=PALETTE[1], ms=3, alpha=0.8, label="baseline = month before training")
    if "true_att" in d and d["true_att"].notna().any():
        ax.plot(d["event_time"], d["true_att"], "--", color=TRUTH_COLOR, lw=1, label="true effect (sample data)")
    ax.axhline(0, color="#999999", lw=0.8)
    ax.axvline(-0.5, color="#999999", lw=0.8, ls=":")
    ax.set_xlabel("months since training started (0 = training month)")
    ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
    thousands(ax, "y")
    ax.set_ylabel(f"effect on monthly {kpi_words(kpi)} ({unit})")
    ax.set_title(fit_title(title, fig))
    # below the axes, never on the band or the estimates
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=4)
    return finish(fig)


def heterogeneity(table: pd.DataFrame, *, unit: str, kpi: str, title: str) -> Figure:
    """Forest plot of effects by subgroup (suppressed groups are left out), one panel per dimension."""
    apply_style()
    shown = table.dropna(subset=["att"])
    dims = list(dict.fromkeys(shown["dimension"]))
    fig, axes = plt.subplots(1, max(1, len(dims)), figsize=(4.2 * max(1, len(dims)), 3.6), squeeze=False, sharex=False)
    for ax, dim in zip(axes[0], dims, strict=False):
        part = shown[shown["dimension"] == dim]
        y = list(range(len(part)))[::-1]
        ax.errorbar(part["att"], y, xerr=[part["att"] - part["ci_low"], part["ci_high"] - part["att"]], fmt="o", color=PALETTE[0], capsize=3)
        if "true_att" in part and part["true_att"].notna().any():
            ax.plot(part["true_att"], y, "x", color=TRUTH_COLOR, ms=7, label="true effect")
            ax.legend(frameon=False, fontsize=8)
        ax.axvline(0, color="#999999", lw=0.8)
        ax.set_yticks(y)
        ax.set_yticklabels(part["group"].astype(str))
        ax.set_title(dim)
        thousands(ax, "x")
        ax.xaxis.set_major_locator(mticker.MaxNLocator(4))
        ax.set_xlabel(f"{kpi_words(kpi)} ({unit}), 95% CI")
    fig.suptitle(fit_title(title, fig), fontweight="bold")
    return finish(fig)


# --------------------------------------------------------------------------- gap analysis (notebook 01)


def gap_heatmap(table: pd.DataFrame, *, title: str) -> Figure:
    """Role × competency heatmap of the share below the required level (suppressed cells left blank).

    Parameters
    ----------
    table : DataFrame
        role, competency, share_below_required (from :meth:`analysis.gaps.GapResults.by_group`
        at the role level, after suppression).
    title : str
        Finding-style title.
    """
    apply_style()
    grid = table.pivot(index="role", columns="competency", values="share_below_required").astype(float)
    grid.columns = [str(c).replace("_", " ") for c in grid.columns]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * grid.shape[1] + 3), 0.6 * grid.shape[0] + 2.2))
    sns.heatmap(100 * grid, annot=True, fmt=".0f", cmap="Reds", vmin=0, vmax=100, linewidths=0.5, linecolor="white",
                cbar_kws={"label": "% below the required level"}, ax=ax)
    ax.set_xlabel("competency (blank: not required by the role, or a suppressed group)")
    ax.set_ylabel("")
    ax.tick_params(axis="x", rotation=30)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    ax.set_title(textwrap.fill(title, 80))
    return finish(fig)


def gap_index_distribution(dist: pd.DataFrame, *, group: str = "department", title: str) -> Figure:
    """Distribution of the weighted gap index per group, drawn from its quantiles (no person is plotted).

    Parameters
    ----------
    dist : DataFrame
        The group column, p10, p25, median, p75, p90, mean, n_complete (from
        :meth:`analysis.gaps.GapResults.index_by_group`; suppressed rows are left out).
    """
    apply_style()
    d = dist.dropna(subset=["median"]).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(9, 0.7 * len(d) + 1.8))
    y = list(range(len(d)))[::-1]
    for yi, row in zip(y, d.itertuples(), strict=True):
        ax.plot([row.p10, row.p90], [yi, yi], color=PALETTE[0], lw=1.2)
        ax.add_patch(plt.Rectangle((row.p25, yi - 0.25), row.p75 - row.p25, 0.5, color=PALETTE[0], alpha=0.35, lw=0))
        ax.plot([row.median, row.median], [yi - 0.25, yi + 0.25], color=PALETTE[0], lw=2.5)
        ax.plot(row.mean, yi, "D", color=PALETTE[1], ms=5)
    ax.set_yticks(y)
    ax.set_yticklabels([f"{getattr(r, group)} (n = {int(r.n_complete):,})" for r in d.itertuples()])
    ax.set_xlabel("weighted gap index (Σ weight × gap, level points): line 10th-90th percentile, box 25th-75th, bar median, ◆ mean")
    ax.set_xlim(left=0)
    ax.set_title(textwrap.fill(title, 90))
    return finish(fig)


def under_target_trend(monthly: pd.DataFrame, *, title: str) -> Figure:
    """Share of people under target per month, one line per KPI.

    Parameters
    ----------
    monthly : DataFrame
        kpi, month, share_under_target (suppressed months have it missing).
    """
    apply_style()
    fig, ax = plt.subplots()
    for k, (kpi, part) in enumerate(monthly.dropna(subset=["share_under_target"]).groupby("kpi", sort=True)):
        ax.plot(pd.to_datetime(part["month"]), 100 * part["share_under_target"], "o-", ms=3, label=str(kpi).replace("_", " "),
                color=PALETTE[k % len(PALETTE)])
    ax.set_ylim(0, 100)
    ax.set_ylabel("% of people under target that month")
    ax.set_xlabel("month")
    ax.legend(frameon=False, title="KPI")
    ax.set_title(textwrap.fill(title, 90))
    fig.autofmt_xdate()
    return finish(fig)


def driver_importance(table: pd.DataFrame, *, kpi: str, title: str) -> Figure:
    """Permutation importance of each feature for one KPI's shortfall, both models, ± 1 sd over folds.

    Parameters
    ----------
    table : DataFrame
        feature, importance_logit, importance_logit_sd, importance_gbm, importance_gbm_sd, and
        optionally true_rank (from :attr:`analysis.gaps.DriverResults.table`).
    """
    apply_style()
    d = table.dropna(subset=["importance"]).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(d) + 1.8))
    y = list(range(len(d)))[::-1]
    for k, (model, name) in enumerate((("logit", "logistic regression"), ("gbm", "boosted trees"))):
        off = 0.15 if k == 0 else -0.15
        ax.errorbar(d[f"importance_{model}"], [v + off for v in y], xerr=d[f"importance_{model}_sd"], fmt="o", capsize=3,
                    color=PALETTE[k], label=name)
    labels = [str(f).replace("_", " ") for f in d["feature"]]
    if "true_rank" in d and d["true_rank"].notna().any():
        labels = [f"{lab} (true rank {int(r)})" if pd.notna(r) else lab for lab, r in zip(labels, d["true_rank"], strict=True)]
    ax.set_yticks(y)
    ax.set_yticklabels(labels)
    ax.axvline(0, color="#999999", lw=0.8)
    ax.set_xlabel(f"drop in out-of-fold AUC when the feature is shuffled ({kpi}), ± 1 sd over folds")
    ax.legend(frameon=False, loc="lower right")
    ax.set_title(textwrap.fill(title, 90))
    return finish(fig)


def needs_vs_truth(table: pd.DataFrame, *, title: str) -> Figure:
    """Eligible head count per program with the range assessment noise leaves, and the true count where known.

    Parameters
    ----------
    table : DataFrame
        program_id, eligible, eligible_low, eligible_high, optionally true_eligible.
    """
    apply_style()
    d = table.dropna(subset=["eligible"]).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(9, 0.7 * len(d) + 1.8))
    y = list(range(len(d)))[::-1]
    ax.barh(y, d["eligible"], color=PALETTE[0], alpha=0.7, label="eligible (measured)")
    ax.errorbar(d["eligible"], y, xerr=[(d["eligible"] - d["eligible_low"]).clip(lower=0), (d["eligible_high"] - d["eligible"]).clip(lower=0)],
                fmt="none", color="#333333", capsize=4, label="range assessment noise leaves")
    if "true_eligible" in d and d["true_eligible"].notna().any():
        ax.plot(d["true_eligible"], y, "x", color=TRUTH_COLOR, ms=9, mew=2, label="true count (sample data)")
    ax.set_yticks(y)
    ax.set_yticklabels(d["program_id"].astype(str))
    ax.set_xlabel("people whose gap in the program's target competency exceeds the threshold")
    thousands(ax, "x")
    ax.legend(frameon=False, loc="lower right")
    ax.set_title(textwrap.fill(title, 90))
    return finish(fig)


# ---- notebook 03: ROI and budget ------------------------------------------------------------------------------
def roi_intervals(table: pd.DataFrame, *, title: str, level: float = 0.90) -> Figure:
    """Each program's median ROI % with its interval, zero (break-even) marked, the truth where known.

    Parameters
    ----------
    table : DataFrame
        program_id, roi_pct_median, roi_pct_low, roi_pct_high (+ true_roi_pct); rows without an ROI are left out.
    title : str
        Finding-style title.
    level : float
        Interval level, for the axis label.
    """
    apply_style()
    t = table.dropna(subset=["roi_pct_median"]).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(9, 0.6 * max(len(t), 1) + 1.6))
    y = list(range(len(t)))[::-1]
    for yi, (_, row) in zip(y, t.iterrows(), strict=True):
        ax.errorbar(row["roi_pct_median"], yi, xerr=[[row["roi_pct_median"] - row["roi_pct_low"]], [row["roi_pct_high"] - row["roi_pct_median"]]],
                    fmt="o", color=PALETTE[0], capsize=4, lw=2)  # fmt: skip
        if "true_roi_pct" in t.columns and pd.notna(row.get("true_roi_pct")):
            ax.plot(row["true_roi_pct"], yi, marker="x", color=TRUTH_COLOR, ms=8, mew=2, ls="none",
                    label="true ROI (sample data)" if yi == y[0] else None)  # fmt: skip
    ax.axvline(0, color=PALETTE[4], lw=1, ls="--", label="break-even (ROI 0%)")
    ax.set_yticks(y)
    ax.set_yticklabels(t["program_id"].astype(str))
    ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _p: f"{v:+,.0f}%"))
    ax.set_xlabel(f"ROI % (median and {level:.0%} interval over the bootstrap draws)")
    ax.legend(frameon=False, loc="lower right")
    ax.set_title(title)
    return finish(fig)


def budget_fan(scenarios: pd.DataFrame, *, title: str, currency: str = "¥") -> Figure:
    """Cumulative spend over the plan year's 12 months: the base scenario with the low-high fan around it.

    Parameters
    ----------
    scenarios : DataFrame
        scenario (low / base / high), budget.
    """
    apply_style()
    months = list(range(0, 13))
    b = scenarios.set_index("scenario")["budget"]
    fig, ax = plt.subplots(figsize=(9, 4.2))
    share = [m / 12 for m in months]
    ax.fill_between(months, [s * b["low"] for s in share], [s * b["high"] for s in share], color=PALETTE[0], alpha=0.18,
                    label="low to high scenario")  # fmt: skip
    ax.plot(months, [s * b["base"] for s in share], color=PALETTE[0], lw=2, label="base scenario")
    for name in ("low", "high"):
        ax.annotate(f"{name}: {currency}{b[name]:,.0f}", (12, b[name]), xytext=(4, 0), textcoords="offset points", va="center", fontsize=9)
    ax.annotate(f"base: {currency}{b['base']:,.0f}", (12, b["base"]), xytext=(4, 0), textcoords="offset points", va="center", fontsize=9,
                fontweight="bold")  # fmt: skip
    ax.set_xlim(0, 14.5)
    ax.set_xticks(months)
    ax.set_xlabel("month of the plan year (spend spread evenly)")
    ax.set_ylabel(f"cumulative training spend ({currency})")
    thousands(ax)
    ax.legend(frameon=False, loc="upper left")
    ax.set_title(title)
    return finish(fig)


def budget_waterfall(steps: pd.DataFrame, *, title: str, currency: str = "¥") -> Figure:
    """From last year's spend to next year's budget: levels as full bars, changes as floating bars.

    Parameters
    ----------
    steps : DataFrame
        step, amount, kind ("level" or "change"), in order (:func:`analysis.budget.waterfall`).
    """
    apply_style()
    fig, ax = plt.subplots(figsize=(9, 4.6))
    running = 0.0
    labels = []
    for i, row in enumerate(steps.itertuples(index=False)):
        if row.kind == "level":
            ax.bar(i, row.amount, color=PALETTE[0])
            running = row.amount
            top = row.amount
        else:
            bottom = running if row.amount >= 0 else running + row.amount
            ax.bar(i, abs(row.amount), bottom=bottom, color=PALETTE[2] if row.amount >= 0 else PALETTE[4])
            running += row.amount
            top = max(running, running - row.amount)
        text = f"{currency}{row.amount:,.0f}" if row.kind == "level" else f"{'+' if row.amount >= 0 else '-'}{currency}{abs(row.amount):,.0f}"
        ax.annotate(text, (i, top), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8)
        labels.append("\n".join(textwrap.wrap(str(row.step), 14)))
    ax.set_xticks(range(len(steps)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel(f"training spend ({currency})")
    thousands(ax)
    ax.set_title(title)
    return finish(fig)
