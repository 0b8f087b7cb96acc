"""Monte Carlo: bias and 95% CI coverage of every rung of the method ladder, against known truth.

Usage::

    python benchmarks/montecarlo.py                          # 200 data sets of 1,000 employees x 24 months
    python benchmarks/montecarlo.py --reps 20 --employees 600 --out /tmp/mc.md   # a quick look
    python benchmarks/montecarlo.py --reps 60 --ablate mean_reversion market_shocks   # which confound biases?
    python benchmarks/montecarlo.py --reps 100 --kit-option controls=tenure,department,region,grade,market,baseline_kpi
    python benchmarks/montecarlo.py --employees 500 --kit-option min_cohort_size=1 --out results/montecarlo_small_500.md
    python benchmarks/montecarlo.py --employees 1000 --cohorts 2 --out results/montecarlo_small_2cohorts.md
    python benchmarks/montecarlo.py --sample-option mean_reversion=false --kit-option anticipation=0 anticipation=1

Each replication generates a sample with every confound switched on
(:func:`analysis.sample.generate` through :func:`analysis.sample.write_sample`, a new seed
each time), loads it with :func:`analysis.data.load_dataset` and runs
:func:`analysis.attribution.evaluate_program` for every program (analytic standard errors
clustered by employee; diagnostics, heterogeneity and robustness rows switched off). Every
rung of the ladder is compared with the program's true overall ATT from
``ground_truth.json``: bias, relative bias, RMSE, 95% CI coverage, and, to tell a bias
problem from a standard-error problem, the mean and median standard error against the
spread of the estimates and the coverage an interval would have with the Monte Carlo
spread as its standard error. For the program without effect (P03) coverage is one minus
the false-positive rate.

``--ablate`` re-runs the same seeds once per named confound with that switch of
:class:`analysis.sample.SampleConfig` off, and ``--kit-option`` once per named
``evaluate_program`` option (e.g. ``min_cohort_size=1``: no pooling of small training
months), so a bias can be traced to the confound or the estimation choice behind it.
``--variant 'K=V;K=V'`` runs a combination (SampleConfig fields go to the generator, the rest
to ``evaluate_program``), e.g. ``--variant 'mean_reversion=false;anticipation=0'``.
``--sample-option KEY=VALUE`` (and its shorthand ``--cohorts N`` for ``n_cohorts``) changes
:class:`~analysis.sample.SampleConfig` for every variant, e.g. ``mean_reversion=false``: data
without the pre-training dip.

Writes the table to ``benchmarks/results/montecarlo.md`` and every replication to
``montecarlo.csv`` (ablations: ``montecarlo_ablation.md`` / ``.csv``).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import fields, replace
from datetime import datetime, timezone
from multiprocessing import get_context
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _report import markdown_table  # noqa: E402

RESULTS = HERE / "results"
BASE = "every confound on"
RECOMMENDED = "Recommended: CS doubly robust, baseline before the slump"
#: The ladder's rungs in the order the table shows them (the recommended one is added last).
RUNGS = (
    "Naive before/after (trainees)",
    "Naive trained vs untrained (after)",
    "Two-way fixed effects",
    "Callaway-Sant'Anna, no controls",
    "Callaway-Sant'Anna, doubly robust with controls",
)
Z95 = 1.959964


Variant = tuple[str, dict[str, Any], dict[str, Any]]  # label, SampleConfig overrides, evaluate_program overrides


def replicate(task: tuple[int, int, int, Variant]) -> pd.DataFrame:
    """One data set: every program's ladder with the truth beside it (failures recorded, not raised)."""
    seed, n_employees, n_months, (label, sample_over, kit_over) = task
    warnings.simplefilter("ignore")
    from analysis.attribution import evaluate_program
    from analysis.data import load_dataset
    from analysis.sample import SampleConfig, write_sample

    config = replace(SampleConfig(n_employees=n_employees, n_months=n_months, seed=seed), **sample_over)
    options = {"n_boot": 0, "diagnostics": False, "heterogeneity": False, "robustness": False, "seed": seed, **kit_over}
    frames = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            dataset = load_dataset(write_sample(Path(tmp) / "mc", config))
        except Exception as exc:  # noqa: BLE001 - a failed data set is a row of the table
            return pd.DataFrame([{"seed": seed, "program_id": "(data)", "rung": "(failed)", "error": _err(exc),
                                  "variant": label}])  # fmt: skip
        for program_id in dataset.programs["program_id"].astype(str):
            t0 = time.perf_counter()
            try:
                ev = evaluate_program(dataset, program_id, **options)
            except Exception as exc:  # noqa: BLE001
                frames.append(pd.DataFrame([{"seed": seed, "program_id": program_id, "rung": "(failed)", "error": _err(exc)}]))
                continue
            lad = ev.ladder
            rec = lad[lad["recommended"]].assign(rung=RECOMMENDED)
            lad = pd.concat([lad[lad["rung"].isin(RUNGS)], rec], ignore_index=True)
            rule = ev.cohort_table["rule"].astype(str) if "rule" in ev.cohort_table else pd.Series(dtype=str)
            size = ev.cohort_table["trainees"] if "trainees" in ev.cohort_table else pd.Series(dtype=float)
            frames.append(lad.assign(seed=seed, program_id=program_id, anticipation=ev.recommended.anticipation,
                                     controls=ev.n_controls, pooled_months=int(rule.str.contains("pooled").sum()),
                                     training_months=len(size), median_cohort=float(size.median()) if len(size) else np.nan,
                                     seconds=time.perf_counter() - t0))  # fmt: skip
    return pd.concat(frames, ignore_index=True).assign(variant=label)


