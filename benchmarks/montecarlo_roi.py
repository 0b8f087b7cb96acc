"""Monte Carlo of the ROI interval: does notebook 03's 90% interval cover each program's true ROI?

Issue 9 asks that on the sample each program's true ROI lies inside its reported 90% interval. One
sample is one draw: a correct 90% interval misses one time in ten. This script measures the
coverage over many generated data sets, so a miss on the sample can be told apart from an interval
that is too narrow or a benefit that is biased.

For each seed it generates a data set like the bundled sample (``analysis.sample``, ``--employees`` x
``--months``, every confound on), runs notebook 02's evaluation of the recommended estimate with its
999-draw bootstrap (``evaluate_programs``; heterogeneity, diagnostics and robustness rows off: they do
not change the estimate or its draws) and notebook 03's ``compute_roi`` with the defaults, against
the true ROI the generator writes into ``ground_truth.json``.

Usage::

    nice .venv/bin/python benchmarks/montecarlo_roi.py --reps 100 --jobs 2
    python benchmarks/montecarlo_roi.py --summarize benchmarks/results/montecarlo_roi.csv

One CSV row per seed and program (appended as each data set finishes); the Markdown page summarizes
per program: data sets, true ROI, median estimate, coverage of the 90% interval, and the same for the
overall effect's 95% interval beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _report import kit_commit, markdown_table  # noqa: E402

LEVEL = 0.90


def one_data_set(seed: int, employees: int, months: int, n_boot: int) -> list[dict]:
    """Every program's ROI interval and overall effect on one generated data set, with the truth."""
    warnings.simplefilter("ignore")
    from analysis.attribution import evaluate_programs
    from analysis.costs import fully_loaded_cost
    from analysis.data import load_dataset
    from analysis.roi import compute_roi, load_true_roi
    from analysis.sample import SampleConfig, write_sample

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        folder = write_sample(Path(tmp) / "mc", SampleConfig(n_employees=employees, n_months=months, seed=seed))
        ds = load_dataset(folder)
        truth = json.loads((Path(folder) / "ground_truth.json").read_text())["programs"]
        report = evaluate_programs(ds, n_jobs=1, n_boot=n_boot, seed=7, heterogeneity=False, diagnostics=False, robustness=False)
        ex = report.exports()
        roi = compute_roi(fully_loaded_cost(ds.costs, ds.enrollments), effects=ex["att_by_program"], dynamic=ex["dynamic_profile"],
                          draws=ex["event_bootstrap_draws"], kpi_definitions=ds.kpi_definitions, programs=ds.programs,
                          level=LEVEL, truth=load_true_roi(folder))  # fmt: skip
        seconds = time.perf_counter() - t0
    att = ex["att_by_program"].set_index("program_id")
    for pid, r in roi.table.set_index("program_id").iterrows():
        a = att.loc[pid] if pid in att.index else None
        true_att = float(truth[pid]["overall_att"])
        rows.append({
            "employees": employees, "months": months, "seed": seed, "program_id": pid, "status": r["status"],
            "true_roi_pct": r.get("true_roi_pct", np.nan), "roi_pct_median": r["roi_pct_median"],
            "roi_pct_low": r["roi_pct_low"], "roi_pct_high": r["roi_pct_high"],
            "roi_covers": bool(r["roi_pct_low"] <= r.get("true_roi_pct", np.nan) <= r["roi_pct_high"]),
            "true_att": true_att, "att": float(a["att"]) if a is not None else np.nan,
            "att_ci_low": float(a["ci_low"]) if a is not None else np.nan, "att_ci_high": float(a["ci_high"]) if a is not None else np.nan,
            "att_covers": bool(a is not None and a["ci_low"] <= true_att <= a["ci_high"]),
            "att_se": float(a["se"]) if a is not None else np.nan, "anticipation": a["anticipation"] if a is not None else np.nan,
            "method": a["method"] if a is not None else "", "n_trainees": a["n_trainees"] if a is not None else np.nan,
            "seconds": seconds,
        })  # fmt: skip
    return rows


