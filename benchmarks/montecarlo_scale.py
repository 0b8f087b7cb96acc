"""Monte Carlo at scale: bias (in % and in standard errors) and coverage of the recommended estimate.

Issue 12, item 4: "a consistent estimator's interval covers the truth at every size". For each seed the
script generates ``--employees`` x ``--months`` (``analysis.sample``), and for every program fits the
recommended estimate alone, exactly as ``evaluate_program`` does (the estimation panel with its
small-cohort rule and controls, the slump test on the month-before-training fit deciding the
anticipation, then the recommended fit), with analytic standard errors clustered as the kit's default.
The rungs of the method ladder, diagnostics and bootstrap are left out: they do not change the estimate.

Usage::

    python benchmarks/montecarlo_scale.py --employees 50000 --months 36 --reps 20 --out results/montecarlo_scale_50k.md
    python benchmarks/montecarlo_scale.py --summarize results/montecarlo_scale_50k.csv results/montecarlo.csv ...

One CSV row per seed and program (appended as each data set finishes, so a stopped run keeps what it did);
the Markdown page summarizes per program: data sets, true ATT, mean bias %, bias / median SE, coverage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _report import kit_commit, markdown_table  # noqa: E402
from montecarlo import _literal  # noqa: E402  (the same KEY=VALUE reading as montecarlo.py)

Z95 = 1.959964


def one_data_set(seed: int, employees: int, months: int, sample_options: dict | None = None,
                 unpooled: bool = False, slump_asis: bool = False, keep_reg: bool = False,
                 only_new: bool = False, slump_textbook: bool = False, programs: list[str] | None = None) -> list[dict]:
    """Every program's recommended estimate on one generated data set, with its truth.

    ``sample_options`` go to ``SampleConfig``; with ``unpooled`` each program is also fitted with every
    training month kept as it is (``small_cohorts="keep"``) at the same anticipation; with ``keep_reg``
    also every month as it is, the slump test on that fit and the estimate by outcome regression (no
    propensity model, so a training month of one or two trainees cannot make the weights explode).
    """
    warnings.simplefilter("ignore")
    from analysis.attribution import build_estimation_panel
    from analysis.attribution.ladder import _fit_controls_with_fallback
    from analysis.attribution.panel import estimate
    from analysis.data import load_dataset
    from analysis.diagnostics import detect_pre_training_dip
    from analysis.sample import SampleConfig, write_sample

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        config = SampleConfig(n_employees=employees, n_months=months, seed=seed, **(sample_options or {}))
        folder = write_sample(Path(tmp) / "mc", config)
        ds = load_dataset(folder)
        truth = json.loads((Path(folder) / "ground_truth.json").read_text())["programs"]
        t_data = time.perf_counter() - t0
        kdefs = ds.kpi_definitions.set_index("kpi")
        for pid in ds.programs["program_id"].astype(str):
            if programs and pid not in programs:
                continue
            true = float(truth[pid]["overall_att"])
            k = None
            variants = ([] if only_new else [("pool", "pooled fit")]) + ([("keep", "pooled fit")] if unpooled else [])
            if slump_asis:
                variants += [("keep", "months as they are"), ("pool", "months as they are")]
            if keep_reg:
                variants += [("keep", "outcome regression")]
            k_asis = None
            k_textbook = None
            for rule, slump in variants:
                t0 = time.perf_counter()
                kk = None
                try:
                    ep = build_estimation_panel(ds, pid, small_cohorts=rule)
                    hib = bool(kdefs.loc[ep.kpi, "higher_is_better"])
                    if slump_textbook and k_textbook is None:  # the slump test on the textbook fit (no controls, months as they are)
                        from dataclasses import replace

                        from analysis.attribution.panel import PSCORE_TRIM
                        from analysis.did import fit_callaway_santanna
                        textbook = fit_callaway_santanna(replace(ep.prepared_asis, covariates=[]), method="reg", pscore_trim=PSCORE_TRIM)
                        k_textbook = int(detect_pre_training_dip(textbook, higher_is_better=hib).recommended_anticipation)
                    if slump == "outcome regression":  # no doubly robust fit at all
                        asis, _ = _fit_controls_with_fallback(ep, control="never", method="reg")
                        kk = k_textbook if slump_textbook else int(detect_pre_training_dip(asis, higher_is_better=hib).recommended_anticipation)
                        rec = estimate(ep, controls=bool(ep.prepared.covariates), anticipation=kk, method="reg") if kk else asis
                    else:
                        cs0, _ = _fit_controls_with_fallback(ep, control="never", method="dr")
                        if k is None:  # the pooled fit's slump test decides (or the textbook fit's)
                            k = k_textbook if slump_textbook else int(detect_pre_training_dip(cs0, higher_is_better=hib).recommended_anticipation)
                        kk = k
                        if slump == "months as they are":
                            if k_asis is None:  # candidate rule: the slump test on every month as it is, outcome regression
                                from analysis.attribution.panel import PSCORE_TRIM
                                from analysis.did import fit_callaway_santanna
                                asis = fit_callaway_santanna(ep.prepared_asis, method="reg", pscore_trim=PSCORE_TRIM)
                                k_asis = int(detect_pre_training_dip(asis, higher_is_better=hib).recommended_anticipation)
                            kk = k_asis
                        rec = estimate(ep, controls=bool(ep.prepared.covariates), anticipation=kk) if kk else cs0
                    agg = rec.aggregate("simple")
                    att, se, n = agg.att, agg.se, agg.n_treated
                    sizes = ep.cohort_table["trainees"] if "trainees" in ep.cohort_table else pd.Series(dtype=float)
                    median_cohort = float(sizes.median()) if len(sizes) else np.nan
                    error = ""
                except Exception as exc:  # noqa: BLE001 - a failed fit is a row of the table
                    att = se = median_cohort = np.nan
                    n, error = 0, f"{type(exc).__name__}: {exc}"[:200]
                rows.append({"employees": employees, "months": months, "seed": seed, "program_id": pid,
                             "small_cohorts": (rule if slump == "pooled fit" else "keep, outcome regression" if slump == "outcome regression"
                                               else f"{rule}, slump test on months as they are"),
                             "true_att": true, "att": att, "se": se, "anticipation": kk,
                             "trainees": n, "median_cohort": median_cohort,
                             "covers": bool(abs(att - true) <= Z95 * se) if np.isfinite(se) else False,
                             "seconds_fit": time.perf_counter() - t0, "seconds_data": t_data, "error": error})  # fmt: skip
    return rows


def summarize(reps: pd.DataFrame) -> pd.DataFrame:
    """Per size and program: data sets, truth, bias in % and in SE units, coverage, SE against the spread."""
    out = []
    reps = reps.assign(small_cohorts=reps["small_cohorts"].fillna("pool")) if "small_cohorts" in reps else reps.assign(small_cohorts="pool")
    reps = reps.assign(study=reps["study"].fillna("")) if "study" in reps else reps.assign(study="")
    failed = reps["att"].isna()
    for (study, n, rule, pid), g_all in reps.groupby(["study", "employees", "small_cohorts", "program_id"], sort=True):
        g = g_all[g_all["att"].notna()]
        if g.empty:
            continue
        err = g["att"] - g["true_att"]
        true = float(g["true_att"].mean())
        rel = err / g["true_att"] * 100 if (g["true_att"] != 0).all() else pd.Series(np.nan, index=g.index)
        out.append({
            "study": study, "employees": int(n), "months": int(g["months"].iloc[0]),
            "small cohorts": {"pool": "pooled (default)", "keep": "as they are"}.get(rule, rule), "program": pid,
            "data sets": len(g), "failed fits": int(failed[g_all.index].sum()),
            "trainees per training month (median)": float(g["median_cohort"].median()) if "median_cohort" in g else np.nan,
            "true ATT (mean)": true, "bias % of truth": float(rel.mean()),
            "+- (2 SE of the mean)": float(2 * rel.std(ddof=1) / np.sqrt(len(g))) if len(g) > 1 else np.nan,
            "bias / median SE": float(err.mean() / g["se"].median()),
            "coverage": float(g["covers"].mean()), "mean SE / SD": float(g["se"].mean() / err.std(ddof=1)) if len(g) > 1 else np.nan,
            "seconds (data + this fit)": float(g["seconds_fit"].mean() + g["seconds_data"].mean()),
        })  # fmt: skip
    return pd.DataFrame(out)


def write_page(reps: pd.DataFrame, out: Path, command: str) -> None:
    commit = kit_commit()
    table = summarize(reps)
    text = [
        "# Monte Carlo at scale: the recommended estimate against the truth",
        "",
        f"Command: `{command}`; kit at commit {commit}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "Recommended estimate as `evaluate_program` computes it (small-cohort rule, controls incl. the tenure curve at "
        "the comparison month, anticipation from the slump test), analytic standard errors with the kit's default "
        "clustering. Coverage: share of 95% intervals containing the true overall ATT; for P03 (true effect 0) one "
        "minus the false-positive rate. 'mean SE / SD' near 1: the standard errors match the spread of the estimates.",
        "",
        markdown_table(table),
        "",
    ]
    out.write_text("\n".join(text), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--employees", type=int, default=50000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=100)
    ap.add_argument("--seeds", type=int, nargs="+", help="these seeds instead of --first-seed / --reps")
    ap.add_argument("--out", default=str(HERE / "results" / "montecarlo_scale_50k.md"))
    ap.add_argument("--sample-option", nargs="*", default=[], metavar="KEY=VALUE",
                    help="SampleConfig settings (e.g. mean_reversion=false n_cohorts=2)")
    ap.add_argument("--unpooled", action="store_true", help="also fit every program with small training months as they are")
    ap.add_argument("--slump-asis", action="store_true",
                    help="also the candidate rule: the slump test on every month as it is (outcome regression)")
    ap.add_argument("--keep-reg", action="store_true",
                    help="also every month as it is with the slump test and the estimate by outcome regression")
    ap.add_argument("--slump-textbook", action="store_true",
                    help="the slump test on the textbook fit (no controls, every month as it is) for every variant")
    ap.add_argument("--only-new", action="store_true", help="skip the default (pooled) fit; only the variants asked for")
    ap.add_argument("--programs", nargs="+", help="fit only these programs (default: every program)")
    ap.add_argument("--study", default="", help="label of this run in the summary")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (one data set each)")
    ap.add_argument("--summarize", nargs="+", metavar="CSV", help="summarize these CSVs into --out instead of running")
    args = ap.parse_args(argv)
    out = Path(args.out)
    command = "python benchmarks/montecarlo_scale.py " + " ".join(sys.argv[1:] if argv is None else argv)
    if args.summarize:
        reps = pd.concat([pd.read_csv(p) for p in args.summarize], ignore_index=True)
        write_page(reps, out, command)
        print(summarize(reps).to_string(index=False))
        return 0
    csv = out.with_suffix(".csv")
    sample_options = {k: _literal(v) for k, v in (o.split("=", 1) for o in args.sample_option)}
    done = pd.read_csv(csv) if csv.exists() else pd.DataFrame(columns=["seed"])
    seeds = args.seeds or range(args.first_seed, args.first_seed + args.reps)
    todo = [s for s in seeds if s not in set(done["seed"])]
    from concurrent.futures import ProcessPoolExecutor, as_completed
    import multiprocessing as mp

    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(one_data_set, s, args.employees, args.months, sample_options, args.unpooled, args.slump_asis, args.keep_reg,
                               args.only_new, args.slump_textbook, args.programs) for s in todo]
        for fut in as_completed(futures):
            rows = pd.DataFrame(fut.result()).assign(study=args.study)
            done = pd.concat([done, rows], ignore_index=True) if len(done) else rows
            done.to_csv(csv.with_suffix(".csv.tmp"), index=False)
            os.replace(csv.with_suffix(".csv.tmp"), csv)  # a run stopped while writing keeps the rows it had
            write_page(done, out, command)
            print(rows[["seed", "program_id", "small_cohorts", "att", "se", "true_att", "covers", "seconds_fit"]].to_string(index=False), flush=True)
    print(summarize(done).to_string(index=False))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    raise SystemExit(main())
