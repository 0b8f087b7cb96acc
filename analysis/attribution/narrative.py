"""The report's sentences: every word notebook 02 shows about an evaluation.

:class:`~analysis.attribution.evaluation.ProgramEvaluation` holds numbers; the
functions here turn them into the headline, figure titles, verdicts and notes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.attribution.panel import _CLUSTER_WORDS, _control_words
from analysis.attribution.robustness import EXAM_BANDS
from analysis.diagnostics import PretrendTest
from analysis.did import StaggeredDiDResults

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



def headline(ev: ProgramEvaluation) -> str:
    """The plain-language summary sentence."""
    lo, hi = ev.overall.conf_int(0.95)
    att = ev.overall.att
    null = lo <= 0 <= hi
    # an interval around zero gets no direction: "changed by +0.003", not "raised by 0.003"
    verb = "changed" if null else "raised" if att >= 0 else "lowered"
    size = ("+" if null and att >= 0 else "") + _fmt_value(att if null else abs(att), ev.unit)
    sentence = (
        f"Program {ev.program_id} ({ev.program_name}) {verb} monthly {ev.kpi} by "
        f"{size} per trainee (95% CI {_fmt_value(lo)} to {_fmt_value(hi, ev.unit)})"
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
    return sentence


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


def event_study_title(ev: ProgramEvaluation) -> str:
    """Finding-style title of the event-study figure."""
    post = ev.event_study[ev.event_study["event_time"] >= 0]
    sig = post[(post["ci_low"] > 0) | (post["ci_high"] < 0)]
    good = (ev.overall.att > 0) == ev.higher_is_better
    if sig.empty:
        return f"{ev.program_id}: no month after training differs detectably from the comparison group"
    move = ("rose" if ev.overall.att > 0 else "fell") + (" (an improvement)" if good else " (a deterioration)")
    slump = "; the slump just before training is mean reversion, not a trend" if ev.dip.detected else ""
    return f"{ev.program_id}: monthly {ev.kpi} {move} from month {int(sig['event_time'].iloc[0])} after training{slump}"


def heterogeneity_title(ev: ProgramEvaluation) -> str:
    """Finding-style title of the heterogeneity figure (the exam-score link)."""
    h = ev.heterogeneity
    bands = h[(h["dimension"] == "exam score") & h["att"].notna() & h["group"].isin([b[0] for b in EXAM_BANDS])]
    if len(bands) >= 2:
        lo_b, hi_b = bands.iloc[0], bands.iloc[-1]
        if hi_b["ci_low"] > lo_b["ci_high"] or lo_b["ci_low"] > hi_b["ci_high"]:
            word = "larger" if hi_b["att"] > lo_b["att"] else "smaller"
            return (
                f"{ev.program_id}: trainees scoring {hi_b['group']} on the exam gained {word} effects "
                f"than those scoring {lo_b['group']}"
            )
        if hi_b["att"] > lo_b["att"]:
            return f"{ev.program_id}: higher exam scores go with larger effects, within the uncertainty"
        return f"{ev.program_id}: no clear link between exam score and on-the-job effect"
    return f"{ev.program_id}: effect by subgroup"


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


def methods_note(ev: ProgramEvaluation) -> str:
    """Method and caveats in words."""
    spec = ev.recommended.specification
    return (
        "Estimator: Callaway & Sant'Anna (2021) staggered difference-in-differences "
        f"({spec['method']}), each training month compared with {spec['control']} employees, "
        f"controls: {', '.join(_control_words(ev.recommended.covariates))}. "
        f"Comparison month: {'the month before training' if ev.recommended.anticipation == 0 else f'{ev.recommended.anticipation + 1} months before training (before the pre-training slump)'}. "
        f"Standard errors clustered by {_CLUSTER_WORDS[ev.cluster]}; "
        f"{spec['inference']}. Unbalanced panel: each comparison uses the employees observed in "
        "both months (within-cell panel differencing)."
    )


def diagnostics_table(ev: ProgramEvaluation) -> pd.DataFrame:
    """check, result, verdict for every diagnostic."""
    rows = [
        ("Pre-training slump (mean reversion)", "detected" if ev.dip.detected else "none", ev.dip.verdict),
        ("Joint pre-trend test", f"p = {ev.pretrend.pvalue:.3f}" if np.isfinite(ev.pretrend.pvalue) else "n/a", ev.pretrend.verdict),
    ]
    if ev.placebo is not None:
        rows.append(("Placebo (fake training dates)", "passed" if ev.placebo.passed else "failed", ev.placebo.verdict))
    if ev.twfe_weights is not None:
        rows.append(("TWFE weights (Bacon / negative weights)", "warning" if np.isfinite(ev.twfe_weights.weight_later_vs_earlier) and ev.twfe_weights.weight_later_vs_earlier > 0 else "ok", ev.twfe_weights.verdict))
    if ev.honest is not None:
        b = ev.honest.breakdown_m
        res = "n/a" if b is not None and not np.isfinite(b) else ("> grid" if b is None else f"M = {b:.2g}")
        rows.append(("HonestDiD relative magnitudes", res, ev.honest.verdict))
    rows.append(("Comparison group and overlap", "warning" if ev.overlap.warnings else "ok", ev.overlap.verdict))
    return pd.DataFrame(rows, columns=["check", "result", "verdict"])



def _event_verdict(
    dyn: pd.DataFrame, pre: PretrendTest, unit: str, anticipation: int, min_cohorts: int = 3
) -> str:
    """The event study in words, read on the months measured on several cohorts."""
    post_all = dyn[dyn["event_time"] >= 0]
    if post_all.empty:
        return "No post-training month is observed yet."
    post = post_all[post_all["n_cohorts"] >= min_cohorts] if "n_cohorts" in post_all else post_all
    if post.empty:
        post = post_all
    sig = post[(post["ci_low"] > 0) | (post["ci_high"] < 0)]
    band = "uniform 95% band" if str(dyn["band"].iloc[0]).startswith("uniform") else "95% interval"
    peak = post.loc[post["att"].abs().idxmax()]
    last = post.iloc[-1]
    parts = [pre.verdict]
    if anticipation:
        parts.append(
            f"Effects are measured against the KPI {anticipation + 1} months before training, before "
            "any pre-training slump."
        )
    if sig.empty:
        parts.append(f"After training the {band} includes zero in every month: no effect is detectable.")
    else:
        first = int(sig["event_time"].iloc[0])
        parts.append(
            f"From month {first} after training the {band} excludes zero; the effect peaks at "
            f"{_fmt_value(peak['att'], unit)} in month {int(peak['event_time'])}"
            + (
                f" and is {_fmt_value(last['att'], unit)} by month {int(last['event_time'])}"
                if int(last["event_time"]) != int(peak["event_time"])
                else ""
            )
            + "."
        )
        if abs(last["att"]) < 0.6 * abs(peak["att"]) and int(last["event_time"]) > int(peak["event_time"]):
            parts.append("The effect fades over time.")
    if len(post) < len(post_all):
        parts.append(
            f"Months after {int(post['event_time'].max())} rest on fewer than {min_cohorts} training "
            "cohorts and are read with the wide bands they carry."
        )
    return " ".join(parts)



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


