"""Consistency at scale, side by side: the recommended estimate at 2,000, 50,000 and 100,000 employees (issue 12).

Issue 12, item 4: "a Monte Carlo at 50,000 employees x 36 months (at least 20 data sets) and the
existing 2,000-employee study, side by side: bias in % and in units of the standard error, coverage".
This script reads the committed per-data-set CSVs and writes one table, one row per program and size,
with the summary of ``montecarlo_scale.py`` (the same columns for every study):

* 2,000 x 24: ``montecarlo_roi.csv`` (``montecarlo_roi.py``: notebook 02's ``evaluate_programs`` with
  its defaults and the 999-draw bootstrap; coverage of the page's own 95% interval),
* 50,000 x 36: ``montecarlo_scale_50k.csv`` (``montecarlo_scale.py --slump-textbook``, analytic SEs),
* 100,000 x 36: ``montecarlo_scale_100k.csv`` (the same script), with the rows of
  ``montecarlo_scale_100k_refit.csv`` in place of the same seed and program: P03 on seeds 6 and 11,
  the two fits whose slump test extended the slump to two months before the slump rule's size
  condition (``slump_extension.md``), re-fitted under the kit's rule now
  (``montecarlo_scale.py --seeds 6 11 --programs P03 --slump-textbook``).

Usage::

    python benchmarks/consistency.py          # writes benchmarks/results/montecarlo_consistency.md
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import pandas as pd  # noqa: E402
from _report import kit_commit, markdown_table  # noqa: E402
from montecarlo_scale import summarize  # noqa: E402

RESULTS = HERE / "results"


def from_roi_study(reps: pd.DataFrame) -> pd.DataFrame:
    """``montecarlo_roi.csv`` rows in ``montecarlo_scale.py``'s columns (the evaluation's own interval as ``covers``)."""
    return pd.DataFrame({
        "employees": reps["employees"], "months": reps["months"], "seed": reps["seed"], "program_id": reps["program_id"],
        "small_cohorts": "pool", "true_att": reps["true_att"], "att": reps["att"], "se": reps["att_se"],
        "anticipation": reps["anticipation"], "trainees": reps["n_trainees"], "median_cohort": float("nan"),
        "covers": reps["att_covers"], "seconds_fit": reps["seconds"], "seconds_data": 0.0,
        "study": [f"{e // 1000}k x {m}" for e, m in zip(reps["employees"], reps["months"], strict=True)],
    })  # fmt: skip


def side_by_side(small: pd.DataFrame, *large: pd.DataFrame) -> pd.DataFrame:
    """One summary row per program and size, programs together, smallest size first."""
    reps = pd.concat([from_roi_study(small), *large], ignore_index=True)
    table = summarize(reps).drop(columns=["small cohorts", "trainees per training month (median)", "seconds (data + this fit)"])
    return table.sort_values(["program", "employees"], kind="stable").reset_index(drop=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", default=str(RESULTS / "montecarlo_roi.csv"))
    ap.add_argument("--large", nargs="+", default=[str(RESULTS / "montecarlo_scale_50k.csv"), str(RESULTS / "montecarlo_scale_100k.csv")])
    ap.add_argument("--replace", nargs="*", default=[str(RESULTS / "montecarlo_scale_100k_refit.csv")],
                    help="rows that replace those of --large with the same size, seed and program")
    ap.add_argument("--out", default=str(RESULTS / "montecarlo_consistency.md"))
    args = ap.parse_args(argv)
    large = [pd.read_csv(p) for p in args.large]
    key = ["employees", "seed", "program_id"]
    for path in args.replace:
        new = pd.read_csv(path)
        large = [pd.concat([f[~f.set_index(key).index.isin(new.set_index(key).index)], new[new["employees"].isin(f["employees"])]],
                           ignore_index=True) for f in large]  # fmt: skip
    for frame in large:  # the 100k file labels its first seed apart; one study per size here
        frame["study"] = frame["study"].str.replace(", seed 3", "", regex=False)
    table = side_by_side(pd.read_csv(args.small), *large)
    print(markdown_table(table))
    if args.out:
        commit = kit_commit()
        command = "python benchmarks/consistency.py " + " ".join(sys.argv[1:] if argv is None else argv)
        Path(args.out).write_text("\n".join([
            "# Consistency at scale: the recommended estimate at 2,000, 50,000 and 100,000 employees, side by side",
            "",
            f"Command: `{command.strip()}`; kit at commit {commit}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
            "Sources: " + ", ".join(f"`{Path(p).name}`" for p in [args.small, *args.large, *args.replace]) + " (see `benchmarks/consistency.py`).",
            "",
            "Bias in % of the true overall effect (with 2 standard errors of that mean over the data sets) and in units of the "
            "median standard error; coverage of the 95% interval (for P03, whose true effect is 0, one minus the false-positive "
            "rate); 'mean SE / SD' near 1: the standard errors match the spread of the estimates across data sets. "
            "A consistent estimator keeps its bias in SE units near 0 as the data grow (its bias in % then shrinks with the SE).",
            "",
            markdown_table(table),
            "",
        ]), encoding="utf-8")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