def _literal(text: str) -> Any:
    """``1`` -> 1, ``0.5`` -> 0.5, ``true`` -> True, ``a,b`` -> ["a", "b"], anything else stays text."""
    if "," in text:
        return [_literal(part) for part in text.split(",") if part]
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _err(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{type(exc).__name__}: {exc} ({Path(tb.filename).name}:{tb.lineno})"[:300]


def summarize(reps: pd.DataFrame) -> pd.DataFrame:
    """Bias, relative bias, RMSE, coverage and the SE diagnostics per program and rung."""
    ok = reps[reps["rung"] != "(failed)"]
    order = {r: i for i, r in enumerate((*RUNGS, RECOMMENDED))}
    rows = []
    for (variant, program_id, rung), g in ok.groupby(["variant", "program_id", "rung"], sort=False):
        g = g.dropna(subset=["estimate"])
        err = g["estimate"] - g["true_att"]
        truth = float(g["true_att"].mean())
        sd = float(err.std(ddof=1)) if len(g) > 1 else np.nan
        failed = int(((reps["program_id"] == program_id) & (reps["rung"] == "(failed)") & (reps["variant"] == variant)).sum())
        rows.append({
            "variant": variant,
            "program": program_id,
            "rung": rung,
            "data sets": len(g) if not failed else f"{len(g)} (+{failed} failed)",
            "true ATT": truth,
            "bias": float(err.mean()),
            "bias % of truth": 100 * float(err.mean()) / truth if abs(truth) > 0 else np.nan,
            "bias / median SE": float(err.mean()) / float(g["se"].median()) if len(g) else np.nan,
            "median bias %": 100 * float(err.median()) / truth if abs(truth) > 0 else np.nan,
            "RMSE": float(np.sqrt((err**2).mean())),
            "SD of estimates": sd,
            "mean SE": float(g["se"].mean()),
            "median SE": float(g["se"].median()),
            "coverage": float(g["covers_truth"].astype(bool).mean()),
            "coverage with SD as SE": float((err.abs() <= Z95 * sd).mean()) if sd == sd else np.nan,
            "_order": order.get(rung, 99),
        })  # fmt: skip
    table = pd.DataFrame(rows)
    return table.sort_values(["program", "_order"], kind="stable").drop(columns="_order").reset_index(drop=True)


def verdicts(table: pd.DataFrame) -> list[str]:
    """The acceptance criteria of issue 3, checked on the table (no tolerance tuned)."""
    lines = []
    main = table[table["variant"] == BASE].to_dict("records")
    for r in (r for r in main if r["rung"] == RECOMMENDED):
        if abs(r["true ATT"]) > 0:
            ok_cov, ok_bias = 0.92 <= r["coverage"] <= 0.98, abs(r["bias % of truth"]) < 10
            lines.append(
                f"- {r['program']}: recommended estimator coverage {r['coverage']:.3f} (target 0.92-0.98:"
                f" {'met' if ok_cov else 'MISSED'}), bias {r['bias % of truth']:+.1f}% of the true effect (target under 10%:"
                f" {'met' if ok_bias else 'MISSED'})."
            )
            if not (ok_cov and ok_bias):
                lines.append(
                    f"  Diagnostics: median bias {r['median bias %']:+.1f}%; mean SE {r['mean SE']:.4g}, median SE"
                    f" {r['median SE']:.4g}, SD of the estimates {r['SD of estimates']:.4g} (median SE / SD"
                    f" {r['median SE'] / r['SD of estimates']:.2f}); with the Monte Carlo SD as SE the coverage would be"
                    f" {r['coverage with SD as SE']:.3f}."
                )
        else:
            lines.append(f"- {r['program']} (no true effect): false-positive rate of the recommended estimator"
                         f" {1 - r['coverage']:.3f} (nominal 0.05).")  # fmt: skip
    for r in (r for r in main if r["rung"].startswith("Naive") and abs(r["true ATT"]) > 0):
        lines.append(f"- {r['program']}, {r['rung']}: bias {r['bias % of truth']:+.0f}% of the true effect, coverage {r['coverage']:.3f}.")
    return lines


SMALL_BINS = (0, 5, 10, 20, 40, np.inf)


def small_company_summary(paths: list[Path]) -> str:
    """One Markdown page over the small-company runs: the recommended rung per size, variant and program,
    and its relative error by trainees per training month (the size the page's warning is about)."""
    frames = []
    for path in paths:
        reps = pd.read_csv(path)
        text = path.with_suffix(".md").read_text(encoding="utf-8") if path.with_suffix(".md").exists() else ""
        employees = next((int(w) for w in text.split("`analysis.sample`, ")[1].split()[:1]), None) if "`analysis.sample`, " in text else None
        for col in ("median_cohort", "pooled_months", "training_months"):
            if col not in reps:  # runs from before these columns were recorded
                reps[col] = np.nan
        frames.append(reps.assign(study=path.stem, employees=employees))
    reps = pd.concat(frames, ignore_index=True)
    rec = reps[(reps["rung"] == RECOMMENDED)].dropna(subset=["estimate"]).copy()
    rows = []
    for (study, variant, program), g in rec.groupby(["study", "variant", "program_id"], sort=True):
        err = g["estimate"] - g["true_att"]
        truth = float(g["true_att"].mean())
        rows.append({
            "study": study, "employees": g["employees"].iloc[0], "variant": variant, "program": program,
            "data sets": len(g), "trainees per month (median)": float(g["median_cohort"].median()),
            "pooled months (median)": float(g["pooled_months"].median()), "true ATT": truth,
            "bias % of truth": 100 * float(err.mean()) / truth if abs(truth) > 0 else np.nan,
            "+- (2 SE of the mean)": 200 * float(err.std(ddof=1)) / np.sqrt(len(g)) / abs(truth) if abs(truth) > 0 else np.nan,
            "bias / median SE": float(err.mean()) / float(g["se"].median()),
            "coverage": float(g["covers_truth"].astype(bool).mean()),
            "mean SE / SD": float(g["se"].mean()) / float(err.std(ddof=1)),
        })  # fmt: skip
    table = pd.DataFrame(rows)
    eff = rec[rec["true_att"].abs() > 0].copy()
    eff["rel_err"] = (eff["estimate"] - eff["true_att"]) / eff["true_att"]
    eff["pooling"] = np.where(eff["variant"].str.contains("min_cohort_size=1"), "not pooled (min_cohort_size=1)", "pooled (default)")
    eff["trainees per month"] = pd.cut(eff["median_cohort"], SMALL_BINS, right=False)
    by = (
        eff.groupby(["pooling", "trainees per month"], observed=True)
        .agg(evaluations=("rel_err", "size"), bias_pct=("rel_err", lambda v: 100 * v.mean()),
             two_se=("rel_err", lambda v: 200 * v.std(ddof=1) / np.sqrt(len(v))),
             coverage=("covers_truth", lambda v: v.astype(bool).mean()))  # fmt: skip
        .reset_index()
        .rename(columns={"bias_pct": "bias % of truth", "two_se": "+- (2 SE of the mean)"})
    )
    by["trainees per month"] = by["trainees per month"].astype(str)
    return "\n".join([
        "## Recommended estimate per study, variant and program", "", markdown_table(table), "",
        "## Programs with an effect (P01, P02): relative error by trainees per training month", "",
        "Median trainees per training month of the program in the data set (before pooling); bias = mean of"
        " (estimate - truth) / truth over the evaluations in the bin.", "", markdown_table(by), "",
    ])  # fmt: skip


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _default_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _commit() -> str:
    try:
        head = subprocess.run(["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "-C", str(HERE.parent), "status", "--porcelain", "analysis"], capture_output=True,
                               text=True, check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + (" with uncommitted changes in analysis/" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200, help="generated data sets")
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--ablate", nargs="+", default=[], metavar="SWITCH",
                        help="also run with each of these SampleConfig switches off (e.g. mean_reversion market_shocks)")  # fmt: skip
    parser.add_argument("--kit-option", nargs="+", default=[], metavar="KEY=VALUE",
                        help="also run with each of these evaluate_program options (e.g. min_cohort_size=1 anticipation=2)")  # fmt: skip
    parser.add_argument("--variant", nargs="+", default=[], metavar="K=V;K=V",
                        help="also run with these settings together; SampleConfig fields go to the generator, the rest"
                             " to evaluate_program (e.g. 'mean_reversion=false;anticipation=0')")  # fmt: skip
    parser.add_argument("--sample-option", nargs="+", default=[], metavar="KEY=VALUE",
                        help="SampleConfig settings for every variant (e.g. mean_reversion=false n_cohorts=2)")  # fmt: skip
    parser.add_argument("--cohorts", type=int, default=None, help="SampleConfig.n_cohorts: training in this many months only")
    parser.add_argument("--out", default=None, help="Markdown output (default results/montecarlo.md, or montecarlo_ablation.md)")
    parser.add_argument("--summarize", nargs="+", default=None, metavar="CSV",
                        help="write one summary page over these runs' CSVs to --out instead of running")  # fmt: skip
    args = parser.parse_args(argv)
    if args.summarize:
        text = small_company_summary([Path(p) for p in args.summarize])
        out = Path(args.out or RESULTS / "montecarlo_small.md")
        out.write_text("# Monte Carlo: small companies\n\n" + text, encoding="utf-8")
        print(text)
        return 0
    from analysis.sample import SampleConfig

    known = {f.name for f in fields(SampleConfig) if f.type in ("bool", bool)}
    common: dict[str, Any] = {}
    for option in args.sample_option:
        key, _, value = option.partition("=")
        if key not in {f.name for f in fields(SampleConfig)}:
            parser.error(f"unknown SampleConfig field {key!r}")
        common[key] = _literal(value)
    if args.cohorts is not None:
        common["n_cohorts"] = args.cohorts
    variants: list[Variant] = [(BASE, dict(common), {})]
    for switch in args.ablate:
        if switch not in known:
            parser.error(f"unknown switch {switch!r}; SampleConfig has {sorted(known)}")
        variants.append((f"{switch} off", {**common, switch: False}, {}))
    for option in args.kit_option:
        key, _, value = option.partition("=")
        variants.append((f"kit {key}={value}", dict(common), {key: _literal(value)}))
    sample_fields = {f.name for f in fields(SampleConfig)}
    for spec in args.variant:
        pairs = [part.partition("=") for part in spec.split(";") if part]
        sample_over = {k: _literal(v) for k, _, v in pairs if k in sample_fields}
        kit_over = {k: _literal(v) for k, _, v in pairs if k not in sample_fields}
        variants.append((" + ".join(f"{k}={v}" for k, _, v in pairs), {**common, **sample_over}, kit_over))
    diagnostic = len(variants) > 1
    out = Path(args.out or RESULTS / ("montecarlo_ablation.md" if diagnostic else "montecarlo.md"))
    # One BLAS thread per worker: the worker processes are the parallelism.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    seeds = range(args.first_seed, args.first_seed + args.reps)
    # seed-major order: a run stopped early (Ctrl-C or SIGTERM) still has paired seeds for every variant
    tasks = [(s, args.employees, args.months, v) for s in seeds for v in variants]
    commit = _commit()
    t0 = time.perf_counter()
    frames = []
    stopped = ""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with get_context("fork").Pool(args.jobs, initializer=_default_sigterm, maxtasksperchild=25) as pool:
            for k, frame in enumerate(pool.imap_unordered(replicate, tasks), 1):
                frames.append(frame)
                if k % 10 == 0 or k == len(tasks):
                    print(f"  {k}/{len(tasks)} data sets ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        if not frames:
            raise
        stopped = f"Stopped early after {len(frames)} of {len(tasks)} data sets"
    reps = pd.concat(frames, ignore_index=True).sort_values(["variant", "seed", "program_id"], kind="stable")
    if stopped:  # keep the seeds finished for every variant (a paired comparison)
        per_seed = reps.groupby("seed")["variant"].nunique()
        done = per_seed[per_seed == len(variants)].index
        reps = reps[reps["seed"].isin(done)]
        stopped += f"; the tables use the {len(done)} seeds finished for every variant."
        seeds = sorted(int(v) for v in done)
    table = summarize(reps)
    minutes = (time.perf_counter() - t0) / 60
    failed = reps[reps["rung"] == "(failed)"]
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = [
        f"# Monte Carlo: the method ladder against known truth ({stamp})",
        "",
        f"Command: `python benchmarks/montecarlo.py {' '.join(argv if argv is not None else sys.argv[1:])}`; kit at commit"
        f" {commit}; {minutes:.1f} minutes on {args.jobs} worker processes ({os.cpu_count()} cores).",
        "",
        *([f"**{stopped}**", ""] if stopped else []),
        f"{len(seeds)} generated data sets per variant (`analysis.sample`, {args.employees} employees x {args.months} months,"
        f" seeds {seeds[0]}-{seeds[-1]}, every confound on unless a variant switches one off"
        + (f"; for every variant {', '.join(f'{k}={v}' for k, v in common.items())}" if common else "")
        + "); `evaluate_program` with"
        " its defaults (doubly robust, never-trained comparison group, small training months pooled by quarter,"
        " anticipation 'auto') and analytic standard errors clustered by employee (n_boot=0). Coverage: share of 95% CIs"
        " containing the true overall ATT; for P03, whose true effect is zero, one minus the false-positive rate."
        " 'Coverage with SD as SE': the same with the spread of the estimates across data sets as standard error, so a"
        " gap between the two columns is a standard-error problem and a low value in both is a bias problem."
        f" Binomial standard error of a coverage near 0.95 over {len(seeds)} data sets:"
        f" {np.sqrt(0.95 * 0.05 / len(seeds)):.3f}.",
        "",
    ]
    if len(failed):
        header += [f"{len(failed)} evaluations failed (rows '(failed)' in the CSV); first errors:", ""]
        header += [f"- seed {r.seed}, {r.program_id}: {r.error}" for r in failed.head(5).itertuples()] + [""]
    rec = reps[(reps["rung"] == RECOMMENDED) & (reps["variant"] == BASE)]
    if len(rec):
        header += [
            "Recommended estimate (every confound on): anticipation chosen "
            + ", ".join(f"{int(k)}: {v} times" for k, v in rec["anticipation"].value_counts().sort_index().items())
            + f"; training months per program and data set: median {rec['training_months'].median():.0f}, trainees per"
            f" training month (before pooling): median {rec['median_cohort'].median():.0f}"
            + f"; training months pooled by quarter per program and data set: median {rec['pooled_months'].median():.0f};"
            f" trainees per program and data set: median {rec['trainees'].median():.0f}; never-trained comparison"
            f" employees: median {rec['controls'].median():.0f}.",
            "",
        ]
    shown = table if diagnostic else table.drop(columns="variant")
    if diagnostic:  # one row per variant for the recommended estimate first: the comparison that matters
        shown = pd.concat([shown[shown["rung"] == RECOMMENDED], shown[shown["rung"] != RECOMMENDED]], ignore_index=True)
    text = "\n".join([*header, markdown_table(shown), "", "## Against the targets", "", *verdicts(table), ""])
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    reps.to_csv(out.with_suffix(".csv"), index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