def summarize(reps: pd.DataFrame) -> pd.DataFrame:
    """Per program: coverage of the ROI interval and of the overall effect's interval, bias of both."""
    out = []
    for pid, g in reps.groupby("program_id", sort=True):
        g = g[g["roi_pct_low"].notna()]
        if g.empty:
            continue
        n = len(g)
        cov = float(g["roi_covers"].mean())
        width = (g["roi_pct_high"] - g["roi_pct_low"]) / 2
        err = g["roi_pct_median"] - g["true_roi_pct"]
        half_sd = float(np.quantile(err, 0.95) - np.quantile(err, 0.05)) / 2
        out.append({
            "program": pid, "data sets": n, "true ROI % (mean)": float(g["true_roi_pct"].mean()),
            "median ROI % - truth (mean)": float(err.mean()),
            "+- (2 SE of the mean)": float(2 * err.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan,
            f"coverage of the {LEVEL:.0%} ROI interval": cov,
            "+- (binomial 2 SE)": float(2 * np.sqrt(LEVEL * (1 - LEVEL) / n)),
            "misses below / above": f"{int((g['true_roi_pct'] < g['roi_pct_low']).sum())} / {int((g['true_roi_pct'] > g['roi_pct_high']).sum())}",
            "mean half-width / half the 5-95% spread of the estimates": float(width.mean() / half_sd) if half_sd > 0 else np.nan,
            "coverage of the 95% effect interval": float(g["att_covers"].mean()),
        })  # fmt: skip
    return pd.DataFrame(out)


def write_page(reps: pd.DataFrame, out: Path, command: str) -> None:
    commit = kit_commit()
    e, m = int(reps["employees"].iloc[0]), int(reps["months"].iloc[0])
    seeds = sorted(reps["seed"].unique())
    text = [
        "# Monte Carlo of the ROI interval (notebook 03) against the generator's true ROI",
        "",
        f"Command: `{command}`; kit at commit {commit}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        f"{len(seeds)} generated data sets like the bundled sample ({e:,} employees x {m} months, seeds {seeds[0]}-{seeds[-1]}, "
        "every confound on); notebook 02's recommended estimate with its 999-draw bootstrap, notebook 03's `compute_roi` "
        "with its defaults (intention to treat, the measured dynamic profile, nothing beyond the panel). The true ROI is the "
        "generator's (`ground_truth.json`, the same rules on the true event-time effects). P03 has no effect: its true ROI "
        "is -100%. 'mean half-width / ...' near 1: the interval is as wide as the estimates' spread across data sets.",
        "",
        markdown_table(summarize(reps)),
        "",
    ]
    out.write_text("\n".join(text), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--employees", type=int, default=2000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--first-seed", type=int, default=1000)
    ap.add_argument("--n-boot", type=int, default=999)
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (one data set each)")
    ap.add_argument("--csv", default=str(HERE / "results" / "montecarlo_roi.csv"))
    ap.add_argument("--out", default=str(HERE / "results" / "montecarlo_roi.md"))
    ap.add_argument("--summarize", nargs="+", metavar="CSV", help="summarize these CSVs into --out instead of running")
    args = ap.parse_args(argv)
    command = "python benchmarks/montecarlo_roi.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.summarize:
        reps = pd.concat([pd.read_csv(p) for p in args.summarize], ignore_index=True)
    else:
        csv = Path(args.csv)
        seeds = range(args.first_seed, args.first_seed + args.reps)
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(one_data_set, s, args.employees, args.months, args.n_boot) for s in seeds]
            for i, f in enumerate(as_completed(futures), 1):
                rows = pd.DataFrame(f.result())
                rows.to_csv(csv, mode="a", header=not csv.exists(), index=False)
                print(f"[{i}/{len(futures)}] seed {rows['seed'].iloc[0]}: {rows[['program_id', 'roi_covers']].values.tolist()}", flush=True)
        reps = pd.read_csv(csv)
    print(markdown_table(summarize(reps)))
    if args.out:
        write_page(reps, Path(args.out), command)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
