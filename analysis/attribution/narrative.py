"""The report's sentences: every word notebook 02 shows about an evaluation.

:class:`~analysis.attribution.evaluation.ProgramEvaluation` holds numbers; the
functions here turn them into the headline, figure titles, verdicts and notes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.attribution.ladder import DR_UNSTABLE_SE_RATIO, dr_is_unstable
from analysis.attribution.panel import _CLUSTER_WORDS, TENURE_COLUMN, _control_words
from analysis.diagnostics import MIN_EXTENSION_SHARE
from analysis.attribution.small_programs import few_training_months_sentence, small_program_sentence
from analysis.attribution.robustness import EXAM_BANDS
from analysis.did import StaggeredDiDResults
from analysis.report import kpi_words

if TYPE_CHECKING:
    from analysis.attribution.evaluation import ProgramEvaluation

# --------------------------------------------------------------------------- #
# Results
# --------------------------------------------------------------------------- #
def _fmt_value(x: float, unit: str = "", digits: int | None = None) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    ax = abs(x)
    if digits is None:
        digits = 0 if ax >= 100 else 1 if ax >= 10 else 2 if ax >= 1 else 3
    s = f"{x:,.{digits}f}"
    return f"{s} {unit}".strip() if unit else s



def ladder_title(ev: ProgramEvaluation) -> str:
    """Finding-style title of the method-ladder figure."""
    raw, att = ev.naive_before_after, ev.overall.att
    if np.isfinite(raw) and np.isfinite(att) and att != 0 and np.sign(raw) == np.sign(att) and abs(raw) > abs(att):
        ratio = abs(raw / att)
        how = f"{ratio:.1f} times" if ratio >= 1.5 else "more than"
        return (
            f"{ev.program_id}: the raw before/after change ({_fmt_value(raw, ev.unit)}) is {how} "
            f"the training's effect ({_fmt_value(att, ev.unit)})"
        )
    lo, hi = ev.overall.conf_int(0.95)
    if lo <= 0 <= hi:
        return (
            f"{ev.program_id}: the raw change ({_fmt_value(raw, ev.unit)}) came from other forces; "
            "the training's effect is not distinguishable from zero"
        )
    return f"{ev.program_id}: naive comparisons against the recommended estimate ({_fmt_value(att, ev.unit)})"


def truth_sentence(ev: ProgramEvaluation) -> str | None:
    """Estimate beside the known truth (sample data only)."""
    if not ev.truth:
        return None
    true = ev.truth.get("overall_att")
    if true is None:
        return None
    lo, hi = ev.overall.conf_int(0.95)
    covered = "covers" if lo <= true <= hi else "misses"
    return (
        f"The true effect built into the sample data is {_fmt_value(true, ev.unit)}; the "
        f"estimate's 95% CI {covered} it."
    )


def diagnostics_table(ev: ProgramEvaluation) -> pd.DataFrame:
    """check, result, verdict for every diagnostic."""
    rows = [
        ("Pre-training slump (mean reversion)", "detected" if ev.dip.detected else "none", ev.dip.verdict),
        ("Joint pre-trend test", f"p = {ev.pretrend.pvalue:.3f}" if np.isfinite(ev.pretrend.pvalue) else "n/a", ev.pretrend.verdict),
    ]
    if ev.placebo is not None:
        result = "n/a" if not np.isfinite(ev.placebo.att) else "passed" if ev.placebo.passed else "failed"
        rows.append(("Placebo (fake training dates)", result, ev.placebo.verdict))
    if ev.twfe_weights is not None:
        rows.append(("TWFE weights (Bacon / negative weights)", "warning" if np.isfinite(ev.twfe_weights.weight_later_vs_earlier) and ev.twfe_weights.weight_later_vs_earlier > 0 else "ok", ev.twfe_weights.verdict))
    if ev.honest is not None:
        b = ev.honest.breakdown_m
        res = "n/a" if b is not None and not np.isfinite(b) else ("> grid" if b is None else f"M = {b:.2g}")
        rows.append(("HonestDiD relative magnitudes", res, ev.honest.verdict))
    rows.append(("Comparison group and overlap", "warning" if ev.overlap.warnings else "ok", ev.overlap.verdict))
    return pd.DataFrame(rows, columns=["check", "result", "verdict"])



def accounting_clause(ev: ProgramEvaluation) -> str:
    """Who is in the estimate, naming what was left out ("171 of 191 trainees; ...")."""
    acc = ev.accounting
    if acc.complete:
        return f"all {acc.n_trainees:,} trainees are in this estimate"
    left = acc.reasons.loc[~acc.reasons["used"]]
    months = left["training_month"].dt.strftime("%Y-%m")
    parts: list[str] = []
    full = acc.table[(acc.table["group"] == "trainees") & (acc.table["used"] == 0)]
    whole = set(full["training_month"])
    for month in sorted(whole):
        why = left.loc[months == month, "reason"].value_counts()
        n = int((months == month).sum())
        if len(why) == 1:
            parts.append(f"the {month} cohort ({n:,} trainees) has {why.index[0]}" if why.index[0].startswith("no ")
                         else f"the {month} cohort ({n:,} trainees): {why.index[0]}")
        else:
            parts.append(f"the {month} cohort ({n:,} trainees) is set aside")
    rest = left.loc[~months.isin(whole), "reason"].value_counts()
    for why, n in rest.items():
        parts.append(f"{int(n):,} more: {why}")
    return f"{acc.n_used:,} of {acc.n_trainees:,} trainees are in this estimate; " + "; ".join(parts)


def headline(ev: ProgramEvaluation) -> str:
    """The plain-language summary sentence (the recommended estimate, its 95% CI, who is in it)."""
    lo, hi = ev.overall.conf_int(0.95)
    att = ev.overall.att
    null = lo <= 0 <= hi
    # an interval around zero gets no direction: "changed by +0.003", not "raised by 0.003"
    verb = "changed" if null else "raised" if att >= 0 else "lowered"
    size = ("+" if null and att >= 0 else "") + _fmt_value(att if null else abs(att), ev.unit)
    sentence = (
        f"Program {ev.program_id} ({ev.program_name}) {verb} monthly {kpi_words(ev.kpi)} by "
        f"{size} per trainee and month (95% CI {_fmt_value(lo)} to {_fmt_value(hi, ev.unit)}; "
        f"{accounting_clause(ev)})"
    )
    if null:
        sentence += ", an effect not distinguishable from zero"
    share = ev.share_not_caused
    raw = ev.naive_before_after
    if null and np.isfinite(raw):
        sentence += (
            f", so the raw before/after change ({_fmt_value(raw, ev.unit)}) cannot be credited "
            "to the training."
        )
    elif np.isfinite(share) and np.isfinite(raw):
        if 0 <= share <= 1:
            sentence += (
                f"; about {share:.0%} of the raw before/after change "
                f"({_fmt_value(raw, ev.unit)}) was not caused by the training."
            )
        elif share < 0:
            sentence += (
                f"; the raw before/after change ({_fmt_value(raw, ev.unit)}) understates the "
                "training's effect: other forces pulled the KPI the other way."
            )
        else:
            sentence += (
                f"; the raw before/after change ({_fmt_value(raw, ev.unit)}) was entirely due "
                "to other forces (selection, market, mean reversion)."
            )
    else:
        sentence += "."
    caveat = small_program_sentence(_median_trainees_per_month(ev), ev.small_cohorts, ev.method) or (
        few_training_months_sentence(len(ev.cohort_table))
    )
    guard = dr_guard_sentence(ev)
    caveat = " ".join(c for c in (caveat, guard) if c)
    return f"{sentence} {caveat}" if caveat else sentence


def _dr_ratio_clause(ratio: float, tense: str) -> str:
    """"its standard error was 17,399 times that of the estimate without controls" (``tense``: was / is)."""
    if not np.isfinite(ratio):
        return f"its standard error {tense} infinite"
    return f"its standard error {tense} {ratio:,.0f} times that of the estimate without controls"


_SEPARATED = "a sign that the propensity model separated trainees from comparison employees in at least one training month"


def dr_guard_sentence(ev: ProgramEvaluation) -> str | None:
    """The headline's caveat when the doubly robust estimate was unstable (replaced, or kept as asked).

    Parameters
    ----------
    ev : ProgramEvaluation
        Reads ``dr_se_ratio`` and ``dr_fallback``.

    Returns
    -------
    str or None
        One sentence; ``None`` when the doubly robust estimate was stable or did not run.
    """
    ratio = ev.dr_se_ratio
    if not dr_is_unstable(ratio):
        return None
    if ev.dr_fallback:
        return (
            f"The doubly robust estimate was unstable ({_dr_ratio_clause(ratio, 'was')}, {_SEPARATED}), so the "
            "estimate is by outcome regression, as are its event study, diagnostics and robustness rows; the robustness "
            "table also shows the doubly robust estimate."
        )
    return (
        f"This doubly robust estimate is unstable ({_dr_ratio_clause(ratio, 'is')}, {_SEPARATED}): do not read it "
        "as the training's effect; the default (method = \"auto\") estimates it by outcome regression."
    )


def dr_replaced_note(ratio: float) -> str:
    """Note of the robustness row that shows the unstable doubly robust estimate the guard replaced.

    Parameters
    ----------
    ratio : float
        :attr:`~analysis.attribution.evaluation.ProgramEvaluation.dr_se_ratio`.

    Returns
    -------
    str
    """
    return (
        f"not used: {_dr_ratio_clause(ratio, 'is')} (more than {DR_UNSTABLE_SE_RATIO:g} times counts as unstable), "
        f"{_SEPARATED}; the recommended estimate is by outcome regression"
    )


def _median_trainees_per_month(ev: ProgramEvaluation) -> float:
    """Median trainees per training month of the program as the data has them (before pooling)."""
    table = ev.cohort_table
    if "trainees" not in table or not len(table):
        return float("nan")
    return float(table["trainees"].median())


def _share_words(share: float) -> str:
    """"half as large as" for 0.5, else "40% of" (the slump rule's size condition in words)."""
    return "half as large as" if share == 0.5 else f"{share:.0%} of"


def anticipation_rule(ev: ProgramEvaluation) -> str:
    """How the comparison month was chosen and what came out, in words."""
    k = ev.recommended.anticipation
    month = "the month before training" if k == 0 else f"the KPI {k + 1} months before training"
    if not ev.anticipation_auto:
        rule = f"Comparison month set by the analyst (anticipation = {k}): effects are measured against {month}."
        if ev.dip.detected and k < ev.dip.recommended_anticipation:
            rule += (
                f" The slump test found a {ev.dip.months}-month slump before training, so this choice "
                "credits part of the rebound to the training."
            )
        return rule
    found = (
        f"found a significant {ev.dip.months}-month slump just before training"
        if ev.dip.detected
        else "found no significant slump just before training"
    )
    return (
        "Comparison month chosen from the data (anticipation = 'auto'): the rule moves the comparison "
        "month before any slump that the pre-training slump test finds (95% level, on the textbook estimate: "
        "every training month as it is, no controls, anchored on the month before training; an earlier month "
        f"joins the slump only when its fall is also significant and at least {_share_words(MIN_EXTENSION_SHARE)} the fall "
        "into the month before training). "
        f"Here the test {found}, so effects are measured against "
        f"{month} (anticipation = {k}); the other choice is a robustness row."
    )


def _runs(values: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive runs of integers: [0, 1, 2, 5] -> [(0, 2), (5, 5)]."""
    out: list[tuple[int, int]] = []
    for v in sorted(values):
        if out and v == out[-1][1] + 1:
            out[-1] = (out[-1][0], v)
        else:
            out.append((v, v))
    return out


def _months_words(runs: list[tuple[int, int]]) -> str:
    """``month 0``, ``months 0 to 13``, ``months 0 to 3 and 5``: the months after training a band excludes zero in."""
    words = [f"{a}" if a == b else f"{a} to {b}" for a, b in runs]
    label = "month" if len(runs) == 1 and runs[0][0] == runs[0][1] else "months"
    return f"{label} " + (words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1])


def band_months(ev: ProgramEvaluation) -> tuple[list[int], str]:
    """Post-training months whose event-study band (as drawn) excludes zero, and the band's name."""
    dyn = ev.event_study
    post = dyn[dyn["event_time"] >= 0]
    sig = post[(post["ci_low"] > 0) | (post["ci_high"] < 0)]
    uniform = str(dyn["band"].iloc[0]).startswith("uniform") if len(dyn) else False
    band = "uniform 95% band, which holds for all months at once" if uniform else "pointwise 95% interval"
    return [int(e) for e in sig["event_time"]], band


def event_verdict(ev: ProgramEvaluation, min_cohorts: int = 3) -> str:
    """The event study in words: which test each sentence is about, numbers the chart draws."""
    dyn = ev.event_study
    post_all = dyn[dyn["event_time"] >= 0]
    if post_all.empty:
        return "No post-training month is observed yet."
    months, band = band_months(ev)
    parts = [f"Before training (joint pre-trend test): {ev.pretrend.verdict}"]
    k = ev.recommended.anticipation
    if k:
        parts.append(f"Effects are measured against the KPI {k + 1} months before training, before the pre-training slump.")
    post = post_all[post_all["n_cohorts"] >= min_cohorts] if "n_cohorts" in post_all else post_all
    few = post.empty  # no month after training rests on min_cohorts training months: say so, never "at least"
    if few:
        post = post_all
    peak = post.loc[post["att"].abs().idxmax()]
    lo, hi = ev.overall.conf_int(0.95)
    overall_sig = not (lo <= 0 <= hi)
    if not months:
        text = f"Month by month (event study; {band}): the band includes zero in every month after training"
        text += (
            "; no single month is detectable on its own, while the average over all months after training "
            "(the headline, a single test with a narrower interval) is."
            if overall_sig
            else ", and the average over all months (the headline) is not distinguishable from zero either."
        )
        parts.append(text)
    else:
        on = "the largest effect is" if few else f"the largest effect measured on at least {min_cohorts} training months is"
        parts.append(
            f"Month by month (event study; {band}): the band excludes zero in {_months_words(_runs(months))}; "
            f"{on} {_fmt_value(peak['att'], ev.unit)} in month {int(peak['event_time'])}"
            + (
                "; the average over all months after training (the headline, a different test) is not "
                "distinguishable from zero."
                if not overall_sig
                else "."
            )
        )
        last = post.iloc[-1]
        if abs(last["att"]) < 0.6 * abs(peak["att"]) and int(last["event_time"]) > int(peak["event_time"]):
            parts.append(f"The effect fades: {_fmt_value(last['att'], ev.unit)} by month {int(last['event_time'])}.")
    if few:
        parts.append(f"Every month after training rests on fewer than {min_cohorts} training months, so the bands are wide.")
    elif len(post) < len(post_all):
        parts.append(
            f"Months after {int(post['event_time'].max())} rest on fewer than {min_cohorts} training "
            "months and carry wide bands."
        )
    return " ".join(parts)


def event_study_title(ev: ProgramEvaluation) -> str:
    """Finding-style title of the event-study figure (the band the figure draws)."""
    months, _ = band_months(ev)
    good = (ev.overall.att > 0) == ev.higher_is_better
    if not months:
        return f"{ev.program_id}: no single month after training is detectable with the uniform band"
    move = ("rose" if ev.overall.att > 0 else "fell") + (" (an improvement)" if good else " (a deterioration)")
    slump = "; the slump just before training is mean reversion, not a trend" if ev.dip.detected else ""
    return f"{ev.program_id}: monthly {kpi_words(ev.kpi)} {move}; the band excludes zero in {_months_words(_runs(months))}{slump}"


def heterogeneity_title(ev: ProgramEvaluation) -> str:
    """Finding-style title of the heterogeneity figure (the exam-score link).

    Reads the table's ``ci_low``/``ci_high`` (simultaneous over all subgroups by
    default) and the KPI's direction: a difference is headlined only when the two
    bands' intervals do not overlap; "larger improvement" means a larger rise of a
    higher-is-better KPI and a larger fall of a lower-is-better one.
    """
    h = ev.heterogeneity
    bands = h[(h["dimension"] == "exam score") & h["att"].notna() & h["group"].isin([b[0] for b in EXAM_BANDS])]
    kind = str(h["interval"].iloc[0]) if "interval" in h and len(h) else "95%"
    if len(bands) >= 2:
        lo_b, hi_b = bands.iloc[0], bands.iloc[-1]
        sign = 1.0 if ev.higher_is_better else -1.0
        gain_hi, gain_lo = sign * hi_b["att"], sign * lo_b["att"]
        separated = hi_b["ci_low"] > lo_b["ci_high"] or lo_b["ci_low"] > hi_b["ci_high"]
        if separated:
            word = "larger" if gain_hi > gain_lo else "smaller"
            return (
                f"{ev.program_id}: trainees scoring {hi_b['group']} on the exam improved {ev.kpi} by {word} amounts "
                f"than those scoring {lo_b['group']} (intervals {kind} do not overlap)"
            )
        return (
            f"{ev.program_id}: no exam-score difference in the effect that the {kind} intervals support"
        )
    return f"{ev.program_id}: effect by subgroup"


def methods_note(ev: ProgramEvaluation) -> str:
    """Method and caveats in words."""
    spec = ev.recommended.specification
    pooled = (
        f" Training months with fewer than {ev.options.min_cohort_size} trainees are pooled within their quarter "
        "in this estimate (a named choice; the robustness table shows every month as it is)."
        if any(ev.cohort_table["rule"].astype(str).str.startswith("pooled")) else ""
    )
    if ev.small_program and ev.small_cohorts == "keep":
        pooled = (
            f" The median training month has fewer than {ev.options.min_cohort_size} trainees, so every month is kept "
            "as it is (pooling would count some trainees as trained before they were and hide the pre-training slump)"
            + (" and the controls enter by outcome regression (a propensity model fitted on a handful of trainees "
               "separates)" if ev.method == "reg" else "")
            + "; the robustness table shows the rule for larger programs."
        )
    if ev.dr_fallback:
        pooled += (
            " The controls enter by outcome regression because the doubly robust estimate was unstable (its standard "
            f"error more than {DR_UNSTABLE_SE_RATIO:g} times that of the estimate without controls, where controls and "
            "the comparison month move it by a factor near 1); the robustness table shows it."
        )
    tenure = (
        " Tenure is matched where each comparison starts (months since hire at the comparison month, with the "
        "slope free to change at 6 and 24 months), so a recent hire's ramp-up is not credited to training."
        if TENURE_COLUMN in ev.recommended.covariates else ""
    )
    left = "".join(
        f" Left out of the comparison group: {n:,} {why}." for why, n in ev.accounting.comparison_left_out.items()
    )
    return (
        "Estimator: Callaway & Sant'Anna (2021) staggered difference-in-differences "
        f"({spec['method']}), each training month compared with {spec['control']} employees, "
        f"controls: {', '.join(_control_words(ev.recommended.covariates))}. "
        f"{anticipation_rule(ev)} "
        f"Standard errors clustered by {_CLUSTER_WORDS[ev.cluster]} ({ev.cluster_reason})"
        + ("; employee-level clustering is a robustness row" if ev.cluster != "employee" else "")
        + f"; {spec['inference']}. Unbalanced panel: each comparison uses the "
        "employees observed in both months (within-cell panel differencing), and every training month weighs by "
        "its number of trainees, whatever share of them is still employed later." + tenure + pooled + left
    )


def _engine_notes(res: StaggeredDiDResults) -> list[str]:
    """Summarise ``diff_diff``'s per-cell messages in one or two sentences."""
    out: list[str] = []
    n_cells = int(len(res.att_gt))
    flagged = 0
    other: list[str] = []
    for m in res.engine_messages:
        if "propensity" in m.lower() or "Events Per Variable" in m or "Logistic regression" in m:
            if "will be trimmed" in m:
                hit = re.search(r"similar message for (\d+) cells", m)
                flagged = max(flagged, int(hit.group(1)) if hit else 1)
            continue
        if "Unbalanced panel detected" in m or "n_bootstrap" in m:
            continue
        other.append(m)
    if flagged:
        out.append(
            f"In {flagged} of {n_cells} comparison cells some propensity scores reach the clipping "
            f"bounds [{res.pscore_trim:g}, {1 - res.pscore_trim:g}]: a training month has few trainees "
            "and some regions or grades none, so the propensity part of the doubly robust estimator is "
            "weakly determined there and the estimate leans on its outcome regression on the "
            "never-trained employees, which stays well determined. The engine's full messages are "
            "kept in recommended.engine_messages."
        )
    return out + other


